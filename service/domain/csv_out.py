"""The one CSV writer behind every export (members, newsletter lists).

Every cell is escaped so no spreadsheet runs it as a formula (OWASP "CSV
injection"): a value starting with = + - @ tab or carriage return gets a
leading apostrophe. Exports build their lines here and nowhere else, so a new
export cannot forget the escaping.
"""
from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from typing import Any

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def cell(value: Any) -> str:
    """A value as a CSV cell that no spreadsheet will evaluate."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


def line(values: Iterable[Any]) -> str:
    """One CSV line (CRLF-terminated, RFC 4180) of escaped cells."""
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerow([cell(v) for v in values])
    return out.getvalue()


def lines(header: Iterable[str], rows: Iterable[Iterable[Any]]) -> Iterator[str]:
    """The header line, then one line per row, lazily (exports stream)."""
    yield line(header)
    for row in rows:
        yield line(row)

"""Marshmallow schemas: what comes in and what goes out."""
from __future__ import annotations

from marshmallow import fields, validate

MAX_ID = 2**31 - 1  # the database's integer ids


def cursor_field() -> fields.String:
    """`cursor`: the `next_cursor` of the previous page (an opaque string to clients)."""
    return fields.String(validate=validate.Regexp(r"^[0-9]{1,18}$", error="Not a cursor from a previous page."),
                         metadata={"description": "next_cursor from the previous page", "pattern": "^[0-9]{1,18}$"})


def cursor_value(args: dict) -> int | None:
    """The cursor as an id; one past every possible id only means "from the start"."""
    return min(int(args["cursor"]), MAX_ID) if "cursor" in args else None

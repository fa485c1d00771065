"""Calendar months in SQL, the same on PostgreSQL and SQLite, and in Python.

Insight figures group by calendar month (UTC) and look a whole number of months ahead
("still a member 3 months after joining"). The database does that arithmetic, so a figure
over ten million rows is one aggregate query:

    month_key(t)      'YYYY-MM' of a timestamp
    month_number(t)   months since year 0 (year * 12 + month - 1): consecutive months differ by 1
    months_after(t, k)  t plus k calendar months (PostgreSQL clamps Jan 31 + 1 to Feb 28/29;
                      SQLite rolls over to Mar 2/3: SQLite is for development and tests only)
"""
from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, Integer, String, literal_column, text
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.functions import FunctionElement

from service.extensions import db

REPORT_WORK_MEM = "64MB"  # per sort or hash of a report query (staff pages, rare)


class month_key(FunctionElement[str]):  # noqa: N801 - used like a SQL function
    type = String()
    inherit_cache = True
    name = "month_key"


class month_number(FunctionElement[int]):  # noqa: N801 - used like a SQL function
    type = Integer()
    inherit_cache = True
    name = "month_number"


class months_after(FunctionElement[datetime]):  # noqa: N801 - used like a SQL function
    """`months_after(column, k)`: k is a literal whole number of months."""

    type = DateTime(timezone=True)
    inherit_cache = True
    name = "months_after"


def _args(element: FunctionElement[Any], compiler: Any, **kw: Any) -> list[str]:
    return [compiler.process(arg, **kw) for arg in element.clauses]


@compiles(month_key, "postgresql")
def _month_key_pg(element: month_key, compiler: Any, **kw: Any) -> str:
    return f"to_char(({_args(element, compiler, **kw)[0]}) AT TIME ZONE 'UTC', 'YYYY-MM')"


@compiles(month_key)
def _month_key_sqlite(element: month_key, compiler: Any, **kw: Any) -> str:
    return f"strftime('%Y-%m', {_args(element, compiler, **kw)[0]})"


@compiles(month_number, "postgresql")
def _month_number_pg(element: month_number, compiler: Any, **kw: Any) -> str:
    t = f"(({_args(element, compiler, **kw)[0]}) AT TIME ZONE 'UTC')"
    # date_part (a double) rather than EXTRACT, which returns numeric since PostgreSQL 14 and costs
    # several times more over millions of rows.
    return f"(CAST(date_part('year', {t}) AS INTEGER) * 12 + CAST(date_part('month', {t}) AS INTEGER) - 1)"


@compiles(month_number)
def _month_number_sqlite(element: month_number, compiler: Any, **kw: Any) -> str:
    t = _args(element, compiler, **kw)[0]
    return f"(CAST(strftime('%Y', {t}) AS INTEGER) * 12 + CAST(strftime('%m', {t}) AS INTEGER) - 1)"


@compiles(months_after, "postgresql")
def _months_after_pg(element: months_after, compiler: Any, **kw: Any) -> str:
    t, k = _args(element, compiler, **kw)
    return f"((({t}) AT TIME ZONE 'UTC' + make_interval(months => {k})) AT TIME ZONE 'UTC')"


@compiles(months_after)
def _months_after_sqlite(element: months_after, compiler: Any, **kw: Any) -> str:
    t, k = _args(element, compiler, **kw)
    # Stored as 'YYYY-MM-DD HH:MM:SS.ffffff': %f gives milliseconds, so pad to compare as text.
    return f"(strftime('%Y-%m-%d %H:%M:%f', {t}, '+' || ({k}) || ' months') || '000')"


def number_of(moment: datetime) -> int:
    """month_number in Python."""
    return moment.year * 12 + moment.month - 1


def start_of(number: int) -> datetime:
    """The first instant (UTC) of a month given by its month_number."""
    return datetime(number // 12, number % 12 + 1, 1, tzinfo=UTC)


def key_of(number: int) -> str:
    return f"{number // 12:04d}-{number % 12 + 1:02d}"


def months(k: int) -> ColumnElement[int]:
    """A whole number of months, written into the statement (PostgreSQL's make_interval wants an
    integer, and a bound Python int may arrive as bigint)."""
    return literal_column(str(int(k)), Integer())


def for_reports() -> None:
    """Settings for the report queries that follow, until the transaction ends (PostgreSQL only).

    Measured at a million members (bench/insight.py): JIT compilation cost 1.7 to 2 s per insight
    query and gained nothing, and their sorts spilled to disk at the default 4 MB of work_mem.
    SET LOCAL keeps both to this request's transaction."""
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(text("SET LOCAL jit = off"))
        db.session.execute(text(f"SET LOCAL work_mem = '{REPORT_WORK_MEM}'"))

"""Marshmallow schemas: what comes in and what goes out."""
from __future__ import annotations

from datetime import date
from typing import Any

from flask_babel import gettext
from marshmallow import Schema, ValidationError, fields, validate

MAX_ID = 2**31 - 1  # the database's integer ids


class ReaderForm(Schema):
    """A form readers fill in: its messages are written in English, marked for the catalog where
    they are written (`N_`, or gettext), and shown in the page's language."""

    def handle_error(self, error: ValidationError, data: Any, *, many: bool, **kwargs: Any) -> None:
        raise ValidationError(_translated(error.normalized_messages()), data=error.data,
                              valid_data=error.valid_data) from None


def _translated(messages: Any) -> Any:
    if isinstance(messages, dict):
        return {key: _translated(value) for key, value in messages.items()}
    if isinstance(messages, list):
        return [_translated(value) for value in messages]
    return gettext(messages) if isinstance(messages, str) else messages


def cursor_field() -> fields.String:
    """`cursor`: the `next_cursor` of the previous page (an opaque string to clients)."""
    return fields.String(validate=validate.Regexp(r"^[0-9]{1,18}$", error="Not a cursor from a previous page."),
                         metadata={"description": "next_cursor from the previous page", "pattern": "^[0-9]{1,18}$"})


def cursor_value(args: dict) -> int | None:
    """The cursor as an id; one past every possible id only means "from the start"."""
    return min(int(args["cursor"]), MAX_ID) if "cursor" in args else None


FIRST_DAY, LAST_DAY = date(1900, 1, 1), date(9998, 12, 31)


class Day(fields.Date):
    """A calendar day (YYYY-MM-DD). Days outside 1900-9998 are read as the nearest end of that
    range: they mean "from the start" or "no end", and year 9999 would overflow the day added
    to inclusive end dates."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> date:
        day = super()._deserialize(value, attr, data, **kwargs)
        return min(max(day, FIRST_DAY), LAST_DAY)


def day_field(description: str | None = None) -> fields.Date:
    return Day(metadata={"description": description} if description else {})


def id_field(description: str | None = None) -> fields.Integer:
    """A database id: a positive integer that fits the integer columns."""
    return fields.Integer(validate=validate.Range(min=1, max=MAX_ID),
                          metadata={"description": description} if description else {})


NO_NUL = r"^[^\u0000]*$"  # PostgreSQL text cannot hold NUL characters


def text_field(max_length: int, description: str | None = None) -> fields.String:
    """Free text from a query: 1..max_length characters, never a NUL (a 400, not a 500)."""
    return fields.String(
        validate=[validate.Length(min=1, max=max_length), validate.Regexp(NO_NUL, error="NUL characters are not allowed.")],
        metadata={"pattern": NO_NUL, **({"description": description} if description else {})},
    )

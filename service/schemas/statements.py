"""What the staff console's statements page accepts: a fiscal year, and where the page of donors continues."""
from __future__ import annotations

from typing import Any

from marshmallow import EXCLUDE, Schema, fields, pre_load, validate

from service.schemas import id_field

# Fiscal years are named by the year they end in (service.domain.giving.statements).
YEAR = validate.Range(min=2000, max=9998, error="Must be a fiscal year such as 2026.")


class StatementsArgs(Schema):
    class Meta:
        unknown = EXCLUDE

    year = fields.Integer(validate=YEAR)
    cursor = id_field("The member id the previous page ended with")

    @pre_load
    def _blank_is_missing(self, data: dict[str, Any], **_: Any) -> dict[str, Any]:
        return {k: v for k, v in data.items() if not (isinstance(v, str) and not v.strip())}


class SendStatementsForm(Schema):
    class Meta:
        unknown = EXCLUDE  # the CSRF token

    year = fields.Integer(required=True, validate=YEAR)

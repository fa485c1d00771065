"""Contributions as the JSON API shows them, and the filters the API, the console and the CSV
export accept (DESIGN.md's public contract)."""
from __future__ import annotations

import re
from datetime import UTC, date, datetime, time
from typing import Any

from marshmallow import EXCLUDE, RAISE, Schema, fields, post_load, pre_load, validate

from service.domain.insight.contributions import CURSOR_PATTERN, ContributionFilter, Cursor
from service.models import Contribution, ContributionKind
from service.schemas import FIRST_DAY, LAST_DAY, id_field, text_field

MAX_PAGE = 100
Str = fields.String
PLUS_AS_SPACE = re.compile(r"(?<=\d) (\d{2}(?::?\d{2})?)$")
ATTRIBUTION_OUT = ("utm_source", "utm_medium", "utm_campaign", "utm_content", "utm_term", "referral")


class ContributionAttributionOut(Schema):
    """What brought the reader to this payment; `campaign` is the contribution's own key."""

    utm_source = Str(required=True, allow_none=True)
    utm_medium = Str(required=True, allow_none=True)
    utm_campaign = Str(required=True, allow_none=True)
    utm_content = Str(required=True, allow_none=True)
    utm_term = Str(required=True, allow_none=True)
    referral = Str(required=True, allow_none=True)


class DedicationOut(Schema):
    type = Str(required=True, validate=validate.OneOf(["honour", "memory"]))
    name = Str(required=True, allow_none=True)


class StripeIdsOut(Schema):
    invoice = Str(required=True, allow_none=True, metadata={"description": "Stripe invoice id (membership payments)"})
    payment_intent = Str(required=True, allow_none=True)
    charge = Str(required=True, allow_none=True)


class ContributionOut(Schema):
    """One payment. Amounts are integers in the currency's minor unit; `amount` includes any fee
    cover (`fee_covered`); times are ISO 8601 in UTC. Every key is always present."""

    id = fields.Integer(required=True)
    member_id = fields.Integer(required=True)
    kind = Str(required=True, validate=validate.OneOf([k.value for k in ContributionKind]))
    amount = fields.Integer(required=True, metadata={"description": "Minor units, fee cover included"})
    currency = Str(required=True, metadata={"description": "Lower-case ISO 4217 code"})
    fee_covered = fields.Integer(required=True, metadata={"description": "Minor units the reader added to cover fees"})
    refunded_amount = fields.Integer(required=True)
    paid_at = fields.AwareDateTime(required=True)
    campaign = Str(required=True, allow_none=True)
    attribution = fields.Method("get_attribution", required=True, metadata={"schema": ContributionAttributionOut})
    dedication = fields.Method("get_dedication", required=True, allow_none=True, metadata={"schema": DedicationOut})
    anonymous = fields.Boolean(required=True)
    receipt_number = Str(required=True, allow_none=True)
    stripe = fields.Method("get_stripe", required=True, metadata={"schema": StripeIdsOut})

    def get_attribution(self, c: Contribution) -> dict[str, Any]:
        found = c.attribution or {}
        return {key: found.get(key) for key in ATTRIBUTION_OUT}

    def get_dedication(self, c: Contribution) -> dict[str, Any] | None:
        if c.dedication_type is None:
            return None
        return {"type": str(c.dedication_type), "name": c.dedication_name}

    def get_stripe(self, c: Contribution) -> dict[str, Any]:
        return {"invoice": c.stripe_invoice_id, "payment_intent": c.stripe_payment_intent_id, "charge": c.stripe_charge_id}


class ContributionListOut(Schema):
    data = fields.List(fields.Nested(ContributionOut), required=True)
    has_more = fields.Boolean(required=True)
    next_cursor = Str(allow_none=True, required=True)


# --- what comes in ------------------------------------------------------------------------------


def _start_of(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def _parse(text: str) -> date | datetime | None:
    for parse in (date.fromisoformat, datetime.fromisoformat):
        try:
            return parse(text)
        except ValueError:
            continue
    return None


class DayOrTime(fields.Field[date | datetime]):
    """A day (YYYY-MM-DD, UTC) or an ISO 8601 time; a time without an offset is read as UTC.
    Values outside 1900-9998 are read as the nearest end of that range ("from the start", "no end")."""

    default_error_messages = {"invalid": "Not a day (YYYY-MM-DD) or an ISO 8601 time (2026-01-31T12:00:00Z)."}

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> date | datetime:
        if not isinstance(value, str):
            raise self.make_error("invalid")
        text = value.strip()
        # An unencoded "+" in a query string arrives as a space: "…T09:00:00 01:00" meant "+01:00".
        moment = _parse(text) or _parse(PLUS_AS_SPACE.sub(r"+\1", text))
        if moment is None:
            raise self.make_error("invalid")
        if not isinstance(moment, datetime):
            return min(max(moment, FIRST_DAY), LAST_DAY)
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        try:
            moment = moment.astimezone(UTC)
        except OverflowError:  # an offset that moves year 1 or 9999 out of range
            return _start_of(FIRST_DAY if moment.year < FIRST_DAY.year else LAST_DAY)
        return min(max(moment, _start_of(FIRST_DAY)), _start_of(LAST_DAY))


def moment_field(description: str) -> DayOrTime:
    return DayOrTime(metadata={"description": description, "type": "string",
                               "anyOf": [{"type": "string", "format": "date"}, {"type": "string", "format": "date-time"}]})


class CursorField(fields.Field[Cursor]):
    """`cursor`: the `next_cursor` of the previous page (opaque to clients)."""

    default_error_messages = {"invalid": "Not a cursor from a previous page."}

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Cursor:
        if not isinstance(value, str) or not re.fullmatch(CURSOR_PATTERN, value):
            raise self.make_error("invalid")
        return Cursor.decode(value)


class ContributionQuery(Schema):
    """`GET /api/v1/contributions` (and `.csv`) query parameters. Unknown parameters are refused;
    given filters all apply."""

    class Meta:
        unknown = RAISE

    member_id = id_field("Only this member's contributions")
    kind = Str(validate=validate.OneOf([k.value for k in ContributionKind]),
               metadata={"description": "membership, one_time or gift_purchase"})
    campaign = text_field(100, "Exact campaign name")
    currency = Str(validate=validate.Regexp(r"^[A-Za-z]{3}$", error="Give a three-letter currency code such as usd."),
                   metadata={"description": "ISO 4217 code, any case", "pattern": "^[A-Za-z]{3}$"})
    since = moment_field("Paid on or after this day (UTC), or at or after this time")
    until = moment_field("Paid on or before this day (UTC), or before this time")
    limit = fields.Integer(load_default=25, validate=validate.Range(min=1, max=MAX_PAGE))
    cursor = CursorField(metadata={"description": "next_cursor from the previous page", "type": "string",
                                   "pattern": CURSOR_PATTERN})

    @post_load
    def _typed(self, data: dict[str, Any], **_: Any) -> dict[str, Any]:
        """The filter as the domain takes it, beside the paging arguments."""
        cursor = data.pop("cursor", None)
        limit = data.pop("limit", MAX_PAGE)
        if "kind" in data:
            data["kind"] = ContributionKind(data["kind"])
        if "currency" in data:
            data["currency"] = data["currency"].lower()
        return {"filter": ContributionFilter(**data), "limit": limit, "cursor": cursor}


class ContributionArgs(ContributionQuery):
    """The console's filter form (`/staff/contributions`): the same fields; an empty field means
    "no filter", and other fields (a submit button) are ignored."""

    class Meta:
        unknown = EXCLUDE

    @pre_load
    def _blank_is_missing(self, data: dict[str, Any], **_: Any) -> dict[str, Any]:
        return {k: v for k, v in data.items() if not (isinstance(v, str) and not v.strip())}


"""What the /gift form accepts: a gift membership for someone else. Messages are written for the
reader who sees them, in the page's language."""
from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from flask_babel import gettext
from marshmallow import EXCLUDE, RAISE, Schema, ValidationError, fields, post_load, validate, validates_schema

from service.domain.integrations import webhooks
from service.i18n import N_
from service.models import Gift, GiftStatus, normalize_email
from service.schemas import cursor_field, cursor_value
from service.schemas.join import EMAIL_MESSAGES, _Form

MESSAGE_MAX = 1000
MAX_DAYS_AHEAD = 365
NAME = validate.Length(min=1, max=200, error=N_("Enter a name (up to 200 characters)."))


class GiftForm(_Form):
    """The gift form. Give it the prices of each length in the page's currency and today's date;
    `load` returns what a GiftRequest needs (without currency, language and attribution)."""

    purchaser_name = fields.String(required=True, validate=NAME, error_messages={"required": N_("Enter your name.")})
    purchaser_email = fields.Email(required=True, validate=validate.Length(max=320), error_messages=EMAIL_MESSAGES)
    recipient_name = fields.String(required=True, validate=NAME,
                                   error_messages={"required": N_("Enter the name of the person the gift is for.")})
    recipient_email = fields.Email(required=True, validate=validate.Length(max=320),
                                   error_messages={"required": N_("Enter the email address we should send the gift to."),
                                                   "invalid": N_("Enter an email address like name@example.org.")})
    months = fields.String(required=True, error_messages={"required": N_("Choose how long the membership lasts.")})
    message = fields.String(load_default="", validate=validate.Length(
        max=MESSAGE_MAX, error=N_("Keep the message under 1,000 characters.")))
    deliver_on = fields.String(load_default="")

    def __init__(self, prices: dict[int, int], today: date, **kwargs: Any):
        super().__init__(**kwargs)
        self.prices, self.today = prices, today

    def _day(self, raw: str) -> date | None:
        if not raw:
            return self.today
        try:
            return date.fromisoformat(raw)
        except ValueError:
            return None

    @validates_schema(skip_on_field_errors=False)
    def _check(self, data: dict[str, Any], **_kw: Any) -> None:
        errors: dict[str, list[str]] = {}
        months = data.get("months", "")
        if not months.isdigit() or int(months) not in self.prices:
            errors["months"] = [gettext("Choose 3, 6 or 12 months.")]
        day = self._day(data.get("deliver_on", ""))
        if day is None:
            errors["deliver_on"] = [gettext("Enter a date like %(example)s.", example=self.today.isoformat())]
        elif day < self.today:
            errors["deliver_on"] = [gettext("Choose today or a day to come.")]
        elif day > self.today + timedelta(days=MAX_DAYS_AHEAD):
            errors["deliver_on"] = [gettext("Choose a day within a year from today.")]
        if (data.get("purchaser_email") and data.get("recipient_email")
                and normalize_email(data["purchaser_email"]) == normalize_email(data["recipient_email"])):
            errors["recipient_email"] = [gettext("Enter the address of the person the gift is for, not your own.")]
        if errors:
            raise ValidationError(errors)

    @post_load
    def _resolve(self, data: dict[str, Any], **_kw: Any) -> dict[str, Any]:
        return {"purchaser_name": data["purchaser_name"], "purchaser_email": normalize_email(data["purchaser_email"]),
                "recipient_name": data["recipient_name"], "recipient_email": normalize_email(data["recipient_email"]),
                "months": int(data["months"]), "message": data.get("message", "").replace("\r\n", "\n"),
                "deliver_on": self._day(data.get("deliver_on", ""))}


class GiftPurchaserOut(Schema):
    member_id = fields.Integer(required=True)
    name = fields.String(required=True)


class GiftRecipientOut(Schema):
    member_id = fields.Integer(required=True, allow_none=True, metadata={"description": "Set once redeemed"})
    name = fields.String(required=True)
    email = fields.String(required=True)


class GiftOut(Schema):
    """A gift membership. Amounts are integers in the currency's minor unit; times ISO 8601 in UTC."""

    id = fields.Integer(required=True)
    status = fields.String(required=True, validate=validate.OneOf([s.value for s in GiftStatus]))
    months = fields.Integer(required=True)
    amount = fields.Integer(required=True, metadata={"description": "What the purchaser paid, minor units"})
    currency = fields.String(required=True)
    deliver_on = fields.Date(required=True)
    purchaser = fields.Method("get_purchaser", required=True, metadata={"schema": GiftPurchaserOut})
    recipient = fields.Method("get_recipient", required=True, metadata={"schema": GiftRecipientOut})
    contribution_id = fields.Integer(required=True, allow_none=True)
    delivered_at = fields.AwareDateTime(required=True, allow_none=True)
    expires_at = fields.AwareDateTime(required=True, allow_none=True)
    redeemed_at = fields.AwareDateTime(required=True, allow_none=True)
    redeemed_as = fields.String(required=True, allow_none=True, metadata={"description": "term or credit"})
    credited_amount = fields.Integer(required=True, allow_none=True)
    credited_currency = fields.String(required=True, allow_none=True)
    revoked_at = fields.AwareDateTime(required=True, allow_none=True)
    created_at = fields.AwareDateTime(required=True)

    def get_purchaser(self, gift: Gift) -> dict[str, Any]:
        return {"member_id": gift.purchaser_id, "name": gift.purchaser_name}

    def get_recipient(self, gift: Gift) -> dict[str, Any]:
        return {"member_id": gift.recipient_id, "name": gift.recipient_name, "email": gift.recipient_email}


class GiftListOut(Schema):
    data = fields.List(fields.Nested(GiftOut), required=True)
    has_more = fields.Boolean(required=True)
    next_cursor = fields.String(allow_none=True, required=True)


class GiftQuery(Schema):
    """`GET /api/v1/gifts` and `/staff/gifts`: ?status=&limit=&cursor=."""

    class Meta:
        unknown = RAISE

    status = fields.String(load_default=None, validate=validate.OneOf([s.value for s in GiftStatus]))
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=100))
    cursor = cursor_field()

    @post_load
    def _typed(self, data: dict[str, Any], **_kw: Any) -> dict[str, Any]:
        return {"status": GiftStatus(data["status"]) if data["status"] else None, "limit": data["limit"],
                "cursor": cursor_value(data)}


class RescheduleForm(Schema):
    class Meta:
        unknown = EXCLUDE

    deliver_on = fields.Date(required=True, error_messages={"invalid": "Enter a date as YYYY-MM-DD."})


# Outgoing webhooks' gift.purchased and gift.redeemed carry the gift as the API shows it.
webhooks.shows(Gift, lambda gift: GiftOut().dump(gift))

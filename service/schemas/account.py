"""What the account page's cancel flow and plan changes accept. Messages are for the reader who sees
them, beside the field, in the page's language."""
from __future__ import annotations

from typing import Any

from flask_babel import gettext
from marshmallow import ValidationError, fields, post_load, validate, validates_schema
from marshmallow.types import ErrorMessages

from service.domain.members.plan_changes import PAUSE_MONTHS
from service.domain.members.retention import TEXT_MAX
from service.i18n import N_
from service.models import CancelReason, RetentionOffer
from service.money import format_money
from service.schemas.join import _Form, amount_example, dollars_to_cents

REASON_MESSAGES: ErrorMessages = {"required": N_("Choose a reason."), "null": N_("Choose a reason.")}


class ReasonForm(_Form):
    """Step one: why. `load` returns the reason (a CancelReason) and the reader's text (or None)."""

    reason = fields.String(required=True, error_messages=REASON_MESSAGES,
                           validate=validate.OneOf([r.value for r in CancelReason if r is not CancelReason.NOT_GIVEN],
                                                    error=N_("Choose a reason.")))
    text = fields.String(load_default="", validate=validate.Length(
        max=TEXT_MAX, error=N_("Keep it under 500 characters, please.")))

    @validates_schema
    def _other_needs_words(self, data: dict[str, Any], **_kw: Any) -> None:
        if data.get("reason") == CancelReason.OTHER and not data.get("text"):
            raise ValidationError(gettext("Tell us a little about it."), "text")

    @post_load
    def _typed(self, data: dict[str, Any], **_kw: Any) -> dict[str, Any]:
        return {"reason": CancelReason(data["reason"]), "text": data.get("text") or None}


class OfferForm(ReasonForm):
    """Step two, an offer taken: the reason again, the offer, and its months or amount. Give it the
    offers available, the currency and the pay-what-you-want minimum there."""

    offer = fields.String(required=True, error_messages={"required": N_("Choose an offer.")})
    months = fields.String(load_default="")
    amount = fields.String(load_default="")

    def __init__(self, available: list[str], currency: str, minimum: int | None, **kwargs: Any):
        super().__init__(**kwargs)
        self.available, self.currency, self.minimum = available, currency, minimum

    @validates_schema
    def _offer_terms(self, data: dict[str, Any], **_kw: Any) -> None:
        offer = data.get("offer")
        if offer not in self.available:
            raise ValidationError(gettext("That offer is not available for your membership."), "offer")
        if offer == RetentionOffer.PAUSE and data.get("months") not in [str(m) for m in PAUSE_MONTHS]:
            raise ValidationError(gettext("Choose a pause of 1, 2 or 3 months."), "months")
        if offer == RetentionOffer.LOWER_AMOUNT:
            check_amount(data.get("amount", ""), self.currency, self.minimum)

    @post_load
    def _typed(self, data: dict[str, Any], **_kw: Any) -> dict[str, Any]:
        offer = RetentionOffer(data["offer"])
        return {"reason": CancelReason(data["reason"]), "text": data.get("text") or None, "offer": offer,
                "months": int(data["months"]) if offer is RetentionOffer.PAUSE else None,
                "amount": dollars_to_cents(data["amount"], currency=self.currency)
                if offer is RetentionOffer.LOWER_AMOUNT else None}


def check_amount(raw: str, currency: str, minimum: int | None) -> int:
    """Minor units from the typed amount, or a ValidationError on `amount` a reader can act on."""
    cents = dollars_to_cents(raw, currency=currency)
    if cents is None:
        raise ValidationError(amount_example(currency), "amount")
    if minimum is not None and cents < minimum:
        raise ValidationError(gettext("The smallest amount is %(amount)s.", amount=format_money(minimum, currency)), "amount")
    return cents


class AmountForm(_Form):
    """A new pay-what-you-want amount from the account page."""

    amount = fields.String(required=True, error_messages={"required": N_("Enter the amount you'd like to give.")})

    def __init__(self, currency: str, minimum: int | None, **kwargs: Any):
        super().__init__(**kwargs)
        self.currency, self.minimum = currency, minimum

    @validates_schema
    def _check(self, data: dict[str, Any], **_kw: Any) -> None:
        check_amount(data.get("amount", ""), self.currency, self.minimum)

    @post_load
    def _cents(self, data: dict[str, Any], **_kw: Any) -> dict[str, Any]:
        return {"amount": check_amount(data["amount"], self.currency, self.minimum)}

"""What the /give form accepts. Messages are written for the reader who sees them, in the page's language."""
from __future__ import annotations

from typing import Any

from flask_babel import gettext
from marshmallow import ValidationError, fields, post_load, validate, validates_schema

from service.domain.giving.give import Dedication
from service.i18n import N_
from service.models import DedicationType, normalize_email
from service.money import currency_name
from service.schemas.join import CURRENCY, EMAIL_MESSAGES, MAX_AMOUNT, _Form, dollars_to_cents, money

OTHER = "other"
CHECKED = ("on", "1", "true", "yes")


class GiveForm(_Form):
    """The give form. Give it the suggested amounts and the minimum (minor units of `currency`);
    `load` returns the amount, whether fees are covered, anonymity and the dedication (or None)."""

    email = fields.Email(required=True, validate=validate.Length(max=320), error_messages=EMAIL_MESSAGES)
    name = fields.String(required=True, validate=validate.Length(min=1, max=200, error=N_("Enter your name (up to 200 characters).")),
                         error_messages={"required": N_("Enter your name.")})
    amount_choice = fields.String(load_default="")
    other_amount = fields.String(load_default="", validate=validate.Length(max=20, error=N_("Enter an amount in dollars, like 30 or 12.50.")))
    cover_fees = fields.String(load_default="")
    anonymous = fields.String(load_default="")
    dedicate = fields.String(load_default="")
    dedication_type = fields.String(load_default="")
    dedication_name = fields.String(load_default="", validate=validate.Length(max=200, error=N_("Keep the name under 200 characters.")))
    dedication_notify_email = fields.String(load_default="")

    def __init__(self, suggested: list[int], minimum: int, currency: str = CURRENCY, **kwargs: Any):
        super().__init__(**kwargs)
        self.suggested, self.minimum, self.currency = suggested, minimum, currency

    def _amount(self, data: dict[str, Any]) -> int | None:
        choice = data.get("amount_choice", "")
        if choice != OTHER and choice.isdigit() and int(choice) in self.suggested:
            return int(choice)
        return dollars_to_cents(data.get("other_amount", ""), currency=self.currency) if choice in (OTHER, "") else None

    @validates_schema(skip_on_field_errors=False)
    def _check(self, data: dict[str, Any], **_kw: Any) -> None:
        errors: dict[str, list[str]] = {}
        cents = self._amount(data)
        if cents is None:
            errors["other_amount"] = [gettext("Choose an amount, or enter one in dollars, like 30 or 12.50.")
                                      if self.currency == CURRENCY else
                                      gettext("Choose an amount, or enter one in %(currency)s, like 30 or 12.50.",
                                              currency=currency_name(self.currency))]
        elif cents < self.minimum:
            errors["other_amount"] = [gettext("The smallest gift we can take online is %(amount)s.",
                                              amount=money(self.minimum, self.currency))]
        elif cents > MAX_AMOUNT:
            errors["other_amount"] = [gettext("For gifts over %(amount)s, please write to us: we'd like to thank you in person.",
                                              amount=money(MAX_AMOUNT, self.currency))]
        if data.get("dedicate") in CHECKED:
            if data.get("dedication_type") not in {t.value for t in DedicationType}:
                errors["dedication_type"] = [gettext("Choose in honour of or in memory of.")]
            if not data.get("dedication_name"):
                errors["dedication_name"] = [gettext("Enter the name of the person the gift honours or remembers.")]
            notify = data.get("dedication_notify_email", "")
            if notify and not _valid_email(notify):
                errors["dedication_notify_email"] = [gettext("Enter an email address like name@example.org, or leave it empty.")]
        if errors:
            raise ValidationError(errors)

    @post_load
    def _resolve(self, data: dict[str, Any], **_kw: Any) -> dict[str, Any]:
        dedication = None
        if data.get("dedicate") in CHECKED:
            notify = data.get("dedication_notify_email") or None
            dedication = Dedication(type=data["dedication_type"], name=data["dedication_name"],
                                    notify_email=normalize_email(notify) if notify else None)
        return {"email": normalize_email(data["email"]), "name": data["name"], "amount": self._amount(data),
                "cover_fees": data.get("cover_fees") in CHECKED, "anonymous": data.get("anonymous") in CHECKED,
                "dedication": dedication}


def _valid_email(value: str) -> bool:
    try:
        fields.Email().deserialize(value)
    except ValidationError:
        return False
    return len(value) <= 320

"""What the join and sign-in forms accept. Messages are written for the reader who sees them, and
shown in the page's language (ReaderForm)."""
from __future__ import annotations

import re
from typing import Any

from flask_babel import gettext
from marshmallow import EXCLUDE, ValidationError, fields, post_load, pre_load, validate, validates_schema
from marshmallow.types import ErrorMessages

from service.i18n import N_
from service.models import Plan, normalize_email
from service.money import currency_name, format_money, parse_amount
from service.schemas import ReaderForm

CURRENCY = "usd"
MAX_AMOUNT = 1_000_000  # $10,000 a month: more than that is a typo, or a call we'd like to take in person

EMAIL_MESSAGES: ErrorMessages = {"required": N_("Enter your email address."),
                                 "invalid": N_("Enter an email address like name@example.org.")}


def dollars_to_cents(raw: str, locale: str | None = None, currency: str = CURRENCY) -> int | None:
    """Minor units from what a reader typed ("7", "7.50", "$7", "1,000"; "7,50" on a French page), or
    None when it is not a plain amount of the currency: never three decimals or a sign."""
    return parse_amount(raw, currency, locale)


def amount_example(currency: str) -> str:
    """How to type an amount, said in the currency the form is in."""
    if currency == CURRENCY:
        return gettext("Enter an amount in dollars, like 7 or 7.50.")
    return gettext("Enter an amount in %(currency)s, like 7 or 7.50.", currency=currency_name(currency))


def money(cents: int, currency: str = CURRENCY) -> str:
    """$5, $7.50 (5 $US, 7,50 $US in French): how the pages show an amount in a sentence."""
    return format_money(cents, currency, short=True)


class _Form(ReaderForm):
    class Meta:
        unknown = EXCLUDE  # the CSRF token and the submit button

    @pre_load
    def _strip(self, data: Any, **_kw: Any) -> Any:
        return {k: v.strip() if isinstance(v, str) else v for k, v in dict(data).items()}


class JoinForm(_Form):
    """The join form. Give it the active plans and the currency the page offered them in; `load`
    returns the Plan, the amount in minor units and the currency."""

    email = fields.Email(required=True, validate=validate.Length(max=320), error_messages=EMAIL_MESSAGES)
    name = fields.String(required=True, validate=validate.Length(min=1, max=200, error=N_("Enter your name (up to 200 characters).")),
                         error_messages={"required": N_("Enter your name.")})
    plan = fields.String(required=True, error_messages={"required": N_("Choose a plan.")})
    amount = fields.String(load_default="", validate=validate.Length(max=20, error=N_("Enter an amount in dollars, like 7 or 7.50.")))

    def __init__(self, plans: list[Plan], currency: str = CURRENCY, **kwargs: Any):
        super().__init__(**kwargs)
        self.plans = {p.code: p for p in plans}
        self.currency = currency

    @validates_schema(skip_on_field_errors=False)  # a wrong plan is reported alongside wrong fields
    def _plan_and_amount(self, data: dict[str, Any], **_kw: Any) -> None:
        plan = self.plans.get(data.get("plan", ""))
        if plan is None or plan.amount_in(self.currency) is None:
            raise ValidationError(gettext("Choose one of the plans shown."), "plan")
        if plan.pay_what_you_want:
            cents = dollars_to_cents(data.get("amount", ""), currency=self.currency)
            minimum = plan.min_amount_in(self.currency) or 0
            if cents is None:
                raise ValidationError(amount_example(self.currency), "amount")
            if cents < minimum:
                raise ValidationError(gettext("The smallest amount is %(amount)s a month.",
                                              amount=money(minimum, self.currency)), "amount")
            if cents > MAX_AMOUNT:
                raise ValidationError(gettext("The largest amount we take online is %(amount)s a month.",
                                              amount=money(MAX_AMOUNT, self.currency)), "amount")

    @post_load
    def _resolve(self, data: dict[str, Any], **_kw: Any) -> dict[str, Any]:
        plan = self.plans[data["plan"]]
        amount = dollars_to_cents(data["amount"], currency=self.currency) if plan.pay_what_you_want else plan.amount_in(self.currency)
        return {"email": normalize_email(data["email"]), "name": data["name"], "plan": plan, "amount": amount,
                "currency": self.currency}


class SigninForm(_Form):
    email = fields.Email(required=True, validate=validate.Length(max=320), error_messages=EMAIL_MESSAGES)

    @post_load
    def _normalise(self, data: dict[str, Any], **_kw: Any) -> dict[str, Any]:
        return {"email": normalize_email(data["email"])}


class CodeForm(SigninForm):
    code = fields.String(required=True, validate=validate.Regexp(r"^\d{8}$", error=N_("The code is 8 digits.")),
                         error_messages={"required": N_("Enter the 8-digit code from the email.")})

    @pre_load
    def _digits_only(self, data: Any, **_kw: Any) -> Any:
        data = dict(data)
        if isinstance(data.get("code"), str):  # "1234 5678" and "1234-5678" as printed are fine
            data["code"] = re.sub(r"[\s-]", "", data["code"])
        return data

    @post_load
    def _normalise(self, data: dict[str, Any], **_kw: Any) -> dict[str, Any]:
        return {"email": normalize_email(data["email"]), "code": data["code"]}

"""What the join and sign-in forms accept. Messages are written for the reader who sees them."""
from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from marshmallow import EXCLUDE, Schema, ValidationError, fields, post_load, pre_load, validate, validates_schema
from marshmallow.types import ErrorMessages

from service.models import Plan, normalize_email

# Dollars as readers type them: "7", "7.5", "7.50", "$7", "1,000". Never three decimals or a sign.
DOLLARS = re.compile(r"^\d{1,3}(,?\d{3})*(\.\d{1,2})?$", re.ASCII)  # ASCII: "１２" is not an amount
MAX_AMOUNT = 1_000_000  # $10,000 a month: more than that is a typo, or a call we'd like to take in person

EMAIL_MESSAGES: ErrorMessages = {"required": "Enter your email address.", "invalid": "Enter an email address like name@example.org."}


def dollars_to_cents(raw: str) -> int | None:
    """Cents from what a reader typed, or None when it is not a plain amount of dollars and cents."""
    text = raw.strip().removeprefix("$").strip()
    if not DOLLARS.match(text):
        return None
    return int(Decimal(text.replace(",", "")) * 100)


def money(cents: int) -> str:
    """$5, $7.50: how the pages show an amount."""
    return f"${cents // 100}" if cents % 100 == 0 else f"${cents / 100:.2f}"


class _Form(Schema):
    class Meta:
        unknown = EXCLUDE  # the CSRF token and the submit button

    @pre_load
    def _strip(self, data: Any, **_kw: Any) -> Any:
        return {k: v.strip() if isinstance(v, str) else v for k, v in dict(data).items()}


class JoinForm(_Form):
    """The join form. Give it the active plans; `load` returns the Plan and the amount in cents."""

    email = fields.Email(required=True, validate=validate.Length(max=320), error_messages=EMAIL_MESSAGES)
    name = fields.String(required=True, validate=validate.Length(min=1, max=200, error="Enter your name (up to 200 characters)."),
                         error_messages={"required": "Enter your name."})
    plan = fields.String(required=True, error_messages={"required": "Choose a plan."})
    amount = fields.String(load_default="", validate=validate.Length(max=20, error="Enter an amount in dollars, like 7 or 7.50."))

    def __init__(self, plans: list[Plan], **kwargs: Any):
        super().__init__(**kwargs)
        self.plans = {p.code: p for p in plans}

    @validates_schema(skip_on_field_errors=False)  # a wrong plan is reported alongside wrong fields
    def _plan_and_amount(self, data: dict[str, Any], **_kw: Any) -> None:
        plan = self.plans.get(data.get("plan", ""))
        if plan is None:
            raise ValidationError("Choose one of the plans shown.", "plan")
        if plan.pay_what_you_want:
            cents = dollars_to_cents(data.get("amount", ""))
            if cents is None:
                raise ValidationError("Enter an amount in dollars, like 7 or 7.50.", "amount")
            if cents < plan.min_amount:
                raise ValidationError(f"The smallest amount is {money(plan.min_amount)} a month.", "amount")
            if cents > MAX_AMOUNT:
                raise ValidationError(f"The largest amount we take online is {money(MAX_AMOUNT)} a month.", "amount")

    @post_load
    def _resolve(self, data: dict[str, Any], **_kw: Any) -> dict[str, Any]:
        plan = self.plans[data["plan"]]
        amount = dollars_to_cents(data["amount"]) if plan.pay_what_you_want else plan.amount
        return {"email": normalize_email(data["email"]), "name": data["name"], "plan": plan, "amount": amount}


class SigninForm(_Form):
    email = fields.Email(required=True, validate=validate.Length(max=320), error_messages=EMAIL_MESSAGES)

    @post_load
    def _normalise(self, data: dict[str, Any], **_kw: Any) -> dict[str, Any]:
        return {"email": normalize_email(data["email"])}


class CodeForm(SigninForm):
    code = fields.String(required=True, validate=validate.Regexp(r"^\d{8}$", error="The code is 8 digits."),
                         error_messages={"required": "Enter the 8-digit code from the email."})

    @pre_load
    def _digits_only(self, data: Any, **_kw: Any) -> Any:
        data = dict(data)
        if isinstance(data.get("code"), str):  # "1234 5678" and "1234-5678" as printed are fine
            data["code"] = re.sub(r"[\s-]", "", data["code"])
        return data

    @post_load
    def _normalise(self, data: dict[str, Any], **_kw: Any) -> dict[str, Any]:
        return {"email": normalize_email(data["email"]), "code": data["code"]}

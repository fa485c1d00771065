"""Amounts as readers type them, and the join form's rules, without a browser or Stripe."""
from __future__ import annotations

import pytest
from marshmallow import ValidationError

from service.domain.billing.plans import active_plans
from service.schemas.join import CodeForm, JoinForm, dollars_to_cents, money


@pytest.mark.parametrize("typed, cents", [("7", 700), ("7.5", 750), ("7.50", 750), ("$7", 700), (" 12.05 ", 1205),
                                          ("1,000", 100_000), ("0007", 700)])
def test_dollars_readers_type(typed, cents):
    assert dollars_to_cents(typed) == cents


@pytest.mark.parametrize("typed", ["7.555", "-7", "1e3", "7,5", "seven", "", "7.", ".5", "7 50", "１２"])
def test_amounts_that_are_not_plain_dollars(typed):
    assert dollars_to_cents(typed) is None


def test_money_shows_cents_only_when_there_are_some():
    assert (money(500), money(750), money(1205)) == ("$5", "$7.50", "$12.05")


def test_the_form_returns_the_plan_and_amount_in_cents(db_session):
    plans = active_plans()
    data = JoinForm(plans).load({"email": " Ada@Example.ORG ", "name": " Ada ", "plan": "monthly-pwyw",
                                 "amount": "7.50", "csrf_token": "ignored"})
    assert (data["email"], data["name"], data["plan"].code, data["amount"]) == ("ada@example.org", "Ada",
                                                                               "monthly-pwyw", 750)
    fixed = JoinForm(plans).load({"email": "a@example.org", "name": "A", "plan": "yearly-50", "amount": "1"})
    assert fixed["amount"] == 5000, "a fixed plan ignores any amount sent"


def test_every_problem_is_reported_at_once(db_session):
    with pytest.raises(ValidationError) as caught:
        JoinForm(active_plans()).load({"email": "nope", "name": "", "plan": "monthly-pwyw", "amount": "3"})
    assert set(caught.value.normalized_messages()) == {"email", "name", "amount"}


def test_codes_may_be_typed_with_spaces_or_a_dash():
    assert CodeForm().load({"email": "a@example.org", "code": "1234 5678"})["code"] == "12345678"
    assert CodeForm().load({"email": "a@example.org", "code": "1234-5678"})["code"] == "12345678"
    with pytest.raises(ValidationError):
        CodeForm().load({"email": "a@example.org", "code": "123456"})  # the old 6-digit length

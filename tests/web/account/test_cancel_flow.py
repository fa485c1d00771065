"""The cancel flow on /account through the sandbox: a reason, then an offer taken (pause, a lower
amount, yearly) or declined (cancelled at the period end), each recorded on the timeline and as a
Cancellation the insight figures count; bad input answers 422 with the message beside the field."""
from __future__ import annotations

import html
import re

import pytest
from sqlalchemy import select

from service.db import utcnow
from service.domain.members.access import has_access
from service.domain.members.account import day
from service.domain.members.plan_changes import _add_months
from service.models import ActivityKind, Cancellation, MemberActivity, MemberStatus
from tests.web.readers import join_and_pay, post_form, sign_in_as


def text_of(answer) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html.unescape(answer.get_data(as_text=True))).split())


def account(client) -> str:
    answer = client.get("/account")
    assert answer.status_code == 200
    return text_of(answer)


@pytest.fixture
def monthly(client, db_session, sandbox):
    someone = join_and_pay(client, sandbox, "leaving@example.org")
    sign_in_as(client, someone)
    return someone


@pytest.fixture
def pwyw(client, db_session, sandbox):
    someone = join_and_pay(client, sandbox, "generous@example.org", plan="monthly-pwyw", amount="10")
    sign_in_as(client, someone)
    return someone


def notes(member) -> list[str]:
    from service.extensions import db

    return [a.detail for a in db.session.scalars(select(MemberActivity).where(
        MemberActivity.member_id == member.id, MemberActivity.kind == ActivityKind.NOTE).order_by(MemberActivity.id))]


def cancellations(member) -> list[Cancellation]:
    from service.extensions import db

    return list(db.session.scalars(select(Cancellation).where(Cancellation.member_id == member.id)))


def test_a_reason_then_the_offers_configured(client, monthly):
    first = client.get("/account/cancel")
    assert first.status_code == 200 and "why are you leaving?" in text_of(first)
    offers = post_form(client, "/account/cancel/reason", {"reason": "not_reading", "text": "Too busy"},
                       token_from="/account/cancel")
    page = text_of(offers)
    assert offers.status_code == 200 and "Pause my payments" in page and "Switch to yearly" in page
    assert "$10 less than twelve monthly payments" in page
    assert "Change my amount" not in page, "$5 is already the pay-what-you-want minimum"
    assert 'name="reason" value="not_reading"' in offers.get_data(as_text=True)


def test_pausing_keeps_access_charges_nothing_and_says_the_next_charge(client, monthly, gateway, sandbox):
    sub = monthly.subscriptions[0]
    end = sub.current_period_end
    answer = post_form(client, "/account/cancel/offer", {"reason": "too_expensive", "text": "", "offer": "pause",
                                                         "months": "2"}, token_from="/account/cancel")
    assert answer.status_code == 303
    stripe_sub = gateway.retrieve_subscription(sub.stripe_subscription_id)
    pause = stripe_sub["pause_collection"]
    assert stripe_sub["status"] == "active" and pause["behavior"] == "void"
    assert int(_add_months(end, 1).timestamp()) < pause["resumes_at"] < int(_add_months(end, 2).timestamp())
    assert monthly.status is MemberStatus.ACTIVE and has_access(monthly, utcnow())
    page = account(client)
    assert f"your next payment is $5.00 on {day(_add_months(end, 2))}" in page
    assert "payments paused until" in page
    [row] = cancellations(monthly)
    assert (row.reason, row.offer, row.outcome, row.detail) == ("too_expensive", "pause", "kept", "2 months")
    assert "cancel flow: reason too_expensive; took the pause offer (2 months)" in notes(monthly)

    # The next renewal comes and is voided: nothing charged, access runs on.
    sandbox.advance(seconds=int(end.timestamp()) - sandbox.now() + 7200)
    renewed = gateway.retrieve_subscription(sub.stripe_subscription_id)
    assert renewed["status"] == "active"
    assert gateway.retrieve_invoice(renewed["latest_invoice"])["status"] == "void"


def test_switching_to_yearly_from_the_cancel_flow_invoices_the_proration(client, monthly, gateway):
    sub = monthly.subscriptions[0]
    answer = post_form(client, "/account/cancel/offer", {"reason": "too_expensive", "offer": "yearly"},
                       token_from="/account/cancel")
    assert answer.status_code == 303
    stripe_sub = gateway.retrieve_subscription(sub.stripe_subscription_id)
    assert stripe_sub["items"]["data"][0]["price"]["recurring"]["interval"] == "year"
    invoice = gateway.retrieve_invoice(stripe_sub["latest_invoice"])
    assert invoice["billing_reason"] == "subscription_update" and invoice["status"] == "paid"
    credit = [line for line in invoice["lines"]["data"] if line["amount"] < 0]
    assert credit and 0 < invoice["amount_paid"] < 5000, "the unused month is credited against the year"
    page = account(client)
    assert "Yearly: $50 a year" in page
    assert f"Your next payment is $50.00 on {day(monthly.subscriptions[0].current_period_end)}" in page
    assert [c.offer for c in cancellations(monthly)] == ["yearly"]


def test_a_lower_amount_prorates_and_shows_the_next_charge(client, pwyw, gateway):
    sub = pwyw.subscriptions[0]
    offers = post_form(client, "/account/cancel/reason", {"reason": "too_expensive"}, token_from="/account/cancel")
    assert "Change my amount" in text_of(offers) and "from $5" in text_of(offers)
    answer = post_form(client, "/account/cancel/offer", {"reason": "too_expensive", "offer": "lower_amount",
                                                         "amount": "7"}, token_from="/account/cancel")
    assert answer.status_code == 303
    stripe_sub = gateway.retrieve_subscription(sub.stripe_subscription_id)
    assert stripe_sub["items"]["data"][0]["price"]["unit_amount"] == 700
    pending = sum(i["amount"] for i in gateway.pending_invoice_items(pwyw.stripe_customer_id))
    assert -300 <= pending < 0, "the unused time at $10 is credited, the rest at $7 charged"
    page = account(client)
    assert "$7 a month" in page and f"will be ${(700 + pending) / 100:.2f}" in page
    [row] = cancellations(pwyw)
    assert (row.offer, row.detail, row.outcome) == ("lower_amount", "700 usd", "kept")


def test_declining_cancels_at_period_end_with_the_reason(client, monthly, gateway):
    sub = monthly.subscriptions[0]
    answer = post_form(client, "/account/cancel", {"reason": "other", "text": "Moving abroad"},
                       token_from="/account/cancel")
    assert answer.status_code == 303
    assert gateway.retrieve_subscription(sub.stripe_subscription_id)["cancel_at_period_end"] is True
    assert f"Member until {day(sub.current_period_end)} (cancelled)" in account(client)
    [row] = cancellations(monthly)
    assert (row.reason, row.text, row.offer, row.outcome) == ("other", "Moving abroad", None, "cancelled")
    assert any("reason other: “Moving abroad”; declined the offers and cancelled" in n for n in notes(monthly))


def test_a_cancel_posted_without_the_reason_step_still_cancels(client, monthly, gateway):
    """Leaving never depends on answering: a form posted straight to POST /account/cancel (an older
    page, a script) cancels at the period end, recorded as "not given"."""
    sub = monthly.subscriptions[0]
    answer = post_form(client, "/account/cancel", {}, token_from="/account/cancel")
    assert answer.status_code == 303
    assert gateway.retrieve_subscription(sub.stripe_subscription_id)["cancel_at_period_end"] is True
    [row] = cancellations(monthly)
    assert (row.reason, row.outcome) == ("not_given", "cancelled")
    assert "not_given" not in client.get("/account/cancel").get_data(as_text=True)  # never offered as a choice


@pytest.mark.parametrize("path, form, field, message", [
    ("/account/cancel/reason", {}, "reason", "Choose a reason."),
    ("/account/cancel", {"reason": "bored"}, "reason", "Choose a reason."),
    ("/account/cancel/reason", {"reason": "other"}, "text", "Tell us a little about it."),
    ("/account/cancel/reason", {"reason": "coverage", "text": "x" * 501}, "text", "under 500 characters"),
    ("/account/cancel/offer", {"reason": "too_expensive", "offer": "lower_amount", "amount": "5"}, "offer",
     "not available"),
    ("/account/cancel/offer", {"reason": "too_expensive", "offer": "pause", "months": "4"}, "months",
     "1, 2 or 3 months"),
])
def test_bad_input_is_a_422_with_the_message_beside_the_field(client, monthly, gateway, path, form, field, message):
    answer = post_form(client, path, form, token_from="/account/cancel")
    body = html.unescape(answer.get_data(as_text=True))
    assert answer.status_code == 422
    assert re.search(rf'<p class="field-error" id="{field}-error">[^<]*{re.escape(message)}', body), body
    assert cancellations(monthly) == []
    assert gateway.retrieve_subscription(monthly.subscriptions[0].stripe_subscription_id)["cancel_at_period_end"] is False


def test_an_amount_under_the_minimum_is_refused_beside_the_field(client, pwyw):
    answer = post_form(client, "/account/cancel/offer", {"reason": "too_expensive", "offer": "lower_amount",
                                                         "amount": "4"}, token_from="/account/cancel")
    assert answer.status_code == 422
    assert re.search(r'id="amount-error">The smallest amount is \$5', html.unescape(answer.get_data(as_text=True)))


def test_an_offer_not_configured_is_neither_shown_nor_taken(client, monthly, gateway, monkeypatch):
    monkeypatch.setitem(client.application.config, "RETENTION_OFFERS", ["pause"])
    offers = post_form(client, "/account/cancel/reason", {"reason": "coverage"}, token_from="/account/cancel")
    assert "Pause my payments" in text_of(offers) and "Switch to yearly" not in text_of(offers)
    answer = post_form(client, "/account/cancel/offer", {"reason": "coverage", "offer": "yearly"},
                       token_from="/account/cancel")
    assert answer.status_code == 422 and 'id="offer-error"' in answer.get_data(as_text=True)
    stripe_sub = gateway.retrieve_subscription(monthly.subscriptions[0].stripe_subscription_id)
    assert stripe_sub["items"]["data"][0]["price"]["recurring"]["interval"] == "month"


def test_with_no_offers_configured_the_reason_leads_straight_to_the_confirmation(client, monthly, monkeypatch):
    monkeypatch.setitem(client.application.config, "RETENTION_OFFERS", [])
    page = text_of(post_form(client, "/account/cancel/reason", {"reason": "coverage"}, token_from="/account/cancel"))
    assert "Would one of these help?" not in page and "Yes, cancel my membership" in page


def test_the_yearly_offer_with_a_declined_card_keeps_the_reader_monthly(client, monthly, gateway, sandbox):
    """Sent with `payment_behavior=error_if_incomplete`, Stripe answers 402 and "does not update the
    subscription" (https://docs.stripe.com/api/subscriptions/update#update_subscription-payment_behavior);
    4000 0000 0000 0341 declines every charge (https://docs.stripe.com/testing#cards)."""
    portal = gateway.create_portal_session(customer_id=monthly.stripe_customer_id, return_url="http://svc.test/account",
                                           key=f"declining-{monthly.id}")
    sandbox.http.post(f"{portal['url']}/card", data={"card_number": "4000 0000 0000 0341"}, allow_redirects=False)
    answer = post_form(client, "/account/cancel/offer", {"reason": "too_expensive", "offer": "yearly"},
                       token_from="/account/cancel")
    assert answer.status_code == 422 and "Your card was declined, so nothing changed" in text_of(answer)
    sub = monthly.subscriptions[0]
    assert gateway.retrieve_subscription(sub.stripe_subscription_id)["items"]["data"][0]["price"]["unit_amount"] == 500
    assert cancellations(monthly) == [] and sub.amount == 500

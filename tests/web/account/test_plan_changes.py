"""Self-service plan changes on /account through the sandbox: monthly to yearly now (a proration
invoice), yearly to monthly at renewal (a subscription schedule), a new pay-what-you-want amount
(prorated), each reflected on the page at once; and why none of them can charge twice."""
from __future__ import annotations

import html
import re

import pytest
from sqlalchemy import func, select

from service.db import utcnow
from service.domain.members.account import day
from service.domain.members.plan_changes import change_amount, choices, pause, switch_to_yearly
from service.errors import BillingError, Conflict
from service.models import Invoice, MemberActivity
from tests.web.readers import join_and_pay, post_form, sign_in_as


def account(client) -> str:
    answer = client.get("/account")
    assert answer.status_code == 200
    return " ".join(re.sub(r"<[^>]+>", " ", html.unescape(answer.get_data(as_text=True))).split())


@pytest.fixture
def monthly(client, db_session, sandbox):
    someone = join_and_pay(client, sandbox, "monthly@example.org")
    sign_in_as(client, someone)
    return someone


def update_invoices(gateway, customer: str) -> list[dict]:
    return [i for i in gateway.list_invoices(customer=customer) if i["billing_reason"] == "subscription_update"]


def test_monthly_to_yearly_now_with_a_proration_invoice(client, monthly, gateway):
    assert "$10.00 less than twelve monthly payments" in account(client).replace("$10 less", "$10.00 less")
    answer = post_form(client, "/account/plan/yearly", {}, token_from="/account")
    assert answer.status_code == 303
    [invoice] = update_invoices(gateway, monthly.stripe_customer_id)
    assert invoice["status"] == "paid" and 0 < invoice["amount_paid"] < 5000
    sub = monthly.subscriptions[0]
    page = account(client)
    assert "Yearly: $50 a year" in page and f"Member, renews on {day(sub.current_period_end)}" in page
    assert "Switch to monthly at renewal" in page and "Switch to yearly" not in page


def test_switching_to_yearly_cannot_charge_twice(client, gateway, db_session, sandbox, monkeypatch):
    """A double submit waits for the member lock, then finds the subscription yearly: 409, no
    second invoice. A retry of the Stripe request itself (the SDK's, on a network error) carries the
    same key, naming this attempt, so Stripe replays the first answer
    (https://docs.stripe.com/api/idempotent_requests)."""
    monthly = join_and_pay(client, sandbox, "once@example.org")
    sign_in_as(client, monthly)
    sub = monthly.subscriptions[0]
    keys: list[str] = []
    real = gateway.change_price

    def recording(subscription_id, **kw):
        keys.append(kw["key"])
        return real(subscription_id, **kw)

    monkeypatch.setattr(gateway, "change_price", recording)
    switch_to_yearly(monthly, gateway, utcnow())
    db_session.commit()
    with pytest.raises(Conflict):
        switch_to_yearly(monthly, gateway, utcnow())
    again = post_form(client, "/account/plan/yearly", {}, token_from="/account")
    assert again.status_code == 409
    first = gateway.retrieve_subscription(sub.stripe_subscription_id)
    stripe_item = first["items"]["data"][0]
    replayed = real(sub.stripe_subscription_id, item_id=stripe_item["id"], line={"price": stripe_item["price"]["id"]},
                    proration_behavior="always_invoice", key=keys[0])
    assert replayed["latest_invoice"] == first["latest_invoice"]
    assert len(update_invoices(gateway, monthly.stripe_customer_id)) == 1


def test_yearly_to_monthly_at_renewal_changes_nothing_before_then(client, db_session, sandbox, gateway):
    someone = join_and_pay(client, sandbox, "yearly@example.org", plan="yearly-50")
    sign_in_as(client, someone)
    sub = someone.subscriptions[0]
    end = sub.current_period_end
    answer = post_form(client, "/account/plan/monthly", {}, token_from="/account")
    assert answer.status_code == 303
    page = account(client)
    assert f"From {day(end)} your membership will be $5.00 a month. Nothing changes before then." in page
    assert "Yearly: $50 a year" in page, "still yearly until the renewal"
    stripe_sub = gateway.retrieve_subscription(sub.stripe_subscription_id)
    assert stripe_sub["schedule"] and stripe_sub["items"]["data"][0]["price"]["recurring"]["interval"] == "year"
    assert update_invoices(gateway, someone.stripe_customer_id) == [], "nothing charged now"
    # Choosing it twice updates the one schedule (Stripe refuses a second one on a subscription).
    assert post_form(client, "/account/plan/monthly", {}, token_from="/account").status_code == 303
    assert gateway.retrieve_subscription(sub.stripe_subscription_id)["schedule"] == stripe_sub["schedule"]

    sandbox.advance(seconds=int(end.timestamp()) - sandbox.now() + 60)
    renewed = gateway.retrieve_subscription(sub.stripe_subscription_id)
    assert renewed["items"]["data"][0]["price"]["recurring"]["interval"] == "month"
    assert gateway.retrieve_invoice(renewed["latest_invoice"])["amount_due"] == 500


def test_a_new_amount_is_prorated_and_shown_at_once(client, db_session, sandbox, gateway):
    someone = join_and_pay(client, sandbox, "amount@example.org", plan="monthly-pwyw", amount="10")
    sign_in_as(client, someone)
    assert client.get("/account/plan/amount").status_code == 200
    answer = post_form(client, "/account/plan/amount", {"amount": "12.50"}, token_from="/account/plan/amount")
    assert answer.status_code == 303
    page = account(client)
    assert "$12.50 a month" in page and "Your amount is now $12.50." in page
    pending = gateway.pending_invoice_items(someone.stripe_customer_id)
    assert sum(i["amount"] for i in pending) >= 0 and len(pending) == 2, "credit at $10, debit at $12.50"
    assert someone.subscriptions[0].amount == 1250, "synced into the store at once"


@pytest.mark.parametrize("typed, message", [("4", "The smallest amount is $5.00."), ("lots", "Enter an amount")])
def test_an_amount_under_the_minimum_or_unreadable_is_a_422_beside_the_field(client, db_session, sandbox, typed, message):
    someone = join_and_pay(client, sandbox, f"low-{len(typed)}@example.org", plan="monthly-pwyw", amount="10")
    sign_in_as(client, someone)
    answer = post_form(client, "/account/plan/amount", {"amount": typed}, token_from="/account/plan/amount")
    body = html.unescape(answer.get_data(as_text=True))
    assert answer.status_code == 422 and re.search(rf'id="amount-error">{re.escape(message)}', body), body
    assert someone.subscriptions[0].amount == 1000


def test_a_new_amount_cannot_charge_twice(client, db_session, sandbox, gateway):
    """The same change from the same amount is the same Stripe request (the key names member,
    subscription, period, old and new amount), and once applied the store says so: a second
    submit of the same amount is refused with 409 and creates no second pair of prorations."""
    someone = join_and_pay(client, sandbox, "twice@example.org", plan="monthly-pwyw", amount="10")
    sign_in_as(client, someone)
    assert post_form(client, "/account/plan/amount", {"amount": "8"}, token_from="/account/plan/amount").status_code == 303
    assert post_form(client, "/account/plan/amount", {"amount": "8"}, token_from="/account/plan/amount").status_code == 409
    assert len(gateway.pending_invoice_items(someone.stripe_customer_id)) == 2
    assert db_session.scalars(select(Invoice).where(Invoice.member_id == someone.id,
                                                    Invoice.billing_reason == "subscription_update")).all() == []


def _stripe_amount(gateway, sub) -> int:
    return gateway.retrieve_subscription(sub.stripe_subscription_id)["items"]["data"][0]["price"]["unit_amount"]


def test_changing_the_amount_back_and_forth_applies_every_change(client, db_session, sandbox, gateway):
    """10 -> 20 -> 10 -> 20 in one period: each change is its own Stripe request (its own idempotency
    key, https://docs.stripe.com/api/idempotent_requests: a key reused with the same parameters
    returns the first answer and does nothing), so Stripe ends at $20, as the store says."""
    someone = join_and_pay(client, sandbox, "fickle@example.org", plan="monthly-pwyw", amount="10")
    sign_in_as(client, someone)
    sub = someone.subscriptions[0]
    for typed in ("20", "10", "20"):
        answer = post_form(client, "/account/plan/amount", {"amount": typed}, token_from="/account/plan/amount")
        assert answer.status_code == 303
    assert _stripe_amount(gateway, sub) == 2000 and sub.amount == 2000
    assert len(gateway.pending_invoice_items(someone.stripe_customer_id)) == 6, "three changes, three pairs"


def test_a_change_stripe_did_not_apply_is_neither_stored_nor_announced(client, db_session, sandbox, gateway,
                                                                      monkeypatch):
    """Before syncing, the answer must carry the new price: an answer without it (a replay of an
    older request, say) is an error, and the store keeps the amount Stripe charges."""
    someone = join_and_pay(client, sandbox, "unapplied@example.org", plan="monthly-pwyw", amount="10")
    sign_in_as(client, someone)
    sub = someone.subscriptions[0]
    monkeypatch.setattr(gateway, "change_price", lambda subscription_id, **_kw: gateway.retrieve_subscription(subscription_id))
    with pytest.raises(BillingError):
        change_amount(someone, 2000, gateway, utcnow())
    db_session.rollback()
    assert sub.amount == 1000 and _stripe_amount(gateway, sub) == 1000


def test_a_pause_stripe_did_not_apply_is_not_stored(client, monthly, db_session, gateway, monkeypatch):
    sub = monthly.subscriptions[0]
    monkeypatch.setattr(gateway, "pause_collection", lambda subscription_id, **_kw: gateway.retrieve_subscription(subscription_id))
    with pytest.raises(BillingError):
        pause(monthly, 2, gateway, utcnow())
    db_session.rollback()
    assert sub.pause_behavior is None


def test_each_attempt_has_its_own_key(client, monthly, db_session, gateway, monkeypatch):
    keys: list[str] = []
    real = gateway.pause_collection

    def recording(subscription_id, *, resumes_at, key):
        keys.append(key)
        return real(subscription_id, resumes_at=resumes_at, key=key)

    monkeypatch.setattr(gateway, "pause_collection", recording)
    sub = monthly.subscriptions[0]
    pause(monthly, 1, gateway, utcnow())
    db_session.commit()
    # Resumed in Stripe (the portal, staff), then the same pause again in the same period.
    gateway._v1.subscriptions.update(sub.stripe_subscription_id, {"pause_collection": ""})
    sub.pause_behavior = None
    db_session.commit()
    pause(monthly, 1, gateway, utcnow())
    assert len(set(keys)) == 2
    assert gateway.retrieve_subscription(sub.stripe_subscription_id)["pause_collection"] is not None


def test_switching_to_yearly_with_a_declined_card_changes_nothing(client, monthly, db_session, sandbox, gateway):
    """The update is sent with `payment_behavior=error_if_incomplete`: Stripe answers 402 and "does
    not update the subscription" (https://docs.stripe.com/api/subscriptions/update#update_subscription-payment_behavior);
    by default it would apply the yearly price and leave the subscription past_due
    (https://docs.stripe.com/billing/subscriptions/pending-updates). 4000 0000 0000 0341 attaches
    and then declines every charge (https://docs.stripe.com/testing#cards)."""
    sub = monthly.subscriptions[0]
    portal = gateway.create_portal_session(customer_id=monthly.stripe_customer_id, return_url="http://svc.test/account",
                                           key=f"declining-{monthly.id}")
    assert sandbox.http.post(f"{portal['url']}/card", data={"card_number": "4000 0000 0000 0341"},
                             allow_redirects=False).status_code == 303
    notes_before = db_session.scalar(select(func.count(MemberActivity.id)).where(MemberActivity.member_id == monthly.id))
    answer = post_form(client, "/account/plan/yearly", {}, token_from="/account")
    body = " ".join(re.sub(r"<[^>]+>", " ", html.unescape(answer.get_data(as_text=True))).split())
    assert answer.status_code == 422
    assert "Your card was declined, so nothing changed" in body and "Your membership" in body
    stripe_sub = gateway.retrieve_subscription(sub.stripe_subscription_id)
    assert stripe_sub["status"] == "active" and stripe_sub["items"]["data"][0]["price"]["recurring"]["interval"] == "month"
    db_session.expire_all()
    assert sub.amount == 500 and sub.interval.value == "month" and str(sub.status) == "active"
    assert db_session.scalar(select(func.count(MemberActivity.id)).where(
        MemberActivity.member_id == monthly.id)) == notes_before, "no note of a change that did not happen"
    assert "Switch to yearly" in account(client)


def test_yearly_is_offered_only_on_the_fixed_monthly_plan(client, db_session, sandbox):
    """A reader giving $25 a month is not offered $50 a year: that is a cut for the newsroom, not a
    saving for them."""
    someone = join_and_pay(client, sandbox, "generous25@example.org", plan="monthly-pwyw", amount="25")
    sign_in_as(client, someone)
    found = choices(someone)
    assert found is not None and found.yearly is None and found.pwyw is not None
    assert "Switch to yearly" not in account(client)
    assert post_form(client, "/account/plan/yearly", {}, token_from="/account").status_code == 409
    offers = post_form(client, "/account/cancel/reason", {"reason": "too_expensive"}, token_from="/account/cancel")
    assert "Switch to yearly" not in html.unescape(offers.get_data(as_text=True))


def test_a_reader_who_chose_monthly_at_renewal_can_still_cancel_and_undo(client, db_session, sandbox, gateway):
    """The schedule behind "monthly at renewal" would make Stripe refuse `cancel_at_period_end`
    (see tests/sandbox/test_schedule_cancel.py); the schedule is released first
    (https://docs.stripe.com/api/subscription_schedules/release)."""
    someone = join_and_pay(client, sandbox, "yearly-leaving@example.org", plan="yearly-50")
    sign_in_as(client, someone)
    sub = someone.subscriptions[0]
    assert post_form(client, "/account/plan/monthly", {}, token_from="/account").status_code == 303
    assert gateway.retrieve_subscription(sub.stripe_subscription_id)["schedule"]
    answer = post_form(client, "/account/cancel", {"reason": "too_expensive"}, token_from="/account/cancel")
    assert answer.status_code == 303
    stripe_sub = gateway.retrieve_subscription(sub.stripe_subscription_id)
    assert stripe_sub["cancel_at_period_end"] is True and stripe_sub["schedule"] is None
    assert sub.cancel_at_period_end
    assert post_form(client, "/account/cancel/undo", {}, token_from="/account").status_code == 303
    assert gateway.retrieve_subscription(sub.stripe_subscription_id)["cancel_at_period_end"] is False

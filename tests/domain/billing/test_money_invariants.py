"""Never charge a reader twice, never cut off a payer: each test reproduces a money defect
found by reading the billing code against Stripe's behaviour, through the sandbox.

The Stripe behaviour each relies on is cited where it is used; the sandbox follows it.
"""
from __future__ import annotations

import time
from datetime import timedelta

import pytest
import stripe
from sqlalchemy import func, select

from service import jobs
from service.db import utcnow
from service.domain.billing import reconcile as reconciling
from service.domain.insight.dashboard import revenue, webhook_health
from service.models import CheckoutAttempt, InboxStatus, Interval, MemberStatus, StripeEvent, Subscription
from tests.billing import deliver_all, post_event, replace_card, stripe_event
from tests.sandbox.harness import pay
from tests.web.readers import emails_to, join, post_form, sign_in_as


def _sdk(reader) -> stripe.StripeClient:
    return stripe.StripeClient("sk_test_x", base_addresses={"api": reader.sandbox.url})


def _attempts(db_session, member) -> int:
    return db_session.scalar(select(func.count(CheckoutAttempt.id)).where(CheckoutAttempt.member_id == member.id))


def _stripe_subscriptions(reader) -> list[dict]:
    return list(reader.gateway.list_subscriptions(customer=reader.member.stripe_customer_id))


def _past_due(client, reader, tap, sandbox) -> None:
    """Pay, then let the renewal fail: Stripe marks the subscription past_due and keeps retrying
    (https://docs.stripe.com/billing/subscriptions/overview#payment-status)."""
    reader.pay()
    deliver_all(client, tap.new())
    replace_card(reader, "4000 0000 0000 0341")  # attaches, then every charge on it fails
    deliver_all(client, tap.new())
    sandbox.advance(days=32)  # the period ends, and the renewal invoice is attempted an hour later
    deliver_all(client, tap.new())
    assert reader.member.status is MemberStatus.PAST_DUE


# --- 1. a past_due reader who rejoins -----------------------------------------------------


def test_a_past_due_reader_past_the_grace_period_gets_no_second_checkout(client, db_session, reader, tap, sandbox,
                                                                          monkeypatch):
    """Before: after the grace period a past_due member has no access, so /join opened a new
    Checkout on the same customer while Stripe still retried the first subscription; if the
    old card recovered, the reader paid twice every month."""
    _past_due(client, reader, tap, sandbox)
    monkeypatch.setitem(client.application.config, "PAST_DUE_GRACE_DAYS", 0)  # the grace period is over
    answer = join(client, reader.member.email)
    assert answer.status_code == 200  # the "check your inbox" page, as for any member
    assert "Check your inbox" in answer.get_data(as_text=True)
    assert _attempts(db_session, reader.member) == 0
    assert len(_stripe_subscriptions(reader)) == 1
    assert [e["subject"] for e in emails_to(reader.member.email)][-1] == "Your sign-in link"


def test_a_signed_in_past_due_reader_is_sent_to_fix_their_card(client, db_session, reader, tap, sandbox, monkeypatch):
    _past_due(client, reader, tap, sandbox)
    monkeypatch.setitem(client.application.config, "PAST_DUE_GRACE_DAYS", 0)
    sign_in_as(client, reader.member)
    answer = join(client, reader.member.email)
    assert answer.status_code == 303
    assert "/billing_portal/" in answer.location or "/portal/" in answer.location
    assert _attempts(db_session, reader.member) == 0


# --- 2. paid, but not yet synced ----------------------------------------------------------


def test_a_reader_who_paid_but_is_not_synced_cannot_pay_again(client, db_session, reader, tap):
    """Before: with the webhooks failing (or never arriving) and the success page never
    reached, a `complete` checkout counted as no checkout, so joining from another device
    opened a second one. Now Stripe is asked: the customer's subscriptions and their
    complete Checkout Sessions (https://docs.stripe.com/api/checkout/sessions/list)."""
    reader.pay()
    tap.new()  # Stripe's events never reach us
    assert reader.member.status is MemberStatus.PENDING
    answer = join(client, reader.member.email)
    assert answer.status_code == 200
    assert _attempts(db_session, reader.member) == 0
    assert len(_stripe_subscriptions(reader)) == 1
    # What Stripe knew and we did not is synced on the way.
    assert reader.member.status is MemberStatus.ACTIVE


# --- 4. reconcile never writes an older snapshot -------------------------------------------


def test_reconcile_never_brings_a_cancelled_subscription_back(client, db_session, reader, tap):
    """Before: reconcile wrote list-page snapshots with no freshness check, so a
    customer.subscription.deleted applied while it paged won, then lost, and no later event
    corrected it. Now the page only names the subscription; it is read again under the lock."""
    reader.pay()
    deliver_all(client, tap.new())
    stale = reader.subscription()  # the list page, read while the subscription was active
    reader.gateway.cancel_subscription_now(stale["id"], key=f"test-{time.time_ns()}")
    deliver_all(client, tap.new())
    assert reader.member.status is MemberStatus.LAPSED
    report = reconciling.Report()
    reconciling.reconcile_subscription(stale, reader.gateway, utcnow(), report)
    assert reader.member.status is MemberStatus.LAPSED
    assert report.drift == []
    row = db_session.scalar(select(Subscription).where(Subscription.stripe_subscription_id == stale["id"]))
    assert row.status == "canceled"


# --- 5. cancel means every live subscription -------------------------------------------------


def test_cancel_ends_every_subscription_stripe_could_charge(client, db_session, reader, tap):
    """Before: "Cancel membership" set only the newest of two subscriptions to end, while the
    page promised "you won't be charged again"."""
    reader.pay(key="one")
    reader.pay(key="two")  # a second tab, a second subscription
    deliver_all(client, tap.new())
    sign_in_as(client, reader.member)
    page = post_form(client, "/account/cancel/reason", {"reason": "coverage"}, token_from="/account/cancel").get_data(as_text=True)
    assert page.count("no renewal on") == 2
    answer = post_form(client, "/account/cancel", {"reason": "coverage"}, token_from="/account/cancel")
    assert answer.status_code == 303
    subs = _stripe_subscriptions(reader)
    assert len(subs) == 2
    assert all(s["cancel_at_period_end"] for s in subs)
    deliver_all(client, tap.new())
    assert reader.member.status is MemberStatus.ACTIVE  # paid up: access runs to the period end


def test_cancel_stops_the_retries_of_a_failed_renewal(client, db_session, reader, tap, sandbox):
    """A past_due subscription set to end "at period end" would still be retried by Stripe
    (https://docs.stripe.com/billing/revenue-recovery/smart-retries): cancel ends it now."""
    _past_due(client, reader, tap, sandbox)
    sign_in_as(client, reader.member)
    page = post_form(client, "/account/cancel/reason", {"reason": "coverage"}, token_from="/account/cancel").get_data(as_text=True)
    assert "the payment that failed is not tried again" in page
    answer = post_form(client, "/account/cancel", {"reason": "coverage"}, token_from="/account/cancel")
    assert answer.status_code == 303
    [sub] = reader.gateway.list_subscriptions(customer=reader.member.stripe_customer_id, status="all")
    assert sub["status"] == "canceled"
    flashed = client.get("/account").get_data(as_text=True)
    assert "be charged again" in flashed and "will not be tried again" in flashed


# --- 6. every interval Stripe allows --------------------------------------------------------


@pytest.mark.parametrize("interval, count, per_month", [("week", 1, 2609), ("month", 3, 200), ("day", 7, 2609)])
def test_any_stripe_interval_is_stored_as_it_is_and_normalised_for_revenue(client, db_session, reader, tap,
                                                                            interval, count, per_month):
    """Before: `Interval` knew month and year only, so a weekly or daily price raised on every
    retry (backoff up to 6 h, no end), and a quarterly price was stored as monthly. Stripe's
    prices recur by day, week, month or year with an interval_count
    (https://docs.stripe.com/api/prices/object#price_object-recurring-interval)."""
    sdk = _sdk(reader)
    product = sdk.v1.products.create({"name": f"Every {count} {interval}"})
    price = sdk.v1.prices.create({"product": product.id, "unit_amount": 600, "currency": "usd",
                                  "recurring": {"interval": interval, "interval_count": count}})
    session = reader.gateway.create_checkout_session(
        member_id=reader.member.id, customer_id=reader.member.stripe_customer_id, line_item={"price": price.id},
        success_url="http://localhost/join/success?session_id={CHECKOUT_SESSION_ID}",
        cancel_url="http://localhost/join/cancelled", key=f"interval-{time.time_ns()}")
    assert pay(reader.sandbox, session["url"]).status_code == 303
    assert set(deliver_all(client, tap.new())) == {200}
    assert db_session.scalar(select(func.count()).select_from(StripeEvent).where(
        StripeEvent.status == InboxStatus.FAILED)) == 0
    row = db_session.scalar(select(Subscription).where(Subscription.member_id == reader.member.id))
    assert (row.interval, row.interval_count) == (Interval(interval), count)
    assert reader.member.status is MemberStatus.ACTIVE
    # 600 every week is 600 * 365.25 / 7 / 12 a month; every 3 months, 200; every 7 days, 600 * 365.25 / 84.
    [other] = [r for r in revenue() if r.plan == "other"]
    assert other.monthly == per_month


# --- an event that can never apply ------------------------------------------------------------


def test_an_event_that_can_never_apply_goes_dead_after_bounded_attempts(client, db_session, reader, tap,
                                                                         monkeypatch):
    """It stops retrying and shows on the dashboard's webhook health, instead of retrying forever."""
    monkeypatch.setitem(client.application.config, "INBOX_MAX_ATTEMPTS", 3)
    event = stripe_event("invoice.paid", {"id": "in_neverexisted", "object": "invoice",
                                          "customer": reader.member.stripe_customer_id})
    assert post_event(client, event).status_code == 200  # stored; the failure is ours to retry
    later = utcnow()
    for _ in range(5):
        later += timedelta(days=1)
        jobs.retry_events(later, reader.gateway, include_not_due=True)
    row = db_session.scalar(select(StripeEvent).where(StripeEvent.stripe_event_id == event["id"]))
    assert row.status is InboxStatus.DEAD
    assert row.attempts == 3
    assert row.next_attempt_at is None
    assert webhook_health()["dead_events"] == 1

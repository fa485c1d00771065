"""The worker's inbox pass (webhooks only stored, WEBHOOK_APPLY_INLINE=false): it claims a batch,
applies each member's events in a savepoint of their own, and commits once."""
from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from service import jobs
from service.db import utcnow
from service.domain.billing.sync import ts
from service.gateways.stripe_gateway import StripeGateway
from service.models import ActivityKind, Contribution, InboxStatus, MemberActivity, MemberStatus, StripeEvent, Subscription
from tests.billing import Reader, post_event, stripe_event
from tests.factories import make_member
from tests.gateways.stripe_double import StripeDouble

HOUR = 3600


@pytest.fixture
def stored_only(app, monkeypatch) -> None:
    monkeypatch.setitem(app.config, "WEBHOOK_APPLY_INLINE", False)


def store(client, events: list[dict[str, Any]]) -> None:
    for event in events:
        assert post_event(client, event).get_json()["status"] == "stored"


def drain(gateway) -> int:
    """What the worker's inbox job does when webhooks are only stored."""
    return jobs.retry_events(utcnow(), gateway, received_after=timedelta(0))


def inbox_rows(db_session, events: list[dict[str, Any]]) -> dict[str, StripeEvent]:
    db_session.expire_all()
    rows = db_session.scalars(select(StripeEvent).where(StripeEvent.stripe_event_id.in_([e["id"] for e in events])))
    return {row.stripe_event_id: row for row in rows}


def test_a_poison_event_in_a_batch_does_not_block_the_others(client, db_session, reader, tap, gateway, sandbox,
                                                             price, stored_only):
    other = Reader(make_member(name="Other Reader"), gateway, sandbox, price)
    db_session.commit()
    reader.pay()
    other.pay()
    events = tap.new()
    # A shape we cannot read (no object id), among the first reader's own events: its group fails,
    # then each of its events is tried alone, so only this one is recorded as failed.
    poison = stripe_event("customer.subscription.updated", {"customer": reader.member.stripe_customer_id, "metadata": {}})
    store(client, [*events[:2], poison, *events[2:]])
    assert drain(gateway) == len(events) + 1
    rows = inbox_rows(db_session, [*events, poison])
    assert rows[poison["id"]].status is InboxStatus.FAILED
    assert rows[poison["id"]].attempts == 1 and "KeyError" in rows[poison["id"]].last_error
    assert rows[poison["id"]].next_attempt_at is not None  # retried later, with backoff
    assert all(rows[e["id"]].status in (InboxStatus.APPLIED, InboxStatus.IGNORED) for e in events)
    assert all(rows[e["id"]].attempts == 1 for e in events)
    assert reader.member.status is MemberStatus.ACTIVE
    assert other.member.status is MemberStatus.ACTIVE
    assert drain(gateway) == 0  # the poison waits for its backoff; nothing else is left


def test_a_burst_for_one_subscription_costs_one_read(client, db_session, reader, tap, gateway, stored_only, monkeypatch):
    reader.pay()
    checkout = tap.new()
    sub = reader.subscription()
    obj = {"id": sub["id"], "customer": sub["customer"], "metadata": sub["metadata"]}
    burst = [stripe_event("customer.subscription.updated", obj) for _ in range(5)]
    store(client, [*checkout, *burst])
    reads: list[str] = []
    real = gateway.retrieve_subscription
    monkeypatch.setattr(gateway, "retrieve_subscription", lambda sub_id: reads.append(sub_id) or real(sub_id))
    assert drain(gateway) == len(checkout) + len(burst)
    # The checkout's events (created, invoice paid, updated, session completed) and the burst:
    # the batch was claimed after they were all stored, so one read covers every one of them.
    assert reads == [sub["id"]]
    rows = inbox_rows(db_session, burst)
    assert {row.status for row in rows.values()} == {InboxStatus.APPLIED}
    assert reader.member.status is MemberStatus.ACTIVE


def test_events_are_applied_in_order_within_a_member_and_only_once(client, db_session, reader, tap, gateway, stored_only):
    reader.pay()
    events = tap.new()
    store(client, events)
    store(client, events)  # Stripe delivers twice: stored once
    assert drain(gateway) == len(events)
    assert drain(gateway) == 0
    rows = inbox_rows(db_session, events)
    assert all(row.attempts == 1 for row in rows.values())
    assert reader.member.status is MemberStatus.ACTIVE
    # In id order: the first event (subscription created) is the one that brought the change,
    # reading the subscription as Stripe has it now; the later ones found nothing to change.
    changes = db_session.scalars(select(MemberActivity).where(
        MemberActivity.member_id == reader.member.id, MemberActivity.kind == ActivityKind.STATUS_CHANGED)).all()
    assert [(c.to_status, c.stripe_event_id) for c in changes] == [(MemberStatus.ACTIVE, events[0]["id"])]


def test_a_renewal_costs_three_reads_and_its_invoice_paid_two(client, db_session, reader, tap, gateway, sandbox,
                                                              stored_only):
    """A renewal's events (https://docs.stripe.com/billing/subscriptions/webhooks): the period end's
    customer.subscription.updated reads the subscription; invoice.paid, arriving later, reads the
    invoice with its subscription and payments expanded, then the PaymentIntent with its charge's
    balance transaction (four levels down, past what one expansion reaches): three reads in all,
    counted at a double in front of the sandbox. The invoice's subscription, read with it, is stored
    without a read of its own, and no invoice payments are listed."""
    reader.pay()
    store(client, tap.new())
    drain(gateway)
    sub = reader.subscription()
    sandbox.advance(seconds=sub["items"]["data"][0]["current_period_end"] - sandbox.now() + HOUR + 60)
    # The sandbox's clock is shared by the module: other tests' subscriptions renew too.
    renewal = [e for e in tap.new() if e["data"]["object"].get("customer") == reader.member.stripe_customer_id]
    [paid] = [e for e in renewal if e["type"] == "invoice.paid"]
    double = StripeDouble(upstream=sandbox.url)
    counted = StripeGateway("sk_test_counted", api_base=double.url)
    try:
        store(client, [e for e in renewal if e is not paid])
        assert jobs.retry_events(utcnow(), counted, received_after=timedelta(0)) == len(renewal) - 1
        assert [s.path for s in double.seen] == [f"/v1/subscriptions/{sub['id']}"]
        store(client, [paid])
        assert jobs.retry_events(utcnow(), counted, received_after=timedelta(0)) == 1
        reads = [s.path.split("?")[0] for s in double.seen[1:]]
    finally:
        double.close()
    invoice_id = paid["data"]["object"]["id"]
    contribution = db_session.scalars(select(Contribution).where(Contribution.stripe_invoice_id == invoice_id)).one()
    assert reads == [f"/v1/invoices/{invoice_id}", f"/v1/payment_intents/{contribution.stripe_payment_intent_id}"]
    assert {s.method for s in double.seen} == {"GET"}
    assert contribution.amount == 500 and contribution.stripe_fee is not None
    row = db_session.scalars(select(Subscription).where(Subscription.stripe_subscription_id == sub["id"])).one()
    assert row.current_period_end > ts(sub["items"]["data"][0]["current_period_end"])
    assert inbox_rows(db_session, [paid])[paid["id"]].status is InboxStatus.APPLIED
    assert reader.member.status is MemberStatus.ACTIVE

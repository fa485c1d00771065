"""Membership state from Stripe's events, whatever order and however often they arrive."""
from __future__ import annotations

import random
from datetime import timedelta
from typing import NamedTuple

import pytest
from sqlalchemy import select

from service.db import utcnow
from service.domain.members.access import has_access
from service.models import ActivityKind, InboxStatus, MemberActivity, MemberStatus, StripeEvent, Subscription
from tests.billing import deliver_all, post_event, replace_card


class Change(NamedTuple):
    """One status change on a member's timeline, and the Stripe event that brought it (if any)."""

    from_status: str
    to_status: str
    stripe_event_id: str | None


def status_changes(db_session, member) -> list[Change]:
    rows = db_session.scalars(select(MemberActivity).where(
        MemberActivity.member_id == member.id, MemberActivity.kind == ActivityKind.STATUS_CHANGED
    ).order_by(MemberActivity.id))
    return [Change(str(r.from_status), str(r.to_status), r.stripe_event_id) for r in rows]


def transitions(db_session, member) -> list[tuple[str, str]]:
    """The member's status changes as (from, to), oldest first."""
    return [(c.from_status, c.to_status) for c in status_changes(db_session, member)]


def test_happy_path_in_stripes_order(client, db_session, reader, tap):
    """Stripe creates the subscription `incomplete`, pays its first invoice, updates it to
    `active`, and `checkout.session.completed` may come last
    (https://docs.stripe.com/billing/subscriptions/webhooks)."""
    reader.pay()
    events = tap.new()
    types = [e["type"] for e in events]
    assert types[0] == "customer.subscription.created"
    assert events[0]["data"]["object"]["status"] == "incomplete"
    assert types.index("invoice.paid") < types.index("customer.subscription.updated")
    assert types[-1] == "checkout.session.completed"
    assert set(deliver_all(client, events)) == {200}
    member = reader.member
    assert member.status is MemberStatus.ACTIVE
    assert has_access(member, utcnow())
    assert transitions(db_session, member) == [("pending", "active")]
    # The change is explained by the first event that brought it: each handler reads the
    # subscription as Stripe has it now (active), not the `incomplete` snapshot in its payload.
    assert status_changes(db_session, member)[0].stripe_event_id == events[0]["id"]
    sub = db_session.scalars(select(Subscription).where(Subscription.member_id == member.id)).one()
    assert sub.plan.code == "monthly-5"
    assert sub.amount == 500
    assert sub.current_period_end > utcnow()
    assert member.billing_synced_at is not None and member.billing_read_at == sub.synced_at


@pytest.mark.parametrize("order", ["reversed", "updated_first", "shuffled"])
def test_any_delivery_order_ends_the_same(client, db_session, reader, tap, order):
    reader.pay()
    events = tap.new()
    if order == "reversed":
        events.reverse()
    elif order == "updated_first":
        events.sort(key=lambda e: e["type"] != "customer.subscription.created")
    else:
        random.Random(7).shuffle(events)
    assert set(deliver_all(client, events)) == {200}
    assert reader.member.status is MemberStatus.ACTIVE
    assert transitions(db_session, reader.member) == [("pending", "active")]


def test_checkout_completed_alone_makes_a_member(client, db_session, reader, tap):
    reader.pay()
    completed = [e for e in tap.new() if e["type"] == "checkout.session.completed"]
    assert deliver_all(client, completed) == [200]
    assert reader.member.status is MemberStatus.ACTIVE


def test_a_duplicate_in_a_row_applies_once(client, db_session, reader, tap):
    reader.pay()
    events = tap.new()
    deliver_all(client, events)
    deliver_all(client, events)
    assert len(status_changes(db_session, reader.member)) == 1
    stored = db_session.scalars(select(StripeEvent).where(StripeEvent.stripe_event_id.in_([e["id"] for e in events])))
    assert all(row.attempts == 1 for row in stored)


def test_two_events_for_one_change_record_it_once(client, db_session, reader, tap):
    reader.pay()
    events = [e for e in tap.new() if e["type"] in ("invoice.paid", "invoice.payment_succeeded",
                                                      "customer.subscription.created")]
    deliver_all(client, events)
    assert len(status_changes(db_session, reader.member)) == 1


def test_a_database_failure_mid_apply_is_retried_by_stripe(client, db_session, reader, tap, is_postgres):
    """A real failure inside the database (a trigger refusing activity rows) rolls the whole apply back."""
    from sqlalchemy import text

    reader.pay()
    completed = next(e for e in tap.new() if e["type"] == "checkout.session.completed")
    if is_postgres:
        db_session.execute(text("CREATE FUNCTION refuse() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'disk full'; END $$ LANGUAGE plpgsql"))
        db_session.execute(text("CREATE TRIGGER refuse_activity BEFORE INSERT ON member_activity FOR EACH ROW EXECUTE FUNCTION refuse()"))
    else:
        db_session.execute(text("CREATE TRIGGER refuse_activity BEFORE INSERT ON member_activity BEGIN SELECT RAISE(ABORT, 'disk full'); END"))
    db_session.commit()  # to the test's savepoint: the failing request rolls back only its own work
    response = post_event(client, completed)
    assert response.status_code == 200
    assert response.get_json()["status"] == "failed"  # stored: the worker retries
    row = db_session.scalars(select(StripeEvent).where(StripeEvent.stripe_event_id == completed["id"])).one()
    assert row.status is InboxStatus.FAILED
    assert row.attempts == 1
    assert "disk full" in row.last_error
    # Nothing half-applied: no subscription row, status unchanged.
    db_session.expire_all()
    assert db_session.scalars(select(Subscription).where(Subscription.member_id == reader.member.id)).first() is None
    assert reader.member.status is MemberStatus.PENDING

    db_session.execute(text("DROP TRIGGER refuse_activity" + (" ON member_activity" if is_postgres else "")))
    assert post_event(client, completed).status_code == 200  # Stripe's retry
    db_session.expire_all()
    assert reader.member.status is MemberStatus.ACTIVE
    assert row.status is InboxStatus.APPLIED
    assert row.attempts == 2
    assert row.last_error is None


def test_renewal_failure_grace_then_recovery(client, db_session, reader, tap, sandbox):
    reader.pay()
    deliver_all(client, tap.new())
    replace_card(reader, "4000 0000 0000 0341")
    sandbox.advance(days=32)  # past the period's end (a month of up to 31 days) and the hour before the renewal is charged
    deliver_all(client, tap.new())
    member = reader.member
    assert member.status is MemberStatus.PAST_DUE
    assert has_access(member, utcnow(), grace_days=7)
    assert not has_access(member, utcnow() + timedelta(days=8), grace_days=7)
    replace_card(reader, "4242 4242 4242 4242")
    sandbox.advance(days=3)  # the first retry
    deliver_all(client, tap.new())
    assert member.status is MemberStatus.ACTIVE
    assert has_access(member, utcnow())
    assert transitions(db_session, member) == [("pending", "active"), ("active", "past_due"), ("past_due", "active")]


def test_retries_exhausted_end_the_membership(client, db_session, reader, tap, sandbox):
    reader.pay()
    deliver_all(client, tap.new())
    replace_card(reader, "4000 0000 0000 0341")
    sandbox.advance(days=32)  # past the period's end (a month of up to 31 days) and the hour before the renewal is charged
    sandbox.advance(days=16)  # all retries fail; the subscription is canceled
    deliver_all(client, tap.new())
    assert reader.member.status is MemberStatus.LAPSED
    assert not has_access(reader.member, utcnow())


def test_cancel_at_period_end_undo_then_really_end(client, db_session, reader, tap, sandbox):
    reader.pay()
    deliver_all(client, tap.new())
    sub_id = reader.subscription()["id"]
    reader.gateway.set_cancel_at_period_end(sub_id, True, key="c1")
    deliver_all(client, tap.new())
    sub = db_session.scalars(select(Subscription).where(Subscription.stripe_subscription_id == sub_id)).one()
    just_after_the_period = sub.current_period_end + timedelta(seconds=1)
    assert sub.cancel_at_period_end
    assert reader.member.status is MemberStatus.ACTIVE
    assert has_access(reader.member, utcnow())
    assert not has_access(reader.member, just_after_the_period)
    reader.gateway.set_cancel_at_period_end(sub_id, False, key="c2")
    deliver_all(client, tap.new())
    assert not sub.cancel_at_period_end
    assert has_access(reader.member, just_after_the_period)
    reader.gateway.set_cancel_at_period_end(sub_id, True, key="c3")
    sandbox.advance(days=31)
    deliver_all(client, tap.new())
    assert reader.member.status is MemberStatus.LAPSED
    assert sub.ended_at is not None


def test_immediate_cancel_lapses(client, db_session, reader, tap):
    reader.pay()
    deliver_all(client, tap.new())
    reader.gateway.cancel_subscription_now(reader.subscription()["id"], key="now")
    deliver_all(client, tap.new())
    assert reader.member.status is MemberStatus.LAPSED
    assert not has_access(reader.member, utcnow())


def test_rejoining_after_lapse_keeps_history(client, db_session, reader, tap):
    reader.pay()
    deliver_all(client, tap.new())
    customer = reader.member.stripe_customer_id
    reader.gateway.cancel_subscription_now(reader.subscription()["id"], key="end")
    deliver_all(client, tap.new())
    reader.pay(key="again")
    deliver_all(client, tap.new())
    assert reader.member.status is MemberStatus.ACTIVE
    assert reader.member.stripe_customer_id == customer
    subs = db_session.scalars(select(Subscription).where(Subscription.member_id == reader.member.id)).all()
    assert sorted(str(s.status) for s in subs) == ["active", "canceled"]
    assert transitions(db_session, reader.member) == [("pending", "active"), ("active", "lapsed"), ("lapsed", "active")]

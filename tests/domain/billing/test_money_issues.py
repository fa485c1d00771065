"""Refunds, disputes and double payments are recorded and flagged for staff."""
from __future__ import annotations

import stripe
from sqlalchemy import select

from service.models import ActivityKind, BillingIssue, IssueKind, MemberActivity, MemberStatus, Subscription
from tests.billing import deliver_all


def _charge_id(reader) -> str:
    sdk = stripe.StripeClient("sk_test_x", base_addresses={"api": reader.sandbox.url})
    return sdk.v1.charges.list({"customer": reader.member.stripe_customer_id}).data[0].id


def _issues(db_session, member, kind):
    return db_session.scalars(select(BillingIssue).where(BillingIssue.member_id == member.id,
                                                         BillingIssue.kind == kind)).all()


def test_refund_is_recorded_once_and_flagged(client, db_session, reader, tap):
    reader.pay()
    deliver_all(client, tap.new())
    charge = _charge_id(reader)
    sdk = stripe.StripeClient("sk_test_x", base_addresses={"api": reader.sandbox.url})
    sdk.v1.refunds.create({"charge": charge})
    events = tap.new()
    assert "charge.refunded" in [e["type"] for e in events]
    deliver_all(client, events)
    deliver_all(client, events)
    [issue] = _issues(db_session, reader.member, IssueKind.REFUND)
    assert issue.stripe_object_id == charge
    assert issue.amount == 500
    flags = db_session.scalars(select(MemberActivity).where(MemberActivity.member_id == reader.member.id,
                                                            MemberActivity.kind == ActivityKind.FLAGGED)).all()
    assert len(flags) == 1
    assert "refunded" in flags[0].detail
    assert reader.member.status is MemberStatus.ACTIVE  # access follows the subscription, not the refund


def test_dispute_is_recorded_and_flagged(client, db_session, reader, tap):
    reader.pay()
    deliver_all(client, tap.new())
    charge = _charge_id(reader)
    assert reader.sandbox.http.post(f"{reader.sandbox.url}/sandbox/charges/{charge}/dispute").ok
    deliver_all(client, tap.new())
    [issue] = _issues(db_session, reader.member, IssueKind.DISPUTE)
    assert issue.stripe_object_id.startswith("dp_")
    assert charge in issue.detail


def test_two_paying_subscriptions_are_flagged_not_duplicated(client, db_session, reader, tap):
    reader.pay(key="one")
    deliver_all(client, tap.new())
    reader.pay(key="two")  # a second checkout, e.g. from another tab
    events = tap.new()
    deliver_all(client, events)
    deliver_all(client, events)
    subs = db_session.scalars(select(Subscription).where(Subscription.member_id == reader.member.id)).all()
    stripe_ids = {s.stripe_subscription_id for s in subs}
    assert len(subs) == 2
    assert len(stripe_ids) == 2
    [issue] = _issues(db_session, reader.member, IssueKind.DUPLICATE_SUBSCRIPTION)
    assert issue.stripe_object_id in stripe_ids
    assert reader.member.status is MemberStatus.ACTIVE

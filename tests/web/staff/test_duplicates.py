"""A second subscription that charges a reader twice: flagged, and undone by staff in one click.

DESIGN.md's money invariants: "A second live subscription that appears anyway is flagged
for staff with a one-click 'cancel and refund the duplicate'."
"""
from __future__ import annotations

import pytest
import stripe
from sqlalchemy import select

from service.extensions import db
from service.models import AuditEntry, BillingIssue, IssueKind, MemberStatus
from tests.billing import deliver_all


@pytest.fixture(scope="module")
def app(sandbox_app):
    return sandbox_app


def _duplicate(client, reader, tap) -> tuple[str, str]:
    """(the subscription kept, the flagged duplicate)."""
    reader.pay(key="first")
    deliver_all(client, tap.new())
    reader.pay(key="other-tab")  # a second checkout in another tab, paid too
    deliver_all(client, tap.new())
    [issue] = db.session.scalars(select(BillingIssue).where(BillingIssue.kind == IssueKind.DUPLICATE_SUBSCRIPTION)).all()
    [kept] = [s["id"] for s in reader.gateway.list_subscriptions(customer=reader.member.stripe_customer_id)
              if s["id"] != issue.stripe_object_id]
    return kept, issue.stripe_object_id


def _charges(reader) -> list:
    sdk = stripe.StripeClient("sk_test_x", base_addresses={"api": reader.sandbox.url})
    return sdk.v1.charges.list({"customer": reader.member.stripe_customer_id}).data


def test_staff_cancel_and_refund_the_duplicate_in_one_click(client, db_session, reader, tap, staff_login):
    kept, duplicate = _duplicate(client, reader, tap)
    issue = db_session.scalars(select(BillingIssue).where(BillingIssue.stripe_object_id == duplicate)).one()
    admin = staff_login("admin")
    page = admin.get(f"/staff/members/{reader.member.id}").get_data(as_text=True)
    assert "Cancel and refund the duplicate" in page
    answer = admin.post(f"/staff/members/{reader.member.id}/duplicates/refund", {"subscription": duplicate})
    assert answer.status_code == 303, answer.get_data(as_text=True)
    # In Stripe: the duplicate is cancelled and its payment refunded; the first one is untouched.
    statuses = {s["id"]: s["status"] for s in reader.gateway.list_subscriptions(
        customer=reader.member.stripe_customer_id, status="all")}
    assert statuses == {kept: "active", duplicate: "canceled"}
    refunded = [c for c in _charges(reader) if c.refunded]
    assert len(refunded) == 1 and refunded[0].amount_refunded == 500
    # Here: still a member, the flag says what was done, and the audit log who did it.
    deliver_all(client, tap.new())
    assert reader.member.status is MemberStatus.ACTIVE
    assert "cancelled and 500 refunded by staff" in issue.detail
    entry = db_session.scalars(select(AuditEntry).where(AuditEntry.action == "subscription.duplicate_refunded")).one()
    assert entry.after["refunded"] == 500
    assert "Cancel and refund the duplicate" not in admin.get(f"/staff/members/{reader.member.id}").get_data(as_text=True)


def test_clicking_twice_refunds_once(client, db_session, reader, tap, staff_login):
    """The refund's idempotency key is the PaymentIntent it refunds, and a refunded payment is
    skipped: a double click, or a retried request, cannot refund twice."""
    _kept, duplicate = _duplicate(client, reader, tap)
    admin = staff_login("admin")
    for _ in range(2):
        admin.post(f"/staff/members/{reader.member.id}/duplicates/refund", {"subscription": duplicate})
    refunded = [c for c in _charges(reader) if c.refunded]
    assert len(refunded) == 1


def test_only_a_flagged_duplicate_can_be_refunded_this_way(client, db_session, reader, tap, staff_login):
    kept, _duplicate_id = _duplicate(client, reader, tap)
    admin = staff_login("admin")
    answer = admin.post(f"/staff/members/{reader.member.id}/duplicates/refund", {"subscription": kept})
    assert answer.status_code == 422
    assert "not a flagged duplicate" in answer.get_data(as_text=True)
    assert [c for c in _charges(reader) if c.refunded] == []


def test_support_staff_cannot_refund(client, db_session, reader, tap, staff_login):
    _kept, duplicate = _duplicate(client, reader, tap)
    support = staff_login("support")
    answer = support.post(f"/staff/members/{reader.member.id}/duplicates/refund", {"subscription": duplicate})
    assert answer.status_code == 403


def test_staff_cancel_membership_ends_every_live_subscription(client, db_session, reader, tap, staff_login):
    """DESIGN.md: "A reader's or staff cancel ends every live subscription of that member"."""
    _duplicate(client, reader, tap)
    admin = staff_login("admin")
    page = admin.get(f"/staff/members/{reader.member.id}").get_data(as_text=True)
    assert "every subscription Stripe could still charge (2)" in page
    answer = admin.post(f"/staff/members/{reader.member.id}/cancel", {"subscription": "all", "when": "period_end"})
    assert answer.status_code == 303, answer.get_data(as_text=True)
    subs = list(reader.gateway.list_subscriptions(customer=reader.member.stripe_customer_id))
    assert len(subs) == 2 and all(s["cancel_at_period_end"] for s in subs)
    entries = db_session.scalars(select(AuditEntry).where(AuditEntry.action == "subscription.cancel_at_period_end")).all()
    assert len(entries) == 2

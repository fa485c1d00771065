"""Cancel, edit and erase: Stripe is asked first, what it returns is stored, and each step is audited."""
from __future__ import annotations

import time
from typing import Any

import pytest

from service.db import utcnow
from service.domain.erasure import erase_member
from service.domain.newsletter import resubscribe
from service.domain.staff_actions import add_note, cancel_subscription, edit_member
from service.errors import Conflict
from service.models import (
    ActivityKind,
    AuditEntry,
    ConsentRecord,
    ConsentSource,
    ListStatus,
    MemberActivity,
    MemberStatus,
    SubscriptionStatus,
)
from tests.factories import make_member, make_staff, make_subscription, plan


class StubStripe:
    """Records calls and answers with subscription objects shaped like the pinned API version's."""

    def __init__(self, member: Any, sub: Any):
        self.member, self.sub, self.calls = member, sub, []

    def _sub(self, status: str, cancel_at_period_end: bool) -> dict[str, Any]:
        p = plan()
        return {"id": self.sub.stripe_subscription_id, "object": "subscription", "status": status,
                "customer": self.member.stripe_customer_id, "created": int(time.time()) - 86400,
                "cancel_at_period_end": cancel_at_period_end, "cancel_at": None, "metadata": {},
                "canceled_at": int(time.time()) if status == "canceled" else None,
                "ended_at": int(time.time()) if status == "canceled" else None,
                "items": {"data": [{"quantity": 1, "current_period_end": int(time.time()) + 86400 * 20,
                                    "price": {"id": p.stripe_price_id or "price_x", "unit_amount": p.amount,
                                              "currency": p.currency, "recurring": {"interval": "month"},
                                              "lookup_key": p.stripe_lookup_key, "product": "prod_x"}}]}}

    def set_cancel_at_period_end(self, sub_id: str, cancel: bool, *, key: str) -> dict[str, Any]:
        self.calls.append(("cancel_at_period_end", sub_id))
        return self._sub("active", cancel)

    def cancel_subscription_now(self, sub_id: str, *, key: str) -> dict[str, Any]:
        self.calls.append(("cancel_now", sub_id))
        return self._sub("canceled", False)

    def update_customer(self, customer_id: str, *, key: str, email: str | None = None,
                        name: str | None = None) -> dict[str, Any]:
        self.calls.append(("update_customer", customer_id, email, name))
        return {"id": customer_id, "email": email, "name": name}


@pytest.fixture
def paying(db_session):
    member = make_member(email="ada@example.org", name="Ada Lovelace", status=MemberStatus.ACTIVE,
                         stripe_customer_id="cus_ada")
    sub = make_subscription(member)
    resubscribe(member, "members-digest", ConsentSource.MEMBERSHIP)
    return member, sub, StubStripe(member, sub)


def test_cancel_at_period_end_keeps_access_and_is_audited(db_session, paying):
    member, sub, stripe = paying
    admin = make_staff("admin")
    cancel_subscription(member.id, sub.stripe_subscription_id, admin, stripe, utcnow(), at_period_end=True)
    assert stripe.calls == [("cancel_at_period_end", sub.stripe_subscription_id)]
    assert sub.cancel_at_period_end and member.status is MemberStatus.ACTIVE
    entry = db_session.query(AuditEntry).filter_by(action="subscription.cancel_at_period_end").one()
    assert entry.before["cancel_at_period_end"] is False and entry.after["cancel_at_period_end"] is True


def test_cancel_now_ends_the_membership_with_the_staff_user_as_cause(db_session, paying):
    member, sub, stripe = paying
    admin = make_staff("admin")
    cancel_subscription(member.id, sub.stripe_subscription_id, admin, stripe, utcnow(), at_period_end=False)
    assert sub.status is SubscriptionStatus.CANCELED and member.status is MemberStatus.LAPSED
    change = db_session.query(MemberActivity).filter_by(member_id=member.id, to_status=MemberStatus.LAPSED).one()
    assert change.staff_user_id == admin.id


def test_editing_the_email_updates_stripe_and_refuses_a_taken_address(db_session, paying):
    member, _sub, stripe = paying
    support = make_staff("support")
    edit_member(member.id, support, stripe, utcnow(), email="Ada@New.example", name="Ada King")
    assert (member.email, member.name) == ("ada@new.example", "Ada King")
    assert stripe.calls == [("update_customer", "cus_ada", "ada@new.example", "Ada King")]
    entry = db_session.query(AuditEntry).filter_by(action="member.edited").one()
    assert (entry.before["email"], entry.after["email"]) == ("ada@example.org", "ada@new.example")
    other = make_member()
    with pytest.raises(Conflict, match="already has the email"):
        edit_member(other.id, support, stripe, utcnow(), email="ada@new.example", name="")


def test_erasing_anonymises_personal_data_cancels_billing_and_keeps_the_records(db_session, paying):
    member, sub, stripe = paying
    admin = make_staff("admin")
    add_note(member.id, admin, "Ada called from +44 20 7946 0000", utcnow())
    erase_member(member.id, admin, stripe, utcnow())
    assert member.email == f"erased-{member.id}@erased.invalid" and member.name == ""
    assert ("cancel_now", sub.stripe_subscription_id) in stripe.calls
    assert ("update_customer", "cus_ada", member.email, "") in stripe.calls
    assert sub.status is SubscriptionStatus.CANCELED  # the billing row stays
    consents = db_session.query(ConsentRecord).filter_by(member_id=member.id).all()
    assert consents and {c.email for c in consents} == {member.email}
    assert [s.status for s in member.list_subscriptions] == [ListStatus.UNSUBSCRIBED]
    note = db_session.query(MemberActivity).filter_by(member_id=member.id, kind=ActivityKind.NOTE).one()
    assert "7946" not in note.detail
    assert all("ada@example.org" not in str(e.before) + str(e.after)
               for e in db_session.query(AuditEntry).filter_by(member_id=member.id))
    with pytest.raises(Conflict, match="already been erased"):
        erase_member(member.id, admin, stripe, utcnow())

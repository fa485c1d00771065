"""Cancel, edit and erase: Stripe is asked first, what it returns is stored, and each step is audited."""
from __future__ import annotations

import pytest

from service.db import utcnow
from service.domain.members.erasure import erase_member
from service.domain.staff.actions import add_note, cancel_subscription, edit_member
from service.errors import Conflict
from service.models import (
    ActivityKind,
    AuditEntry,
    ConsentRecord,
    ListStatus,
    MemberActivity,
    MemberStatus,
    SubscriptionStatus,
)
from tests.factories import make_member, make_staff


@pytest.fixture(scope="module")
def app(sandbox_app):
    """The sandbox-backed app: the `gateway` and paying `reader` are on it (Stripe is the sandbox, over HTTP)."""
    return sandbox_app


def test_cancel_at_period_end_keeps_access_and_is_audited(db_session, paying):
    member, sub, stripe = paying
    admin = make_staff("admin")
    cancel_subscription(member.id, sub.stripe_subscription_id, admin, stripe, utcnow(), at_period_end=True)
    assert stripe.retrieve_subscription(sub.stripe_subscription_id)["cancel_at_period_end"] is True
    assert sub.cancel_at_period_end and member.status is MemberStatus.ACTIVE
    entry = db_session.query(AuditEntry).filter_by(action="subscription.cancel_at_period_end").one()
    assert entry.before["cancel_at_period_end"] is False and entry.after["cancel_at_period_end"] is True


def test_cancel_now_ends_the_membership_with_the_staff_user_as_cause(db_session, paying):
    member, sub, stripe = paying
    admin = make_staff("admin")
    cancel_subscription(member.id, sub.stripe_subscription_id, admin, stripe, utcnow(), at_period_end=False)
    assert stripe.retrieve_subscription(sub.stripe_subscription_id)["status"] == "canceled"
    assert sub.status is SubscriptionStatus.CANCELED and member.status is MemberStatus.LAPSED
    change = db_session.query(MemberActivity).filter_by(member_id=member.id, to_status=MemberStatus.LAPSED).one()
    assert change.staff_user_id == admin.id


def test_editing_the_email_updates_stripe_and_refuses_a_taken_address(db_session, paying):
    member, _sub, stripe = paying
    admin = make_staff("admin")
    old_email = member.email
    edit_member(member.id, admin, stripe, utcnow(), email="Ada@New.example", name="Ada King", override=True)
    assert (member.email, member.name) == ("ada@new.example", "Ada King")
    customer = stripe.retrieve_customer(member.stripe_customer_id)
    assert (customer["email"], customer["name"]) == ("ada@new.example", "Ada King")
    entry = db_session.query(AuditEntry).filter_by(action="member.email_changed_by_override").one()
    assert (entry.before["email"], entry.after["email"]) == (old_email, "ada@new.example")
    other = make_member()
    with pytest.raises(Conflict, match="already has the email"):
        edit_member(other.id, make_staff("support"), stripe, utcnow(), email="ada@new.example", name="")


def test_erasing_anonymises_personal_data_cancels_billing_and_keeps_the_records(db_session, paying):
    member, sub, stripe = paying
    admin = make_staff("admin")
    old_email = member.email
    add_note(member.id, admin, "Ada called from +44 20 7946 0000", utcnow())
    erase_member(member.id, admin, stripe, utcnow())
    assert member.email == f"erased-{member.id}@erased.invalid" and member.name == ""
    assert stripe.retrieve_subscription(sub.stripe_subscription_id)["status"] == "canceled"
    customer = stripe.retrieve_customer(member.stripe_customer_id)
    assert (customer["email"], customer["name"]) == (member.email, None)  # Stripe clears a field set to ""
    assert sub.status is SubscriptionStatus.CANCELED  # the billing row stays
    consents = db_session.query(ConsentRecord).filter_by(member_id=member.id).all()
    assert consents and {c.email for c in consents} == {member.email}
    assert [s.status for s in member.list_subscriptions] == [ListStatus.UNSUBSCRIBED]
    note = db_session.query(MemberActivity).filter_by(member_id=member.id, kind=ActivityKind.NOTE).one()
    assert "7946" not in note.detail
    assert all(old_email not in str(e.before) + str(e.after)
               for e in db_session.query(AuditEntry).filter_by(member_id=member.id))
    with pytest.raises(Conflict, match="already been erased"):
        erase_member(member.id, admin, stripe, utcnow())


def test_erasing_strips_stripe_event_contents_and_unsent_emails(db_session, paying):
    from service.db import utcnow as now
    from service.domain.emails import queue_membership_ended
    from service.models import OutboxMessage, StripeEvent

    member, _sub, stripe = paying
    old_email = member.email
    db_session.add(StripeEvent(stripe_event_id="evt_erase1", type="invoice.paid", livemode=False,
                               stripe_created_at=now(), member_id=member.id,
                               payload={"id": "evt_erase1", "type": "invoice.paid",
                                        "data": {"object": {"id": "in_1", "object": "invoice",
                                                            "customer_email": old_email}}}))
    queue_membership_ended(member, now())
    db_session.commit()
    erase_member(member.id, make_staff("admin"), stripe, now())
    event = db_session.query(StripeEvent).filter_by(stripe_event_id="evt_erase1").one()
    assert old_email not in str(event.payload) and event.payload["data"]["object"]["id"] == "in_1"
    unsent = db_session.query(OutboxMessage).filter(OutboxMessage.topic == "email",
                                                   OutboxMessage.key == f"email:member:{member.id}").all()
    assert all(old_email not in str(m.payload) for m in unsent)


def test_a_new_email_takes_the_digest_along_and_the_provider_moves_it(db_session, paying):
    from service.models import ListSubscription, OutboxMessage

    member, _sub, stripe = paying
    old_email = member.email
    edit_member(member.id, make_staff("admin"), stripe, utcnow(), email="moved@example.org", name=member.name,
                override=True)
    [digest] = db_session.query(ListSubscription).filter_by(member_id=member.id).all()
    assert digest.email == "moved@example.org" and digest.status is ListStatus.SUBSCRIBED
    syncs = db_session.query(OutboxMessage).filter(OutboxMessage.topic == "newsletter.sync").order_by(OutboxMessage.id).all()
    changes = [(m.payload["email"], m.payload["status"]) for m in syncs[-2:]]
    assert changes == [(old_email, "unsubscribed"), ("moved@example.org", "subscribed")]


def test_cancel_at_period_end_releases_a_schedule_first(db_session, paying):
    """Stripe refuses `cancel_at_period_end` on a subscription a schedule manages ("updating any
    cancelation behavior directly is not allowed", https://github.com/laravel/cashier-stripe/issues/1748);
    the schedule is released first (https://docs.stripe.com/api/subscription_schedules/release)."""
    member, sub, stripe = paying
    current = stripe.retrieve_subscription(sub.stripe_subscription_id)
    stripe.change_price_at_renewal(current, price_id=current["items"]["data"][0]["price"]["id"], key="staff-test")
    assert stripe.retrieve_subscription(sub.stripe_subscription_id)["schedule"]
    cancel_subscription(member.id, sub.stripe_subscription_id, make_staff("admin"), stripe, utcnow(), at_period_end=True)
    fresh = stripe.retrieve_subscription(sub.stripe_subscription_id)
    assert fresh["cancel_at_period_end"] is True and fresh["schedule"] is None and sub.cancel_at_period_end

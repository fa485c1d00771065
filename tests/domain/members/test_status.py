"""Member status changes leave a timeline row; members are found by email whatever its case."""
from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from service.domain.members.status import find_by_email, refresh_status, set_status
from service.models import ActivityKind, MemberActivity, MemberStatus, SubscriptionStatus
from tests.factories import make_member, make_staff, make_subscription

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def timeline(db_session, member):
    return list(db_session.scalars(select(MemberActivity).where(MemberActivity.member_id == member.id)))


def test_set_status_records_from_to_and_cause(db_session):
    member = make_member()
    staff = make_staff(role="support")

    changed = set_status(member, MemberStatus.COMPED, NOW, staff_user_id=staff.id, detail="press pass")

    assert changed is True
    assert member.status is MemberStatus.COMPED
    assert member.status_changed_at == NOW
    [row] = timeline(db_session, member)
    assert (row.kind, row.from_status, row.to_status) == (
        ActivityKind.STATUS_CHANGED, MemberStatus.PENDING, MemberStatus.COMPED)
    assert (row.staff_user_id, row.stripe_event_id, row.detail) == (staff.id, None, "press pass")
    assert row.created_at == NOW


def test_setting_the_same_status_again_records_nothing(db_session):
    member = make_member(status=MemberStatus.ACTIVE)
    assert set_status(member, MemberStatus.ACTIVE, NOW, stripe_event_id="evt_1") is False
    assert timeline(db_session, member) == []


def test_refresh_status_derives_from_subscriptions_and_names_the_event(db_session):
    member = make_member()
    make_subscription(member, SubscriptionStatus.ACTIVE)

    assert refresh_status(member, NOW, stripe_event_id="evt_paid") is True
    assert refresh_status(member, NOW, stripe_event_id="evt_again") is False

    [row] = timeline(db_session, member)
    assert (row.from_status, row.to_status, row.stripe_event_id) == (
        MemberStatus.PENDING, MemberStatus.ACTIVE, "evt_paid")


def test_find_by_email_ignores_case_and_spaces(db_session):
    ada = make_member(email="ada@example.org")
    assert find_by_email("  ADA@Example.ORG ") is ada
    assert find_by_email("ada@example.com") is None

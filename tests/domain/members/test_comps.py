"""Comps: status, timeline, the members' digest and the audit log follow a staff member's grant or end."""
from __future__ import annotations

from datetime import timedelta

import pytest

from service.db import utcnow
from service.domain.members.access import has_access
from service.domain.members.comps import end_comp, grant_comp
from service.errors import ValidationFailed
from service.models import ActivityKind, AuditEntry, ListStatus, MemberActivity, MemberStatus
from tests.factories import make_member, make_staff


def test_a_comp_gives_access_a_timeline_line_the_digest_and_an_audit_entry(db_session):
    staff, member, now = make_staff("support"), make_member(), utcnow()
    grant_comp(member.id, staff, now, until=now + timedelta(days=30))
    assert member.status is MemberStatus.COMPED and has_access(member, now)
    change = db_session.query(MemberActivity).filter_by(member_id=member.id, kind=ActivityKind.STATUS_CHANGED).one()
    assert (change.to_status, change.staff_user_id) == (MemberStatus.COMPED, staff.id)
    assert [s.status for s in member.list_subscriptions] == [ListStatus.SUBSCRIBED]
    entry = db_session.query(AuditEntry).filter_by(member_id=member.id).one()
    assert entry.action == "member.comp_granted" and entry.staff_user_id == staff.id
    assert entry.before["status"] == "pending" and entry.after["status"] == "comped"
    assert entry.after["comp_until"].startswith((now + timedelta(days=30)).date().isoformat())


def test_ending_a_comp_takes_access_away_and_lapses_the_digest(db_session):
    staff, member, now = make_staff("support"), make_member(), utcnow()
    grant_comp(member.id, staff, now)
    end_comp(member.id, staff, now + timedelta(seconds=1))
    assert member.status is MemberStatus.LAPSED and not has_access(member, now + timedelta(seconds=2))
    db_session.expire(member, ["list_subscriptions"])
    assert [s.status for s in member.list_subscriptions] == [ListStatus.LAPSED]
    assert {e.action for e in db_session.query(AuditEntry).filter_by(member_id=member.id)} == {
        "member.comp_granted", "member.comp_ended"}


def test_a_comp_ending_in_the_past_is_refused(db_session):
    with pytest.raises(ValidationFailed, match="future"):
        grant_comp(make_member().id, make_staff("support"), utcnow(), until=utcnow() - timedelta(days=1))


def test_ending_a_comp_that_is_not_running_is_refused(db_session):
    with pytest.raises(ValidationFailed, match="no complimentary membership"):
        end_comp(make_member().id, make_staff("support"), utcnow())

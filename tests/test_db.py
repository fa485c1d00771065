"""Timestamps go in aware, come out aware and in UTC, on SQLite and PostgreSQL alike."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy.exc import StatementError

from service.models import Member
from tests.factories import make_member

BERLIN_WINTER = timezone(timedelta(hours=1))


def reread(db_session, member: Member) -> Member:
    db_session.flush()
    db_session.expire_all()
    return db_session.get(Member, member.id)


def test_an_aware_time_comes_back_as_the_same_instant_in_utc(db_session):
    given = datetime(2026, 12, 1, 13, 30, 15, 123456, tzinfo=BERLIN_WINTER)
    member = reread(db_session, make_member(comp_since=given))
    assert member.comp_since == given
    assert member.comp_since.tzinfo is not None
    assert member.comp_since.utcoffset() == timedelta(0)
    assert member.comp_since.hour == 12


def test_default_timestamps_are_aware_utc(db_session):
    member = reread(db_session, make_member())
    for value in (member.created_at, member.updated_at, member.status_changed_at):
        assert value.utcoffset() == timedelta(0)
        assert abs(datetime.now(UTC) - value) < timedelta(minutes=5)


def test_a_naive_time_is_refused(db_session):
    with pytest.raises(StatementError, match="naive datetime"), db_session.begin_nested():
        make_member(comp_since=datetime(2026, 12, 1, 12, 0))

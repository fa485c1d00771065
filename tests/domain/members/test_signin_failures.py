"""Wrong sign-in codes are counted per address in the database, across every token, in a window.

The attack: each new sign-in email reset the count of wrong codes (5 per token), so an attacker
who asked for a new email every five guesses was never stopped; the counts lived only in one
token each, and the rate limits in one process's memory.
"""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from service.db import utcnow
from service.domain.members.signin import end_reader_sessions, issue, redeem_code
from service.models.reader import SigninFailure
from tests.factories import make_member


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 10 ** len(code):0{len(code)}d}"


def test_wrong_codes_across_tokens_lock_the_code_but_not_the_member(app, db_session):
    """Ten wrong codes spread over four tokens, then the right code of a fifth: refused."""
    member, now = make_member(email="locked@example.org"), utcnow()
    for n in range(10):
        if n % 3 == 0:
            _token, code = issue(member, now)
        result = redeem_code("Locked@Example.org", wrong(code), now)
        assert result.member is None and result.too_many is (n == 9)
    _token, code = issue(member, now)
    assert len(code) == 8
    refused = redeem_code("locked@example.org", code, now)
    assert refused.member is None and refused.too_many
    count = db_session.scalar(select(func.count()).select_from(SigninFailure))
    assert count == 10, "refused codes are not counted: the table cannot be grown past the limit"


def test_failures_older_than_the_window_no_longer_count(app, db_session):
    """The window slides: ten wrong codes a day and an hour ago stop counting, and are deleted."""
    member, now = make_member(email="patient@example.org"), utcnow()
    hours = app.config["SIGNIN_CODE_WINDOW_HOURS"]
    then = now - timedelta(hours=hours, minutes=1)
    _token, code = issue(member, then)
    for _ in range(10):
        redeem_code("patient@example.org", wrong(code), then)
    _token, code = issue(member, now)
    assert redeem_code("patient@example.org", wrong(code), now).too_many is False
    assert db_session.scalar(select(func.count()).select_from(SigninFailure)) == 1
    assert redeem_code("patient@example.org", code, now).member is member


def test_ending_sessions_bumps_the_version(app, db_session):
    member = make_member()
    assert member.session_version == 0
    end_reader_sessions(member)
    end_reader_sessions(member)
    assert member.session_version == 2

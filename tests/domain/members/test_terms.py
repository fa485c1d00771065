"""Term memberships (a one-time gift's months) in DESIGN.md's status table: active with access
until the term ends, with no subscription; then lapsed; a comp or a subscription still decides
when it grants more. In-memory members, no database."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from service.domain.members.access import access_source, access_until, derive_status, has_access
from service.domain.members.terms import add_months
from service.models import Member, MemberStatus, Subscription, SubscriptionStatus

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
DAY = timedelta(days=1)


def member(*subs: Subscription, term: tuple[datetime, datetime] | None = None,
           comp: tuple[datetime, datetime | None] | None = None) -> Member:
    m = Member(email="reader@example.org", status=MemberStatus.PENDING, status_changed_at=NOW - DAY,
               subscriptions=list(subs), term_since=term[0] if term else None, term_until=term[1] if term else None,
               comp_since=comp[0] if comp else None, comp_until=comp[1] if comp else None)
    m.status = derive_status(m, NOW)
    return m


def test_a_running_term_is_an_active_member_with_access_until_it_ends():
    m = member(term=(NOW - DAY, NOW + 30 * DAY))
    assert m.status is MemberStatus.ACTIVE and has_access(m, NOW)
    assert access_source(m, NOW) == "term" and access_until(m) == NOW + 30 * DAY
    assert not has_access(m, NOW + 30 * DAY)


def test_an_ended_term_is_lapsed():
    m = member(term=(NOW - 60 * DAY, NOW - DAY))
    assert m.status is MemberStatus.LAPSED and not has_access(m, NOW) and access_source(m, NOW) is None


def test_a_cancelled_subscription_does_not_hide_a_running_term():
    ended = Subscription(status=SubscriptionStatus.CANCELED, current_period_end=NOW - 10 * DAY,
                         cancel_at_period_end=False, stripe_created_at=NOW - 90 * DAY)
    m = member(ended, term=(NOW - DAY, NOW + 30 * DAY))
    assert m.status is MemberStatus.ACTIVE and access_source(m, NOW) == "term" and access_until(m) == NOW + 30 * DAY
    assert not has_access(m, NOW + 31 * DAY), "the cancelled subscription grants nothing after the term"


def test_a_subscription_that_renews_is_the_source_even_with_a_term():
    sub = Subscription(status=SubscriptionStatus.ACTIVE, current_period_end=NOW + 20 * DAY, cancel_at_period_end=False,
                       stripe_created_at=NOW - 10 * DAY)
    m = member(sub, term=(NOW - DAY, NOW + 90 * DAY))
    assert access_source(m, NOW) == "subscription" and access_until(m) == NOW + 20 * DAY


def test_a_term_bought_while_cancelling_carries_access_past_the_period_end():
    sub = Subscription(status=SubscriptionStatus.ACTIVE, current_period_end=NOW + 5 * DAY, cancel_at_period_end=True,
                       stripe_created_at=NOW - 10 * DAY)
    m = member(sub, term=(NOW - DAY, NOW + 60 * DAY))
    assert access_until(m) == NOW + 60 * DAY and has_access(m, NOW + 30 * DAY)


def test_a_comp_takes_over_when_the_term_ends():
    m = member(term=(NOW - 60 * DAY, NOW - DAY), comp=(NOW - 90 * DAY, None))
    assert m.status is MemberStatus.COMPED and access_source(m, NOW) == "comp"


@pytest.mark.parametrize(("start", "months", "end"), [
    (datetime(2026, 1, 31, tzinfo=UTC), 1, datetime(2026, 2, 28, tzinfo=UTC)),
    (datetime(2026, 11, 15, tzinfo=UTC), 3, datetime(2027, 2, 15, tzinfo=UTC)),
    (datetime(2026, 3, 31, tzinfo=UTC), -1, datetime(2026, 2, 28, tzinfo=UTC)),
    (datetime(2024, 1, 31, tzinfo=UTC), 13, datetime(2025, 2, 28, tzinfo=UTC)),
])
def test_months_are_calendar_months_clamped_to_the_last_day(start, months, end):
    assert add_months(start, months) == end

"""Retention by join-month cohort and churn by cause, on hand-made status timelines.

The day is fixed at 2026-07-15, so the cohorts run 2024-08 .. 2026-07 and a cohort of month M
is complete for k months once July >= M + 1 + k. Days stay at or below the 28th, where
PostgreSQL and SQLite add months alike.
"""
from __future__ import annotations

from datetime import UTC, datetime
from fractions import Fraction

from service.domain.insight.retention import churn, cohorts
from service.extensions import db
from service.models import ActivityKind, MemberActivity, MemberStatus, SubscriptionStatus
from tests.factories import make_member, make_subscription

NOW = datetime(2026, 7, 15, 12, tzinfo=UTC)
A, P, C, L, PE = (MemberStatus.ACTIVE, MemberStatus.PAST_DUE, MemberStatus.COMPED, MemberStatus.LAPSED,
                  MemberStatus.PENDING)


def day(y: int, m: int, d: int) -> datetime:
    return datetime(y, m, d, 9, tzinfo=UTC)


def timeline(*changes: tuple[datetime, MemberStatus, MemberStatus], **fields: object):
    """A member whose status changed as given: (when, from, to)."""
    member = make_member(status=changes[-1][2], **fields)
    for when, old, new in changes:
        db.session.add(MemberActivity(member_id=member.id, kind=ActivityKind.STATUS_CHANGED, from_status=old,
                                      to_status=new, created_at=when))
    # Lines that are not status changes never count.
    db.session.add(MemberActivity(member_id=member.id, kind=ActivityKind.NOTE, created_at=changes[0][0]))
    db.session.flush()
    return member


def by_month(found):
    return {c.month: c for c in found}


def test_cohorts_count_who_is_still_a_member_k_months_after_first_activation(db_session):
    # January 2026: three joins.
    timeline((day(2026, 1, 10), PE, A))  # stays: kept at 1, 2, 3
    timeline((day(2026, 1, 12), PE, A), (day(2026, 2, 20), A, L))  # Feb 12 active; Mar 12 lapsed
    timeline((day(2026, 1, 20), PE, A), (day(2026, 2, 18), A, P), (day(2026, 2, 25), P, A), (day(2026, 4, 25), A, L))
    #   Feb 20 past_due (still a member), Mar 20 active, Apr 20 active (lapses Apr 25)
    # December 2025: first active Dec 20, lapsed, back on Jan 5, lapsed again May 1.
    timeline((day(2025, 12, 20), PE, A), (day(2025, 12, 28), A, L), (day(2026, 1, 5), L, A), (day(2026, 5, 1), A, L))
    # July 2025: active, then comped (still a member).
    timeline((day(2025, 7, 3), PE, A), (day(2025, 9, 1), A, C))
    # May 2025: old enough for twelve months; lapsed Apr 1 2026.
    timeline((day(2025, 5, 10), PE, A), (day(2026, 4, 1), A, L))
    timeline((day(2024, 1, 5), PE, A))  # joined before the 24 months shown
    make_member()  # pending, never active: in no cohort

    found = by_month(cohorts(NOW))
    assert list(found)[0] == "2024-08" and list(found)[-1] == "2026-07" and len(found) == 24

    jan = found["2026-01"]
    # Complete for k <= 7 - 1 - 1 = 5: k = 1, 2, 3.  1: 3 of 3;  2: 2 of 3 (Jan 12 lapsed);  3: 2 of 3
    assert (jan.size, jan.retained) == (3, {1: 3, 2: 2, 3: 2, 6: None, 12: None})
    assert jan.share(2) == Fraction(2, 3) and jan.share(6) is None

    dec = found["2025-12"]
    # Complete for k <= 6.  Jan 20 active, Feb 20 active, Mar 20 active, Jun 20 lapsed (May 1)
    assert (dec.size, dec.retained) == (1, {1: 1, 2: 1, 3: 1, 6: 0, 12: None})

    jul = found["2025-07"]  # Aug 3 active, Sep 3 comped, Oct 3 comped, Jan 3 comped; 12 not yet (Jul 3 + 12 = Jul 2026)
    assert (jul.size, jul.retained) == (1, {1: 1, 2: 1, 3: 1, 6: 1, 12: None})

    may = found["2025-05"]  # complete for every k: Nov 10 2025 active; May 10 2026 lapsed (Apr 1)
    assert (may.size, may.retained) == (1, {1: 1, 2: 1, 3: 1, 6: 1, 12: 0})

    assert found["2026-02"].size == 0 and found["2026-02"].retained[1] is None


def test_churn_is_split_by_why_members_left(db_session):
    # March 2026
    timeline((day(2025, 11, 2), PE, A), (day(2026, 2, 1), A, P), (day(2026, 3, 3), P, L))  # payments failed
    timeline((day(2026, 3, 4), PE, L))  # first payment never went through (incomplete_expired)
    cancelled = timeline((day(2025, 10, 2), PE, A), (day(2026, 3, 5), A, L))
    make_subscription(cancelled, SubscriptionStatus.CANCELED, created=day(2025, 10, 2), ended_at=day(2026, 3, 5))
    # April 2026
    unpaid = timeline((day(2025, 10, 2), PE, A), (day(2026, 4, 2), A, L))
    make_subscription(unpaid, SubscriptionStatus.UNPAID, created=day(2025, 10, 2))
    timeline((day(2025, 10, 2), PE, C), (day(2026, 4, 3), C, L))  # a comp ran out
    timeline((day(2026, 1, 2), PE, A), (day(2026, 4, 4), A, L), term_until=day(2026, 4, 4))  # a gift term ran out
    # Cancelled in 2025 (voluntary then), came back on a gift term that ran out in April: ended.
    back = timeline((day(2024, 10, 2), PE, A), (day(2025, 1, 2), A, L), (day(2026, 1, 6), L, A), (day(2026, 4, 6), A, L),
                    term_until=day(2026, 4, 6))
    make_subscription(back, SubscriptionStatus.CANCELED, created=day(2024, 10, 2), ended_at=day(2025, 1, 2))
    timeline((day(2025, 1, 2), PE, A), (day(2025, 6, 2), A, L))  # before the twelve months shown

    found = by_month(churn(NOW))
    assert list(found)[0] == "2025-08" and list(found)[-1] == "2026-07"
    march, april = found["2026-03"], found["2026-04"]
    assert (march.voluntary, march.involuntary, march.ended) == (1, 2, 0)
    assert (april.voluntary, april.involuntary, april.ended) == (0, 1, 3)
    assert sum(c.total for c in found.values()) == 7

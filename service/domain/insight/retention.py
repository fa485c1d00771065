"""Who stays: retention by join-month cohort, and churn split by why members left.

Both read the status timeline (`member_activity` rows with a `to_status`), which records every
change of status with its time, so "was this person a member on that day?" has an answer for
any day in the past.

- A member **joins** when they first become `active` (their first paid or activated day); their
  cohort is that calendar month (UTC).
- They are **still a member** `k` months later if on that day (joined + k calendar months) their
  status was active, past_due (Stripe still retrying) or comped.
- A cohort's cell for `k` is only given once every member of the cohort is `k` months in.

Churn counts the changes to `lapsed` in each month, split by cause:

    involuntary  from past_due (payments failed until Stripe gave up) or from pending (a first
                 payment that never went through: incomplete_expired), or the subscription
                 in force ended unpaid, incomplete_expired or paused (a trial with no card)
    voluntary    the subscription in force was cancelled (by the reader, or staff for them)
    ended        a comp or a term bought with a one-time gift or gift membership ran out
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from fractions import Fraction
from typing import Any

from sqlalchemy import ColumnElement, Subquery, and_, case, func, or_, select

from service.domain.insight.periods import key_of, month_key, months, months_after, number_of, start_of
from service.extensions import db
from service.models import Member, MemberActivity, MemberStatus, Subscription, SubscriptionStatus

OFFSETS = (1, 2, 3, 6, 12)
COHORT_MONTHS = 24
CHURN_MONTHS = 12
MEMBER = (MemberStatus.ACTIVE, MemberStatus.PAST_DUE, MemberStatus.COMPED)
INVOLUNTARY_ENDS = (SubscriptionStatus.UNPAID, SubscriptionStatus.INCOMPLETE_EXPIRED, SubscriptionStatus.PAUSED)
CAUSES = ("voluntary", "involuntary", "ended")


@dataclass
class Cohort:
    """Members who joined in `month`, and how many were still members k months later (None
    until the whole cohort is k months in)."""

    month: str
    size: int = 0
    retained: dict[int, int | None] = field(default_factory=dict)

    def share(self, k: int) -> Fraction | None:
        kept = self.retained.get(k)
        return None if kept is None or not self.size else Fraction(kept, self.size)


def _spells(since: datetime, until: datetime) -> Subquery:
    """The status timeline of every member activated in [since, until), one row per status with
    when it began and ended, and the member's first activation (which may be earlier).

    Members come from the period's activations (index on to_status, created_at); each one's
    statuses are read through the partial index on (member_id, created_at) of status changes, in
    order, so one window pass gives each status its end and each member its join."""
    a = MemberActivity
    activated = select(a.member_id).where(a.to_status == MemberStatus.ACTIVE, a.created_at >= since,
                                          a.created_at < until)
    joined_at = func.min(case((a.to_status == MemberStatus.ACTIVE, a.created_at))).over(partition_by=a.member_id)
    # Each "joined + k months" once per row here (PostgreSQL would repeat an expression used thrice below).
    marks = [months_after(joined_at, months(k)).label(f"mark_{k}") for k in OFFSETS]
    return (select(a.member_id, a.to_status, a.created_at.label("since"),
                   func.lead(a.created_at).over(partition_by=a.member_id, order_by=(a.created_at, a.id)).label("until"),
                   joined_at.label("joined_at"), *marks)
            .where(a.to_status.is_not(None), a.member_id.in_(activated)).subquery("spells"))


def _retained(c: Any, k: int, now: datetime) -> ColumnElement[int]:
    """Counts the spells (status, since, until) in which the member was a member on joined + k
    months, once that day has come: at most one per member."""
    mark = c[f"mark_{k}"]
    inside = and_(c.to_status.in_(MEMBER), c.since <= mark, or_(c.until.is_(None), c.until > mark), mark <= now)
    return func.sum(case((inside, 1), else_=0))


def cohorts(now: datetime, *, count: int = COHORT_MONTHS) -> list[Cohort]:
    """The last `count` join months (this one included), oldest first: one query."""
    this = number_of(now)
    first = this - count + 1
    s = _spells(start_of(first), start_of(this + 1))
    cohort = month_key(s.c.joined_at)
    # Each member's first activation is one spell (set_status records changes only), so counting those
    # sizes the cohort without a COUNT(DISTINCT), which would force a sort of every spell.
    joins = func.sum(case((and_(s.c.since == s.c.joined_at, s.c.to_status == MemberStatus.ACTIVE), 1), else_=0))
    rows = db.session.execute(
        select(cohort, joins, *(_retained(s.c, k, now) for k in OFFSETS))
        .where(s.c.joined_at >= start_of(first), s.c.to_status.in_(MEMBER)).group_by(cohort))
    found = {key_of(n): Cohort(key_of(n), retained=dict.fromkeys(OFFSETS)) for n in range(first, this + 1)}
    for month, size, *kept in rows:
        n = first + list(found).index(month)
        found[month].size = size
        for k, retained in zip(OFFSETS, kept, strict=True):
            if this >= n + 1 + k:  # every member of the cohort is k months in
                found[month].retained[k] = int(retained or 0)
    return list(found.values())


@dataclass
class Churn:
    """Members who lapsed in `month`, by cause."""

    month: str
    voluntary: int = 0
    involuntary: int = 0
    ended: int = 0

    @property
    def total(self) -> int:
        return self.voluntary + self.involuntary + self.ended


def _cause() -> ColumnElement[str]:
    """Why a lapse happened, from where it came from and the subscription in force then."""
    a, sub = MemberActivity, Subscription
    term_ran_out = and_(Member.term_until.is_not(None), Member.term_until <= a.created_at,
                        or_(sub.ended_at.is_(None), sub.ended_at < Member.term_until))
    by_subscription = (select(case((sub.status.in_(INVOLUNTARY_ENDS), "involuntary"),
                                   (and_(sub.status == SubscriptionStatus.CANCELED, ~term_ran_out), "voluntary"),
                                   else_="ended"))
                       .where(sub.member_id == a.member_id, sub.stripe_created_at <= a.created_at)
                       .order_by(sub.stripe_created_at.desc(), sub.id.desc()).limit(1)
                       .correlate(a, Member).scalar_subquery())
    return case((a.from_status.in_([MemberStatus.PAST_DUE, MemberStatus.PENDING]), "involuntary"),
                (a.from_status == MemberStatus.COMPED, "ended"), else_=func.coalesce(by_subscription, "ended"))


def churn(now: datetime, *, count: int = CHURN_MONTHS) -> list[Churn]:
    """Lapses per month for the last `count` months (this one included), oldest first."""
    this = number_of(now)
    first = this - count + 1
    a = MemberActivity
    month, cause = month_key(a.created_at), _cause()
    rows = db.session.execute(
        select(month, cause, func.count()).join(Member, Member.id == a.member_id)
        .where(a.to_status == MemberStatus.LAPSED, a.created_at >= start_of(first), a.created_at < start_of(this + 1))
        .group_by(month, cause))
    found = {key_of(n): Churn(key_of(n)) for n in range(first, this + 1)}
    for name, why, n in rows:
        setattr(found[name], why, getattr(found[name], why) + n)
    return list(found.values())

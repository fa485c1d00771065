"""The numbers on the staff dashboard and behind `GET /api/v1/stats`.

`load` gives what staff watch live (members by status, weeks, recurring revenue, failing
payments, comps ending, webhook health): each one aggregate query over an indexed column.
`long_figures` gives the twelve-month figures (contributions, campaigns, and the insight:
cohorts, churn, recovery, movements), which read the big tables and at a million members take
seconds; `snapshots.py` keeps their last result when they do. Weeks start on Monday, UTC.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from fractions import Fraction

from sqlalchemy import func, select

from service.domain.insight import figures
from service.domain.insight.contributions import GivingFigures, giving_figures
from service.domain.insight.figures import Insight
from service.domain.insight.fx import Converted, Rates, converted_total
from service.domain.insight.periods import for_reports
from service.domain.members.access import GRANTING
from service.extensions import db
from service.models import (
    InboxStatus,
    Interval,
    Member,
    MemberActivity,
    MemberStatus,
    OutboxMessage,
    OutboxStatus,
    Plan,
    StripeEvent,
    Subscription,
    SubscriptionStatus,
)

WEEKS = 12
COMPS_SOON = timedelta(days=14)
PAYING = (*GRANTING, SubscriptionStatus.PAST_DUE)  # still billed: counts towards recurring revenue


@dataclass
class Week:
    start: datetime
    joins: int
    lapses: int


@dataclass
class Revenue:
    plan: str
    currency: str
    monthly: int  # minor units per month; yearly plans count a twelfth
    subscriptions: int
    # The same in the reporting currency: a projection, so with FX_RATES (None: no rate for it).
    converted: Converted | None = None


@dataclass
class Dashboard:
    by_status: dict[str, int]
    weeks: list[Week]
    revenue: list[Revenue]
    past_due: list[Member]
    past_due_count: int
    comps_ending: list[Member]
    webhooks: dict[str, object] = field(default_factory=dict)
    reporting: str = ""  # the reporting currency of the converted amounts

    @property
    def revenue_converted(self) -> int:
        """Monthly recurring revenue in the reporting currency (the plans that have a rate)."""
        return converted_total([r.converted for r in self.revenue if r.converted is not None])


@dataclass
class LongFigures:
    """The dashboard's twelve-month figures (DESIGN.md "Insight and retention")."""

    giving: GivingFigures  # contributions this month and over twelve, campaigns by revenue and joins
    insight: Insight  # retention, churn, recovery, movements, campaigns, currencies, cancel reasons


def week_start(now: datetime) -> datetime:
    monday = now.date() - timedelta(days=now.weekday())
    return datetime.combine(monday, time.min, tzinfo=UTC)


def by_status() -> dict[str, int]:
    counts = dict(db.session.execute(select(Member.status, func.count()).group_by(Member.status)).all())
    return {str(s): counts.get(s, 0) for s in MemberStatus}


def _count(query) -> int:  # noqa: ANN001
    return db.session.scalar(query) or 0


def weeks(now: datetime, n: int = WEEKS) -> list[Week]:
    """Joins (members created) and lapses (status changes to lapsed) per week, oldest first."""
    first = week_start(now) - timedelta(weeks=n - 1)
    out = []
    for i in range(n):
        start, end = first + timedelta(weeks=i), first + timedelta(weeks=i + 1)
        joins = _count(select(func.count()).select_from(Member).where(Member.created_at >= start, Member.created_at < end))
        lapses = _count(select(func.count()).select_from(MemberActivity).where(
            MemberActivity.to_status == MemberStatus.LAPSED, MemberActivity.created_at >= start,
            MemberActivity.created_at < end))
        out.append(Week(start, joins, lapses))
    return out


# Months in one interval: a year of 365.25 days has 12 months, 52.178571... weeks.
MONTHS_PER = {Interval.DAY: Fraction(12, 36525) * 100, Interval.WEEK: Fraction(12 * 7 * 100, 36525),
              Interval.MONTH: Fraction(1), Interval.YEAR: Fraction(12)}


def monthly_amount(amount: int, interval: Interval, interval_count: int = 1) -> Fraction:
    """An amount billed every `interval_count` `interval`s, as an exact amount per month."""
    return Fraction(amount) / (MONTHS_PER[interval] * max(interval_count, 1))


def revenue(rates: Rates | None = None) -> list[Revenue]:
    """Monthly recurring revenue by plan and currency, from subscriptions still being billed, and
    in the reporting currency with FX_RATES (no payment has priced it yet)."""
    rates = rates or Rates.configured()
    rows = db.session.execute(
        select(Plan.code, Subscription.currency, Subscription.interval, Subscription.interval_count,
               func.sum(Subscription.amount), func.count())
        .outerjoin(Plan, Plan.id == Subscription.plan_id).where(Subscription.status.in_(PAYING))
        .group_by(Plan.code, Subscription.currency, Subscription.interval, Subscription.interval_count))
    totals: dict[tuple[str, str], list[Fraction]] = defaultdict(lambda: [Fraction(0), Fraction(0)])
    for code, currency, interval, interval_count, amount, count in rows:
        totals[(code or "other", currency)][0] += monthly_amount(amount, interval, interval_count)
        totals[(code or "other", currency)][1] += count
    found = [Revenue(plan, cur, round(v[0]), int(v[1])) for (plan, cur), v in sorted(totals.items())]
    for row in found:
        rate, source = rates.fallback(row.currency)
        row.converted = Converted(row.currency, source)
        row.converted.add(row.monthly, rate, rates.reporting)
    return found


def webhook_health() -> dict[str, object]:
    outbox = dict(db.session.execute(select(OutboxMessage.status, func.count()).where(
        OutboxMessage.status.in_([OutboxStatus.PENDING, OutboxStatus.DEAD])).group_by(OutboxMessage.status)).all())
    return {
        "last_event_at": db.session.scalar(select(func.max(StripeEvent.received_at))),
        "failed_events": _count(select(func.count()).select_from(StripeEvent).where(
            StripeEvent.status == InboxStatus.FAILED)),
        "dead_events": _count(select(func.count()).select_from(StripeEvent).where(
            StripeEvent.status == InboxStatus.DEAD)),
        "waiting_events": _count(select(func.count()).select_from(StripeEvent).where(
            StripeEvent.status == InboxStatus.RECEIVED)),
        "outbox_backlog": outbox.get(OutboxStatus.PENDING, 0),
        "outbox_dead": outbox.get(OutboxStatus.DEAD, 0),
    }


def load(now: datetime, *, listed: int = 10, rates: Rates | None = None) -> Dashboard:
    past_due = select(Member).where(Member.status == MemberStatus.PAST_DUE)
    comps = (select(Member).where(Member.status == MemberStatus.COMPED, Member.comp_until >= now,
                                  Member.comp_until < now + COMPS_SOON).order_by(Member.comp_until))
    rates = rates or Rates.configured()
    return Dashboard(
        by_status=by_status(), weeks=weeks(now), revenue=revenue(rates),
        past_due=list(db.session.scalars(past_due.order_by(Member.status_changed_at).limit(listed))),
        past_due_count=_count(select(func.count()).select_from(past_due.subquery())),
        comps_ending=list(db.session.scalars(comps.limit(listed))),
        webhooks=webhook_health(), reporting=rates.reporting,
    )


def long_figures(now: datetime, rates: Rates | None = None) -> LongFigures:
    rates = rates or Rates.configured()
    for_reports()  # every figure below reads the big tables: no JIT, sorts in memory
    return LongFigures(giving=giving_figures(now), insight=figures.load(now, rates))

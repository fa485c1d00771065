"""Revenue per currency and in the reporting currency, and recurring-revenue movements per month.

Revenue is what contributions brought, net of refunds and lost disputes, in the currency paid
and converted as `fx.py` says (Stripe's applied rate, else FX_RATES). The query groups by
currency and Stripe's rate, so each distinct rate is converted exactly, in Python, once.

Recurring-revenue movements come from paid subscription invoices. An invoice is created at the
start of the period it pays for, so it covers its month and, for longer intervals, the months
after it (a yearly invoice of March covers March to February). A member's monthly recurring
revenue (MRR) in a month is the monthly amount of the invoice covering it (an amount billed
every 3 months counts a third; weekly and daily amounts as `dashboard.monthly_amount` normalises
them, rounded to the minor unit). Month by month, per member and currency:

    new          MRR this month, none last month, and no paid subscription invoice ever before
    reactivated  MRR this month, none last month, but paid before
    expansion    more than last month (the increase)
    contraction  less than last month (the decrease)
    churned      MRR last month, none this month (last month's amount)

Only complete months are reported (the current one is still being invoiced). Movements stay
per currency; their converted totals use FX_RATES (a projection: no payment priced them).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import (
    CTE,
    BigInteger,
    ColumnElement,
    Subquery,
    and_,
    case,
    cast,
    exists,
    func,
    literal,
    or_,
    select,
    union_all,
)

from service.domain.insight.contributions import _net
from service.domain.insight.fx import Converted, Rates, RateSource
from service.domain.insight.periods import key_of, month_number, number_of, start_of
from service.extensions import db
from service.models import Contribution, Interval, Invoice, InvoiceStatus, Subscription

MOVEMENT_MONTHS = 12
LONGEST_SPAN = 12  # months a yearly invoice covers: how far back the first month's coverage may start
KINDS = ("new", "reactivated", "expansion", "contraction", "churned")


# --- revenue per currency, converted --------------------------------------------------------


@dataclass
class CurrencyRevenue:
    """Contributions in one currency priced by one kind of rate: counts and minor units."""

    currency: str
    rate_source: RateSource
    contributions: int = 0
    amount: int = 0
    net: Converted = field(default_factory=lambda: Converted("", RateSource.SAME))


def stripe_rate_key(reporting: str) -> ColumnElement[str | None]:
    """Stripe's rate for payments it converted into the reporting currency; NULL for the rest."""
    converted = and_(Contribution.settlement_currency == reporting, Contribution.currency != reporting)
    return case((converted, Contribution.exchange_rate), else_=None)


def revenue_by_currency(since: datetime, until: datetime, rates: Rates) -> list[CurrencyRevenue]:
    """Contributions paid in [since, until) per currency and rate source, net converted."""
    key = stripe_rate_key(rates.reporting)
    rows = db.session.execute(
        select(Contribution.currency, key, func.count(), func.sum(Contribution.amount), func.sum(_net()))
        .where(Contribution.paid_at >= since, Contribution.paid_at < until).group_by(Contribution.currency, key))
    found: dict[tuple[str, RateSource], CurrencyRevenue] = {}
    for currency, stripe_rate, count, amount, net in rows:
        rate, source = rates.for_payment(currency, stripe_rate)
        row = found.setdefault((currency, source), CurrencyRevenue(currency, source, net=Converted(currency, source)))
        row.contributions += count
        row.amount += int(amount or 0)
        row.net.add(int(net or 0), rate, rates.reporting)
    return sorted(found.values(), key=lambda r: (r.currency, r.rate_source))


# --- recurring-revenue movements --------------------------------------------------------------


@dataclass
class MonthMovements:
    """One month's movements in one currency, minor units per month; `mrr` is the month's total."""

    month: str
    currency: str
    mrr: int = 0
    new: int = 0
    reactivated: int = 0
    expansion: int = 0
    contraction: int = 0
    churned: int = 0
    converted: dict[str, int | None] = field(default_factory=dict)  # the same in the reporting currency
    rate_source: RateSource = RateSource.SAME
    reporting: str = ""  # the currency of `converted`

    @property
    def net(self) -> int:
        return self.new + self.reactivated + self.expansion - self.contraction - self.churned


def _span() -> ColumnElement[int]:
    """Months one invoice covers: its interval in months (weekly and daily: their own month)."""
    return case((Subscription.interval == Interval.MONTH, Subscription.interval_count),
                (Subscription.interval == Interval.YEAR, Subscription.interval_count * 12), else_=1)


def _monthly() -> ColumnElement[int]:
    """The invoice's amount per month, rounded half up, in whole-number SQL (no floats)."""
    num = case((Subscription.interval.in_([Interval.DAY, Interval.WEEK]), 36525), else_=1)
    den = Subscription.interval_count * case((Subscription.interval == Interval.DAY, 1200),
                                             (Subscription.interval == Interval.WEEK, 8400),
                                             (Subscription.interval == Interval.YEAR, 12), else_=1)
    return (cast(Invoice.amount_paid, BigInteger) * num * 2 + den) // (den * 2)  # // is integer division in SQL


def _intervals(first: int, last: int) -> Subquery:
    """Each paid subscription invoice that covers a month from `first` to `last`, as the months it
    covers [start_n, end_n) and its monthly amount (created at most LONGEST_SPAN months before)."""
    start_n = month_number(Invoice.stripe_created_at)
    end_n = start_n + _span()
    return (select(Invoice.id, Invoice.member_id, Invoice.currency, start_n.label("start_n"), end_n.label("end_n"),
                   _monthly().label("mrr"))
            .join(Subscription, Subscription.id == Invoice.subscription_id)
            .where(Invoice.status == InvoiceStatus.PAID, Invoice.amount_paid > 0,
                   Invoice.stripe_created_at >= start_of(first - LONGEST_SPAN + 1),
                   Invoice.stripe_created_at < start_of(last + 1), end_n > first)).subquery("paid")


def _movement_rows(first: int, last: int) -> CTE:
    """(month number, currency, kind, amount), one row per change, summed by the caller.

    One pass over a member's invoices in order (one sort, one window): an invoice that starts after
    the one before it ended is new (or reactivated); one that continues it changes the amount
    (expansion, contraction); coverage with no invoice after it is churn in its first month
    uncovered. No row per member and month is ever made."""
    paid = _intervals(first - 1, last)
    member, order = (paid.c.member_id, paid.c.currency), (paid.c.start_n, paid.c.end_n, paid.c.id)
    series = select(paid, *(fn(col).over(partition_by=member, order_by=order).label(name) for fn, col, name in (
        (func.lag, paid.c.mrr, "prev_mrr"), (func.lag, paid.c.end_n, "prev_end"),
        (func.lead, paid.c.start_n, "next_start")))).cte("series")
    c = series.c
    # Invoices that ended before the month ahead of the window are not read: any of them makes a
    # start after a gap a reactivation.
    paid_before = exists().where(Invoice.member_id == c.member_id, Invoice.status == InvoiceStatus.PAID,
                                 Invoice.subscription_id.is_not(None), Invoice.amount_paid > 0,
                                 Invoice.stripe_created_at < start_of(first - 1))
    gap = or_(c.prev_end.is_(None), c.start_n > c.prev_end)
    kind = case((and_(gap, c.prev_end.is_not(None)), "reactivated"), (and_(gap, paid_before), "reactivated"),
                (gap, "new"), (c.mrr > c.prev_mrr, "expansion"), (c.mrr < c.prev_mrr, "contraction"), else_="same")
    delta = case((gap, c.mrr), else_=func.abs(c.mrr - c.prev_mrr))
    started = select(c.start_n.label("n"), c.currency, kind.label("kind"), delta.label("amount")).where(
        c.start_n >= first, or_(gap, c.mrr != c.prev_mrr))
    ended = select(c.end_n, c.currency, literal("churned").label("kind"), c.mrr).where(
        c.end_n >= first, c.end_n <= last, or_(c.next_start.is_(None), c.next_start > c.end_n))
    # Materialized: each row's kind is worked out once (PostgreSQL would repeat it for the grouping).
    return union_all(started, ended).cte("moves").prefix_with("MATERIALIZED")


def _opening(first: int) -> dict[str, int]:
    """Recurring revenue per currency in the month before `first`: the invoices covering it."""
    paid = _intervals(first - 1, first - 1)
    covering = select(paid.c.member_id, paid.c.currency, func.max(paid.c.mrr).label("mrr")).where(
        paid.c.start_n <= first - 1).group_by(paid.c.member_id, paid.c.currency).subquery()
    return {cur: int(total or 0) for cur, total in db.session.execute(
        select(covering.c.currency, func.sum(covering.c.mrr)).group_by(covering.c.currency))}


def movements(now: datetime, rates: Rates, *, months: int = MOVEMENT_MONTHS) -> list[MonthMovements]:
    """The last `months` complete months' movements per currency, oldest first."""
    last = number_of(now) - 1
    first = last - months + 1
    moves = _movement_rows(first, last)
    rows = db.session.execute(select(moves.c.n, moves.c.currency, moves.c.kind, func.sum(moves.c.amount))
                              .group_by(moves.c.n, moves.c.currency, moves.c.kind))
    changes = {(n, currency, kind): int(amount or 0) for n, currency, kind, amount in rows}
    opening = _opening(first)
    currencies = sorted({cur for _n, cur, _k in changes} | {cur for cur, total in opening.items() if total})
    found = []
    for currency in currencies:
        mrr = opening.get(currency, 0)
        for n in range(first, last + 1):
            row = MonthMovements(key_of(n), currency)
            for kind in KINDS:
                setattr(row, kind, changes.get((n, currency, kind), 0))
            mrr = row.mrr = mrr + row.net  # each month's total follows from the one before
            if mrr or any(getattr(row, k) for k in KINDS):
                _convert(row, rates)
                found.append(row)
    return sorted(found, key=lambda r: (r.month, r.currency))


def _convert(row: MonthMovements, rates: Rates) -> None:
    rate, row.rate_source = rates.fallback(row.currency)
    row.reporting = rates.reporting
    for name in ("mrr", *KINDS):
        part = Converted(row.currency, row.rate_source)
        part.add(getattr(row, name), rate, rates.reporting)
        row.converted[name] = part.converted

"""Revenue per currency and in the reporting currency, and recurring-revenue movements per month.

Revenue is what contributions brought, net of refunds and lost disputes, in the currency paid
and converted as `fx.py` says (Stripe's applied rate, else FX_RATES). The query groups by
currency and Stripe's rate, so each distinct rate is converted exactly, in Python, once.

Recurring-revenue movements come from paid subscription invoices, each counted once when it is
synced (domain/billing/revenue.py says how): month by month, per currency, the revenue that is
new (a member's first), reactivated (back after a gap), expansion and contraction (a member's
amount raised or lowered), and churned (coverage that ended, at its last amount). A month's
recurring revenue is every change up to it.

Only complete months are reported (the current one is still being invoiced). Movements stay
per currency; their converted totals use FX_RATES (a projection: no payment priced them).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import ColumnElement, and_, case, func, literal, select, text

from service.domain.insight.contributions import _net
from service.domain.insight.fx import Converted, Rates, RateSource
from service.domain.insight.periods import key_of, number_of
from service.extensions import db
from service.models import Contribution, Invoice
from service.models.subscriptions import REVENUE_ENDS_SQL, REVENUE_MOVES_SQL

MOVEMENT_MONTHS = 12
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


def _changes(first: int, last: int) -> dict[tuple[int, str, str], int]:
    """(month number, currency, kind) -> amount for the months from `first` to `last`: the
    invoices that start, raise or lower a member's revenue in them, and the coverage that ends
    in them, each read through its partial index (no row per member and month is made)."""
    started = (select(Invoice.revenue_start, Invoice.currency, Invoice.revenue_kind, func.sum(func.abs(Invoice.revenue_change)))
               .where(text(REVENUE_MOVES_SQL), Invoice.revenue_start.between(first, last))
               .group_by(Invoice.revenue_start, Invoice.currency, Invoice.revenue_kind))
    ended = (select(Invoice.revenue_end, Invoice.currency, literal("churned"), func.sum(Invoice.revenue_monthly))
             .where(text(REVENUE_ENDS_SQL), Invoice.revenue_end.between(first, last))
             .group_by(Invoice.revenue_end, Invoice.currency))
    return {(n, currency, str(kind)): int(amount or 0)
            for statement in (started, ended) for n, currency, kind, amount in db.session.execute(statement)}


def _opening(first: int) -> dict[str, int]:
    """Recurring revenue per currency in the month before `first`: every change up to it."""
    started = (select(Invoice.currency, func.sum(Invoice.revenue_change))
               .where(text(REVENUE_MOVES_SQL), Invoice.revenue_start < first).group_by(Invoice.currency))
    ended = (select(Invoice.currency, -func.sum(Invoice.revenue_monthly))
             .where(text(REVENUE_ENDS_SQL), Invoice.revenue_end < first).group_by(Invoice.currency))
    opening: dict[str, int] = {}
    for statement in (started, ended):
        for currency, amount in db.session.execute(statement):
            opening[currency] = opening.get(currency, 0) + int(amount or 0)
    return opening


def movements(now: datetime, rates: Rates, *, months: int = MOVEMENT_MONTHS) -> list[MonthMovements]:
    """The last `months` complete months' movements per currency, oldest first."""
    last = number_of(now) - 1
    first = last - months + 1
    changes = _changes(first, last)
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

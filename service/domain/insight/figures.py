"""The insight figures together (dashboard, `GET /api/v1/stats`), and each one as a CSV table.

Every figure covers complete, recent periods: cohorts of the last 24 join months, churn and
failed-payment recovery over the last 12 months (this one included), revenue movements over
the last 12 complete months, campaigns and revenue per currency over the last 12 months.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from fractions import Fraction
from typing import Any

from service.domain import csv_out
from service.domain.insight import campaigns as campaign_queries
from service.domain.insight import recovery as recovery_queries
from service.domain.insight import retention, revenue
from service.domain.insight.campaigns import CampaignFigures
from service.domain.insight.cancellations import CancelReasons, cancel_reasons
from service.domain.insight.fx import Converted, Rates, converted_total
from service.domain.insight.periods import for_reports, number_of, start_of
from service.domain.insight.recovery import Recovery
from service.domain.insight.retention import OFFSETS, Churn, Cohort
from service.domain.insight.revenue import KINDS, CurrencyRevenue, MonthMovements
from service.money import to_decimal

YEAR = 12


@dataclass
class Insight:
    reporting_currency: str
    fx_rates: dict[str, Decimal]
    since: datetime  # of the 12-month figures (churn, recovery, campaigns, currencies)
    until: datetime
    cohorts: list[Cohort]
    churn: list[Churn]
    recovery: list[Recovery]
    recovery_total: Recovery
    movements: list[MonthMovements]
    campaigns: list[CampaignFigures]
    currencies: list[CurrencyRevenue]
    cancel_reasons: CancelReasons | None = None  # the cancel flow's reasons and offers accepted, 12 months

    @property
    def currencies_converted(self) -> int:
        """Net revenue of the 12 months in the reporting currency (the parts that have a rate)."""
        return converted_total([r.net for r in self.currencies])

    @property
    def unconverted(self) -> list[str]:
        return sorted({r.currency for r in self.currencies if r.net.converted is None})


def period(now: datetime) -> tuple[datetime, datetime]:
    """The last twelve calendar months, this one included."""
    this = number_of(now)
    return start_of(this - YEAR + 1), start_of(this + 1)


def load(now: datetime, rates: Rates | None = None) -> Insight:
    rates = rates or Rates.configured()
    since, until = period(now)
    for_reports()
    months, total = recovery_queries.recovery(since, until, rates)
    return Insight(
        reporting_currency=rates.reporting, fx_rates=dict(rates.fx), since=since, until=until,
        cohorts=retention.cohorts(now), churn=retention.churn(now), recovery=months, recovery_total=total,
        movements=revenue.movements(now, rates), campaigns=campaign_queries.campaign_figures(since, until, rates),
        currencies=revenue.revenue_by_currency(since, until, rates), cancel_reasons=cancel_reasons(since, until))


# --- CSV -----------------------------------------------------------------------------------


def share(value: Fraction | None, places: int = 4) -> Decimal | None:
    """A share as an exact decimal (0.8333), for JSON and CSV; never a float."""
    if value is None:
        return None
    return (Decimal(value.numerator) / Decimal(value.denominator)).quantize(Decimal(1).scaleb(-places))


def _major(amount: int | None, currency: str) -> Decimal | None:
    return None if amount is None else to_decimal(amount, currency)


def _retention_rows(now: datetime, rates: Rates) -> tuple[list[str], Iterable[list[Any]]]:
    header = ["cohort", "members", *(f"retained_{k}m" for k in OFFSETS), *(f"share_{k}m" for k in OFFSETS)]
    return header, ([c.month, c.size, *(c.retained[k] for k in OFFSETS), *(share(c.share(k)) for k in OFFSETS)]
                    for c in retention.cohorts(now))


def _churn_rows(now: datetime, rates: Rates) -> tuple[list[str], Iterable[list[Any]]]:
    return (["month", "voluntary", "involuntary", "ended", "total"],
            ([c.month, c.voluntary, c.involuntary, c.ended, c.total] for c in retention.churn(now)))


def _converted_cells(part: Converted) -> list[Any]:
    return [part.currency, _major(part.amount, part.currency), part.reporting,
            _major(part.converted, part.reporting), part.rate_source, part.rate]


CONVERTED_HEADER = ["currency", "amount", "reporting_currency", "converted", "rate_source", "rate"]


def _money_cells(parts: Iterable[Converted]) -> list[list[Any]]:
    """One set of cells per part; one empty set when there is none (the row still shows)."""
    return [_converted_cells(p) for p in parts] or [[None] * len(CONVERTED_HEADER)]


def _recovery_rows(now: datetime, rates: Rates) -> tuple[list[str], Iterable[list[Any]]]:
    months, total = recovery_queries.recovery(*period(now), rates)
    header = ["month", "failed_first_attempt", "recovered", "retrying", "lost", "recovery_rate", *CONVERTED_HEADER]
    return header, ([r.month, r.failed, r.recovered, r.retrying, r.lost, share(r.rate), *cells]
                    for r in [*months, total] for cells in _money_cells(r.revenue.values()))


def _movement_rows(now: datetime, rates: Rates) -> tuple[list[str], Iterable[list[Any]]]:
    names = ["mrr", *KINDS, "net"]
    header = ["month", "currency", *names, "reporting_currency", *(f"{n}_converted" for n in names), "rate_source", "rate"]

    def row(m: MonthMovements) -> list[Any]:
        converted = {**m.converted, "net": _net_converted(m)}
        return [m.month, m.currency, *(_major(getattr(m, n), m.currency) for n in names), rates.reporting,
                *(_major(converted[n], rates.reporting) for n in names), m.rate_source, rates.fallback(m.currency)[0]]

    return header, (row(m) for m in revenue.movements(now, rates))


def _net_converted(m: MonthMovements) -> int | None:
    c = m.converted
    if any(c.get(k) is None for k in KINDS):
        return None
    return (c["new"] or 0) + (c["reactivated"] or 0) + (c["expansion"] or 0) - (c["contraction"] or 0) - (c["churned"] or 0)


def _campaign_rows(now: datetime, rates: Rates) -> tuple[list[str], Iterable[list[Any]]]:
    header = ["campaign", "joins_first_touch", "joins_latest_touch", "contributions", *CONVERTED_HEADER]
    rows = campaign_queries.campaign_figures(*period(now), rates)
    return header, ([r.campaign, r.joins_first_touch, r.joins_latest_touch, r.contributions, *cells]
                    for r in rows for cells in _money_cells(r.revenue))


def _currency_rows(now: datetime, rates: Rates) -> tuple[list[str], Iterable[list[Any]]]:
    header = ["contributions", "paid", *CONVERTED_HEADER]
    rows = revenue.revenue_by_currency(*period(now), rates)
    return header, ([r.contributions, _major(r.amount, r.currency), *_converted_cells(r.net)] for r in rows)


FIGURES: dict[str, Callable[[datetime, Rates], tuple[list[str], Iterable[list[Any]]]]] = {
    "retention": _retention_rows, "churn": _churn_rows, "recovery": _recovery_rows, "movements": _movement_rows,
    "campaigns": _campaign_rows, "currencies": _currency_rows,
}


def csv_lines(figure: str, now: datetime, rates: Rates | None = None) -> Iterator[str]:
    """One figure as CSV lines (amounts in major units, 25.00); KeyError for an unknown figure."""
    for_reports()
    header, rows = FIGURES[figure](now, rates or Rates.configured())
    return csv_out.lines(header, rows)

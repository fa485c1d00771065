"""Failed-payment recovery: of the invoices whose first attempt failed, how many were paid later,
and what they brought.

Stripe counts an invoice's payment attempts (`attempt_count`). A first attempt failed when the
invoice was paid only after more than one attempt (recovered), or is still unpaid after at
least one (open: Stripe is still retrying; uncollectible or void: lost). Grouped by the month
the invoice was created; recovered revenue is per currency, converted with the rate Stripe
applied to the payment that recovered it (its contribution), else FX_RATES.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from fractions import Fraction

from sqlalchemy import ColumnElement, and_, case, func, or_, select

from service.domain.insight.fx import Converted, Rates, converted_total
from service.domain.insight.periods import month_key
from service.domain.insight.revenue import stripe_rate_key
from service.extensions import db
from service.models import Contribution, Invoice, InvoiceStatus

UNPAID = (InvoiceStatus.OPEN, InvoiceStatus.UNCOLLECTIBLE, InvoiceStatus.VOID)


@dataclass
class Recovery:
    """Invoices of one month (or all months) whose first attempt failed."""

    month: str
    failed: int = 0
    recovered: int = 0
    retrying: int = 0  # still open: Stripe may yet collect them
    lost: int = 0  # uncollectible or void
    revenue: dict[str, Converted] = field(default_factory=dict)  # recovered, per currency and rate source
    reporting: str = ""  # the currency of `converted()`

    @property
    def rate(self) -> Fraction | None:
        """Recovered over failed (None when nothing failed)."""
        return Fraction(self.recovered, self.failed) if self.failed else None

    def converted(self) -> int:
        return converted_total(list(self.revenue.values()))


def first_attempt_failed() -> ColumnElement[bool]:
    return or_(and_(Invoice.status == InvoiceStatus.PAID, Invoice.attempt_count >= 2),
               and_(Invoice.status.in_(UNPAID), Invoice.attempt_count >= 1))


def recovery(since: datetime, until: datetime, rates: Rates) -> tuple[list[Recovery], Recovery]:
    """Per month (oldest first) and over the whole period [since, until)."""
    recovered = and_(Invoice.status == InvoiceStatus.PAID, Invoice.attempt_count >= 2)
    month, key = month_key(Invoice.stripe_created_at), stripe_rate_key(rates.reporting)
    rows = db.session.execute(
        select(month, Invoice.currency, key, func.count(), func.sum(case((recovered, 1), else_=0)),
               func.sum(case((Invoice.status == InvoiceStatus.OPEN, 1), else_=0)),
               func.sum(case((recovered, Invoice.amount_paid), else_=0)))
        .outerjoin(Contribution, Contribution.stripe_invoice_id == Invoice.stripe_invoice_id)
        .where(first_attempt_failed(), Invoice.stripe_created_at >= since, Invoice.stripe_created_at < until)
        .group_by(month, Invoice.currency, key))
    months: dict[str, Recovery] = {}
    total = Recovery("all", reporting=rates.reporting)
    for name, currency, stripe_rate, failed, paid, retrying, amount in rows:
        rate, source = rates.for_payment(currency, stripe_rate)
        for figure in (months.setdefault(name, Recovery(name, reporting=rates.reporting)), total):
            figure.failed += failed
            figure.recovered += int(paid or 0)
            figure.retrying += int(retrying or 0)
            figure.lost += failed - int(paid or 0) - int(retrying or 0)
            figure.revenue.setdefault(f"{currency}:{source}", Converted(currency, source)).add(
                int(amount or 0), rate, rates.reporting)
    return [months[k] for k in sorted(months)], total

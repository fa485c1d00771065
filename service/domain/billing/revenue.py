"""Each member's recurring revenue, kept on their paid subscription invoices as they are synced.

An invoice is created at the start of the period it pays for, so it covers its month and, for
longer intervals, the months after it (a yearly invoice of March covers March to February). Its
monthly amount is its amount paid per month (an amount billed every 3 months counts a third;
weekly and daily amounts scaled to a month of 365.25/12 days, rounded half up to the minor unit).
Both are fixed when the invoice is first counted, from its subscription's interval then.

Then, per member and currency, in order of the months covered, each invoice is compared with the
one before it:

    new          the member's first paid subscription invoice, in any currency
    reactivated  it starts after the one before it ended (a gap), or is the first in another
                 currency from someone who paid before
    expansion    it continues the coverage at a higher amount (the change is the increase)
    contraction  it continues at a lower amount (the change is negative)
    same         it continues at the same amount

and an invoice whose coverage nothing continues churns in its first month uncovered. A member's
monthly recurring revenue in a month is then the sum of these changes up to it, and the insight
figures (domain/insight/revenue.py) read the few rows that change it through two partial indexes
instead of re-deriving every member's months from every invoice.

Invoices arrive out of order (a retried payment, a replayed event), so the whole member is
re-sequenced whenever one of their invoices is written: one UPDATE touching only the rows whose
result changed (a renewal changes two: itself, and the invoice before it stops churning).
"""
from __future__ import annotations

from sqlalchemy import BigInteger, ColumnElement, and_, case, cast, func, or_, select, text, update

from service.domain.insight.periods import month_number
from service.extensions import db
from service.models import Interval, Invoice, InvoiceStatus, Member, RevenueKind, Subscription
from service.models.subscriptions import REVENUE_UNCOUNTED_SQL


def span() -> ColumnElement[int]:
    """Months one invoice covers: its interval in months (weekly and daily: their own month)."""
    return case((Subscription.interval == Interval.MONTH, Subscription.interval_count),
                (Subscription.interval == Interval.YEAR, Subscription.interval_count * 12), else_=1)


def monthly() -> ColumnElement[int]:
    """The invoice's amount per month, rounded half up, in whole-number SQL (no floats)."""
    num = case((Subscription.interval.in_([Interval.DAY, Interval.WEEK]), 36525), else_=1)
    den = Subscription.interval_count * case((Subscription.interval == Interval.DAY, 1200),
                                             (Subscription.interval == Interval.WEEK, 8400),
                                             (Subscription.interval == Interval.YEAR, 12), else_=1)
    return (cast(Invoice.amount_paid, BigInteger) * num * 2 + den) // (den * 2)  # // is integer division in SQL


def record(member_id: int | None) -> None:
    """Bring a member's recurring revenue up to date with their invoices (None: every member's,
    as after a bulk import)."""
    _price(member_id)
    _sequence(member_id)


def record_uncounted(limit: int = 100) -> int:
    """The worker's `revenue` job: count the paid subscription invoices that were written without
    being counted (by the version of the service still running while the migration that added
    these columns ran), a member at a time under the member's lock as a sync does. Returns how
    many members it counted; the partial index holds only such invoices, so an idle pass is one
    empty index read."""
    members = db.session.scalars(select(Invoice.member_id).where(text(REVENUE_UNCOUNTED_SQL)).distinct()
                                 .limit(limit)).all()
    for member_id in members:
        db.session.execute(select(Member.id).where(Member.id == member_id).with_for_update())
        record(member_id)
    return len(members)


def _price(member_id: int | None) -> None:
    """Count the paid subscription invoices not counted yet: their months and monthly amount.

    A paid invoice stays paid in Stripe and its amount paid does not change, so a counted invoice
    is never priced again (a later change of the subscription's interval does not rewrite it)."""
    start = month_number(Invoice.stripe_created_at)
    where = [Invoice.subscription_id == Subscription.id, Invoice.revenue_start.is_(None),
             Invoice.status == InvoiceStatus.PAID, Invoice.amount_paid > 0]
    if member_id is not None:
        where.append(Invoice.member_id == member_id)
    db.session.execute(update(Invoice).where(*where)
                       .values(revenue_start=start, revenue_end=start + span(), revenue_monthly=monthly())
                       .execution_options(synchronize_session=False))


def _sequence(member_id: int | None) -> None:
    """Each counted invoice's kind, change and churn against its neighbours, written where changed."""
    order = (Invoice.revenue_start, Invoice.revenue_end, Invoice.id)
    partition = (Invoice.member_id, Invoice.currency)
    counted = select(
        Invoice.id, Invoice.revenue_start.label("start"), Invoice.revenue_end.label("end"),
        Invoice.revenue_monthly.label("amount"),
        func.lag(Invoice.revenue_end).over(partition_by=partition, order_by=order).label("prev_end"),
        func.lag(Invoice.revenue_monthly).over(partition_by=partition, order_by=order).label("prev_amount"),
        func.lead(Invoice.revenue_start).over(partition_by=partition, order_by=order).label("next_start"),
        func.row_number().over(partition_by=Invoice.member_id, order_by=order).label("rank"),
    ).where(Invoice.revenue_start.is_not(None))
    if member_id is not None:
        counted = counted.where(Invoice.member_id == member_id)
    c = counted.subquery("counted")
    gap = or_(c.c.prev_end.is_(None), c.c.start > c.c.prev_end)
    kind = case((and_(gap, c.c.rank == 1), RevenueKind.NEW.value), (gap, RevenueKind.REACTIVATED.value),
                (c.c.amount > c.c.prev_amount, RevenueKind.EXPANSION.value),
                (c.c.amount < c.c.prev_amount, RevenueKind.CONTRACTION.value), else_=RevenueKind.SAME.value)
    change = case((gap, c.c.amount), else_=c.c.amount - c.c.prev_amount)
    churns = or_(c.c.next_start.is_(None), c.c.next_start > c.c.end)
    s = select(c.c.id, kind.label("kind"), change.label("change"), churns.label("churns")).subquery("sequenced")
    db.session.execute(
        update(Invoice).where(Invoice.id == s.c.id, or_(Invoice.revenue_kind.is_distinct_from(s.c.kind),
                                                        Invoice.revenue_change.is_distinct_from(s.c.change),
                                                        Invoice.revenue_churns.is_distinct_from(s.c.churns)))
        .values(revenue_kind=s.c.kind, revenue_change=s.c.change, revenue_churns=s.c.churns)
        .execution_options(synchronize_session=False))

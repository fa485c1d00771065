"""A day's figures for the staff alerts' daily summary, and the failed-payment counts a spike
is judged by. Read-only, like the rest of insight; `domain/staff/alerts.py` sends them.

- **joins**: members who became `active` for the first time that day (retention.py's
  definition of joining: a member who comes back after lapsing is not a new join);
- **cancellations**: the cancel flow's answers (`cancel_reasons`): those who cancelled, by
  reason, and those an offer kept;
- **gifts**: gift memberships paid for that day (their contribution's payment), and redeemed;
- **failed payments**: Stripe's `invoice.payment_failed` events received that day, one per
  failed attempt (events ignored as not ours do not count);
- **recovered payments**: invoices paid that day after a failed first attempt (recovery.py's
  definition), with the amounts per currency.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import ColumnElement, func, literal_column, select
from sqlalchemy.orm import aliased

from service.domain.insight.cancellations import CancelReasons, cancel_reasons
from service.extensions import db
from service.models import (
    Cancellation,
    CancelOutcome,
    Contribution,
    Gift,
    InboxStatus,
    Invoice,
    InvoiceStatus,
    Member,
    MemberActivity,
    MemberStatus,
    StripeEvent,
)

PAYMENT_FAILED = "invoice.payment_failed"
LISTED = 50  # cancellations listed one by one in the staff email
# Statuses as literals, every one but `ignored`: PostgreSQL can then walk the (status, received_at)
# index once per status instead of reading the whole table.
_COUNTED: list[ColumnElement[Any]] = [literal_column(f"'{s}'") for s in InboxStatus if s is not InboxStatus.IGNORED]


@dataclass
class Left:
    """One reader who cancelled through the cancel flow: for the staff email only."""

    email: str
    reason: str
    text: str | None


@dataclass
class DayFigures:
    day: date
    joins: int
    cancellations: CancelReasons
    left: list[Left]
    gifts_purchased: int
    gifts_redeemed: int
    failed_payments: int
    recovered: int
    recovered_amounts: dict[str, int] = field(default_factory=dict)  # currency: minor units

    @property
    def reasons_given(self) -> dict[str, int]:
        """The reasons with a count above 0, most given first."""
        given = {r: n for r, n in self.cancellations.reasons.items() if n}
        return dict(sorted(given.items(), key=lambda item: -item[1]))


def bounds(day: date) -> tuple[datetime, datetime]:
    """[start, end) of a UTC day."""
    start = datetime.combine(day, time(), tzinfo=UTC)
    return start, start + timedelta(days=1)


def day_figures(day: date) -> DayFigures:
    since, until = bounds(day)
    recovered = recovered_payments(since, until)
    return DayFigures(day, joins(since, until), cancel_reasons(since, until), left(since, until),
                      _count(select(func.count(Gift.id)).join(Contribution, Contribution.id == Gift.contribution_id)
                             .where(Contribution.paid_at >= since, Contribution.paid_at < until)),
                      _count(select(func.count(Gift.id)).where(Gift.redeemed_at >= since, Gift.redeemed_at < until)),
                      failed_payments(since, until), sum(n for n, _ in recovered.values()),
                      {currency: amount for currency, (_, amount) in recovered.items()})


def joins(since: datetime, until: datetime) -> int:
    """Members whose first change to `active` falls in [since, until)."""
    earlier = aliased(MemberActivity)
    before = (select(earlier.id).where(earlier.member_id == MemberActivity.member_id,
                                       earlier.to_status == MemberStatus.ACTIVE, earlier.created_at < since)
              .exists())
    return _count(select(func.count(func.distinct(MemberActivity.member_id))).where(
        MemberActivity.to_status == MemberStatus.ACTIVE, MemberActivity.created_at >= since,
        MemberActivity.created_at < until, ~before))


def left(since: datetime, until: datetime, limit: int = LISTED) -> list[Left]:
    """Who cancelled through the cancel flow in [since, until), oldest first, with their reason."""
    rows = db.session.execute(
        select(Member.email, Cancellation.reason, Cancellation.text).join(Member, Member.id == Cancellation.member_id)
        .where(Cancellation.created_at >= since, Cancellation.created_at < until,
               Cancellation.outcome == CancelOutcome.CANCELLED)
        .order_by(Cancellation.created_at, Cancellation.id).limit(limit))
    return [Left(email, str(reason), text) for email, reason, text in rows]


def failed_payments(since: datetime, until: datetime) -> int:
    """Failed payment attempts (Stripe's `invoice.payment_failed` events) received in [since, until)."""
    return _count(select(func.count(StripeEvent.id)).where(
        StripeEvent.status.in_(_COUNTED), StripeEvent.received_at >= since, StripeEvent.received_at < until,
        StripeEvent.type == PAYMENT_FAILED))


def failed_payment_rate(now: datetime, baseline: timedelta) -> tuple[int, int]:
    """Failed payments in the last hour, and in the `baseline` before that hour; one query."""
    hour_ago = now - timedelta(hours=1)
    recent = StripeEvent.received_at >= hour_ago
    row = db.session.execute(select(
        func.count(StripeEvent.id).filter(recent), func.count(StripeEvent.id).filter(~recent)).where(
        StripeEvent.status.in_(_COUNTED), StripeEvent.received_at >= hour_ago - baseline, StripeEvent.received_at < now,
        StripeEvent.type == PAYMENT_FAILED)).one()
    return int(row[0] or 0), int(row[1] or 0)


def recovered_payments(since: datetime, until: datetime) -> dict[str, tuple[int, int]]:
    """Invoices paid in [since, until) after a failed first attempt: {currency: (count, amount paid)}."""
    rows = db.session.execute(
        select(Invoice.currency, func.count(Invoice.id), func.sum(Invoice.amount_paid))
        .where(Invoice.status == InvoiceStatus.PAID, Invoice.attempt_count >= 2, Invoice.paid_at >= since,
               Invoice.paid_at < until)
        .group_by(Invoice.currency).order_by(Invoice.currency))
    return {currency: (int(n), int(amount or 0)) for currency, n, amount in rows}


def _count(query) -> int:  # noqa: ANN001
    return db.session.scalar(query) or 0

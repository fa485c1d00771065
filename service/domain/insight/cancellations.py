"""Why readers cancel, and which offers kept them: the cancel flow's answers (`cancellations`,
written by members/retention.py) counted per calendar month (UTC) in one aggregate query."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select

from service.domain.insight.periods import month_key
from service.extensions import db
from service.models import Cancellation, CancelOutcome, CancelReason


@dataclass
class CancelMonth:
    month: str  # 'YYYY-MM'
    reasons: dict[str, int] = field(default_factory=dict)  # every reason given that month, kept or not
    offers_accepted: dict[str, int] = field(default_factory=dict)
    cancelled: int = 0
    kept: int = 0


@dataclass
class CancelReasons:
    since: datetime
    until: datetime
    reasons: dict[str, int]  # each CancelReason, 0 included, in the cancel flow's order
    offers_accepted: dict[str, int]
    cancelled: int
    kept: int
    months: list[CancelMonth]


def cancel_reasons(since: datetime, until: datetime) -> CancelReasons:
    """Counts of the cancel flow's answers in [since, until): by reason, offers accepted, and per month."""
    month = month_key(Cancellation.created_at).label("month")
    rows = db.session.execute(
        select(month, Cancellation.reason, Cancellation.offer, Cancellation.outcome, func.count())
        .where(Cancellation.created_at >= since, Cancellation.created_at < until)
        .group_by(month, Cancellation.reason, Cancellation.offer, Cancellation.outcome).order_by(month)).all()
    months: dict[str, CancelMonth] = {}
    reasons: Counter[str] = Counter({r.value: 0 for r in CancelReason})
    offers: Counter[str] = Counter()
    for key, reason, offer, outcome, count in rows:
        entry = months.setdefault(key, CancelMonth(key))
        entry.reasons[str(reason)] = entry.reasons.get(str(reason), 0) + count
        reasons[str(reason)] += count
        if outcome is CancelOutcome.KEPT and offer is not None:
            entry.offers_accepted[str(offer)] = entry.offers_accepted.get(str(offer), 0) + count
            offers[str(offer)] += count
            entry.kept += count
        else:
            entry.cancelled += count
    return CancelReasons(since, until, dict(reasons), dict(offers), sum(m.cancelled for m in months.values()),
                         sum(m.kept for m in months.values()), list(months.values()))

"""Operational figures, read from the database at scrape time.

Every web process and worker shares them, since they live in the tables, not in
process memory: inbox (webhooks received, applied, ignored, failing), outbox
(backlog, age, dead letters), members by status, and apply latency.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Row, func, select

from service.extensions import db
from service.models import InboxStatus, Member, MemberStatus, OutboxMessage, OutboxStatus, StripeEvent

LATENCY_WINDOW = timedelta(hours=1)
LATENCY_SAMPLE = 10_000


@dataclass
class Snapshot:
    webhooks: dict[str, int] = field(default_factory=dict)
    last_webhook_at: datetime | None = None
    apply_seconds: dict[float, float] = field(default_factory=dict)
    outbox: dict[str, int] = field(default_factory=dict)
    outbox_oldest_age: float = 0.0
    members: dict[str, int] = field(default_factory=dict)


def snapshot(now: datetime) -> Snapshot:
    snap = Snapshot()
    rows: Sequence[Row[Any, int]] = db.session.execute(select(StripeEvent.status, func.count()).group_by(StripeEvent.status)).all()
    snap.webhooks = {str(s): 0 for s in InboxStatus} | {str(s): n for s, n in rows}
    snap.last_webhook_at = db.session.scalar(select(func.max(StripeEvent.received_at)))
    snap.apply_seconds = _apply_quantiles(now)
    rows = db.session.execute(select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)).all()
    snap.outbox = {str(s): 0 for s in OutboxStatus} | {str(s): n for s, n in rows}
    oldest = db.session.scalar(select(func.min(OutboxMessage.created_at)).where(OutboxMessage.status == OutboxStatus.PENDING))
    snap.outbox_oldest_age = (now - oldest).total_seconds() if oldest else 0.0
    rows = db.session.execute(select(Member.status, func.count()).group_by(Member.status)).all()
    snap.members = {str(s): 0 for s in MemberStatus} | {str(s): n for s, n in rows}
    return snap


def _apply_quantiles(now: datetime) -> dict[float, float]:
    """Median, 90th and 99th percentile of received -> applied over the last hour."""
    # applied_at is never NULL here: the WHERE compares it with a time.
    rows = cast("Sequence[Row[datetime, datetime]]", db.session.execute(
        select(StripeEvent.received_at, StripeEvent.applied_at)
        .where(StripeEvent.status == InboxStatus.APPLIED, StripeEvent.applied_at >= now - LATENCY_WINDOW)
        .order_by(StripeEvent.applied_at.desc()).limit(LATENCY_SAMPLE)
    ).all())
    waits = sorted(max((applied - received).total_seconds(), 0.0) for received, applied in rows)
    if not waits:
        return {}
    return {q: waits[min(len(waits) - 1, int(q * len(waits)))] for q in (0.5, 0.9, 0.99)}

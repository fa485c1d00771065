"""Operational figures, read from the database at scrape time.

Every web process and worker shares them, since they live in the tables, not in
process memory: inbox (webhooks received, applied, ignored, failing), outbox
(backlog, age, dead letters), members by status, and apply latency.
"""
from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Row, func, literal, select

from service.extensions import db
from service.models import InboxStatus, Member, MemberStatus, OutboxMessage, OutboxStatus, StripeEvent

LATENCY_WINDOW = timedelta(hours=1)
# Only events received this long before the window are looked at: a wait longer than that is an
# incident the dead-letter and backlog figures already show, and the bound keeps the query on the index.
LATENCY_LOOKBACK = timedelta(hours=2)
LATENCY_SAMPLE = 1_000


@dataclass
class Snapshot:
    webhooks: dict[str, int] = field(default_factory=dict)
    last_webhook_at: datetime | None = None
    apply_seconds: dict[float, float] = field(default_factory=dict)
    outbox: dict[str, int] = field(default_factory=dict)
    outbox_oldest_age: float = 0.0
    members: dict[str, int] = field(default_factory=dict)


def snapshot(now: datetime) -> Snapshot:
    """Five statements, each a search of an index (never a scan of a table), so a scrape costs the same
    at a thousand rows as at ten million."""
    snap = Snapshot()
    snap.webhooks, _ = _counts(StripeEvent.status, InboxStatus)
    newest = select(func.max(StripeEvent.id)).scalar_subquery()  # the primary key's last entry: no scan
    snap.last_webhook_at = db.session.scalar(select(StripeEvent.received_at).where(StripeEvent.id == newest))
    snap.apply_seconds = _apply_quantiles(now)
    oldest = select(func.min(OutboxMessage.created_at)).where(
        OutboxMessage.status == OutboxStatus.PENDING).scalar_subquery()
    snap.outbox, oldest_at = _counts(OutboxMessage.status, OutboxStatus, also=oldest)
    snap.outbox_oldest_age = (now - oldest_at).total_seconds() if oldest_at else 0.0
    snap.members, _ = _counts(Member.status, MemberStatus)
    return snap


def _counts(column: Any, states: Iterable[enum.Enum], also: Any = None) -> tuple[dict[str, int], Any]:
    """Rows per state in one statement (a count per state, each an equality search of the status
    index), and the value of `also`, a scalar subquery on the same table, in the same statement."""
    names = [str(s) for s in states]
    parts = [select(func.count()).select_from(column.class_).where(column == s).scalar_subquery() for s in states]
    row = db.session.execute(select(*parts, also if also is not None else literal(None))).one()
    return dict(zip(names, row[:len(names)], strict=True)), row[len(names)]


def _apply_quantiles(now: datetime) -> dict[float, float]:
    """Median, 90th and 99th percentile of received -> applied over the last hour (the newest events)."""
    # applied_at is never NULL here: the WHERE compares it with a time. The range on received_at keeps
    # the read on ix_stripe_events_status_received; LIMIT bounds it in a burst.
    rows = cast("Sequence[Row[datetime, datetime]]", db.session.execute(
        select(StripeEvent.received_at, StripeEvent.applied_at)
        .where(StripeEvent.status == InboxStatus.APPLIED, StripeEvent.received_at >= now - LATENCY_LOOKBACK,
               StripeEvent.applied_at >= now - LATENCY_WINDOW)
        .order_by(StripeEvent.received_at.desc()).limit(LATENCY_SAMPLE)
    ).all())
    waits = sorted(max((applied - received).total_seconds(), 0.0) for received, applied in rows)
    if not waits:
        return {}
    return {q: waits[min(len(waits) - 1, int(q * len(waits)))] for q in (0.5, 0.9, 0.99)}

"""The Stripe event inbox: store every genuine event first, then apply it exactly once.

    store(event)        insert-or-ignore by event id; the caller commits at once
    apply(stripe_event_id, gateway, now)
                        lock the inbox row, apply it if it is not settled, mark it
    record_failure(...) count the attempt and schedule the next one (backoff)
    waiting_events(now) claim failed rows that are due again, and stored rows never applied

Everything here flushes; `service.jobs` runs each event in its own transaction.

Applying locks the inbox row, then the member row, so the same event arriving
on several connections at once is applied once, and deliveries for one member
run one after the other.
"""
from __future__ import annotations

import logging
import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from flask import current_app
from sqlalchemy import CursorResult, Table, func, or_, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from service.domain.billing.handlers import HANDLERS, Delivery, NotOurs
from service.extensions import db
from service.gateways.stripe_gateway import StripeGateway
from service.logs import log_event
from service.models import InboxStatus, StripeEvent

logger = logging.getLogger(__name__)
SETTLED = (InboxStatus.APPLIED, InboxStatus.IGNORED)  # DEAD is not settled: `events retry --dead` revives it
MAX_BACKOFF = timedelta(hours=6)
# A row still "received" this long after arriving was stored by a process that died before applying it.
STUCK_AFTER = timedelta(minutes=2)


def store(event: dict[str, Any], now: datetime) -> bool:
    """Insert the event unless its id is stored already. Returns whether it was new."""
    values = {
        "stripe_event_id": event["id"],
        "type": event["type"],
        "livemode": bool(event.get("livemode")),
        "api_version": event.get("api_version"),
        "stripe_created_at": datetime.fromtimestamp(int(event.get("created") or now.timestamp()), UTC),
        "object_id": ((event.get("data") or {}).get("object") or {}).get("id"),
        "payload": event,
        "status": InboxStatus.RECEIVED,
        "attempts": 0,
        "received_at": now,
    }
    insert = pg_insert if db.session.get_bind().dialect.name == "postgresql" else sqlite_insert
    # A Core insert on the table: the hot path of every webhook, without ORM bookkeeping.
    statement = insert(cast("Table", StripeEvent.__table__)).values(**values).on_conflict_do_nothing(index_elements=["stripe_event_id"])
    created = cast("CursorResult[Any]", db.session.execute(statement)).rowcount == 1
    if created:
        log_event(logger, "webhook.stored", stripe_event_id=event["id"], type=event["type"])
    return created


def _lock(stripe_event_id: str) -> StripeEvent | None:
    query = (select(StripeEvent).where(StripeEvent.stripe_event_id == stripe_event_id)
             .with_for_update().execution_options(populate_existing=True))
    return db.session.scalars(query).one_or_none()


def apply(stripe_event_id: str, gateway: StripeGateway, now: datetime, row: StripeEvent | None = None) -> InboxStatus:
    """Apply a stored event unless it is settled. Raises whatever applying raised;
    the caller rolls back and calls `record_failure`. `row` is the event when the
    caller has locked it already in this transaction."""
    row = row or _lock(stripe_event_id)
    if row is None:
        raise LookupError(f"event {stripe_event_id} is not in the inbox")
    if row.status in SETTLED:
        return row.status
    row.attempts += 1
    handler = HANDLERS.get(row.type)
    if handler is None:
        return _settle(row, InboxStatus.IGNORED, now, f"no handler for {row.type}")
    if row.livemode != gateway.livemode:
        return _settle(row, InboxStatus.IGNORED, now, "livemode differs from the configured key's mode")
    obj = row.payload.get("data", {}).get("object") or {}
    try:
        member = handler(Delivery(event_id=row.stripe_event_id, obj=obj, gateway=gateway, now=now,
                                  received_at=row.received_at))
    except NotOurs as exc:
        return _settle(row, InboxStatus.IGNORED, now, str(exc))
    row.member_id = member.id
    return _settle(row, InboxStatus.APPLIED, now, None)


def _settle(row: StripeEvent, status: InboxStatus, now: datetime, detail: str | None) -> InboxStatus:
    row.status, row.detail, row.applied_at = status, detail, now
    row.next_attempt_at = row.last_error = None
    db.session.flush()
    log_event(logger, f"webhook.{status}", stripe_event_id=row.stripe_event_id, type=row.type,
              member_id=row.member_id, attempts=row.attempts)
    return status


def backoff(attempts: int) -> timedelta:
    """30 s, 1 min, 2 min, ... capped at 6 hours, with jitter so retries don't stampede."""
    base = min(timedelta(seconds=30 * 2 ** max(attempts - 1, 0)), MAX_BACKOFF)
    return base * random.uniform(0.8, 1.2)


def record_failure(stripe_event_id: str, error: BaseException, now: datetime) -> None:
    """Count a failed attempt on the (rolled back) event and schedule the next one; after
    INBOX_MAX_ATTEMPTS it is dead: an event that can never apply must not retry forever."""
    row = _lock(stripe_event_id)
    if row is None or row.status in SETTLED:
        return
    row.attempts = max(row.attempts, 0) + 1
    row.last_error = f"{type(error).__name__}: {error}"[:2000]
    dead = row.attempts >= current_app.config["INBOX_MAX_ATTEMPTS"]
    row.status = InboxStatus.DEAD if dead else InboxStatus.FAILED
    row.next_attempt_at = None if dead else now + backoff(row.attempts)
    db.session.flush()
    log_event(logger, "webhook.dead" if dead else "webhook.apply_failed", level=logging.ERROR if dead else logging.WARNING,
              stripe_event_id=stripe_event_id, type=row.type, attempts=row.attempts, error=type(error).__name__)


def _waiting(now: datetime, *, include_not_due: bool, received_after: timedelta) -> Any:
    """Events waiting to be applied: failed and due again, or received and not applied in time."""
    failed = StripeEvent.status == InboxStatus.FAILED
    if not include_not_due:
        failed &= StripeEvent.next_attempt_at <= now
    received = (StripeEvent.status == InboxStatus.RECEIVED) & (StripeEvent.received_at <= now - received_after)
    return or_(failed, received)


def count_failed() -> int:
    return db.session.scalar(select(func.count()).where(StripeEvent.status == InboxStatus.FAILED)) or 0


def count_dead() -> int:
    return db.session.scalar(select(func.count()).where(StripeEvent.status == InboxStatus.DEAD)) or 0


def revive_dead(now: datetime) -> int:
    """Give dead events a fresh count of attempts, due now (after the cause is fixed). Flushes."""
    rows = list(db.session.scalars(select(StripeEvent).where(StripeEvent.status == InboxStatus.DEAD)))
    for row in rows:
        row.status, row.attempts, row.next_attempt_at = InboxStatus.FAILED, 0, now
    db.session.flush()
    log_event(logger, "webhook.revived", count=len(rows))
    return len(rows)


def waiting_events(now: datetime, *, include_not_due: bool = False,
                   received_after: timedelta = STUCK_AFTER) -> Iterator[StripeEvent]:
    """Claim waiting events one at a time, in id order, each at most once per pass (one that
    fails again waits for its next turn). Each is locked with FOR UPDATE SKIP LOCKED on
    PostgreSQL, so any number of workers share the backlog; SQLite runs one worker.
    `received_after` is how long a stored event may wait for the request that stored it
    to apply it (0 when webhooks are only stored and the worker applies them).

    The caller ends the transaction after each event (`service.jobs.run_each`); the
    next claim starts a new one.
    """
    waiting = _waiting(now, include_not_due=include_not_due, received_after=received_after)
    last_id = 0
    while True:
        query = select(StripeEvent).where(waiting, StripeEvent.id > last_id).order_by(StripeEvent.id).limit(1)
        row = db.session.scalars(query.with_for_update(skip_locked=True)).first()
        if row is None:
            return
        last_id = row.id
        yield row

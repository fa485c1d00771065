"""The transactional outbox: changes for the outside world, committed with the change.

Domain code calls `enqueue` inside its own transaction (it flushes, never
commits), so an email or a list change exists exactly when the change that
caused it was committed. Delivery happens later, at least once:

- `service.jobs.deliver_outbox` (the worker, and right after a web request's
  commit, though never after a Stripe webhook's) claims a batch of due rows
  (`claim_batch`) with `SELECT ... FOR UPDATE SKIP LOCKED` on PostgreSQL, so any
  number of workers share a backlog and each row is delivered by one of them.
  SQLite has no row locks: run a single worker there.
- Rows with the same `key` go out in id order: a row waits while an older row
  with its key is still pending (e.g. in backoff while the provider is down),
  so a batch holds at most one row per key.
- A claim walks two partial indexes of pending rows only (by id, and by key and
  id for the ordering check), so it costs its batch whatever the backlog.
- A failure schedules a retry with exponential backoff and jitter; after
  OUTBOX_MAX_ATTEMPTS, or at once for a permanent failure, the row is `dead`
  with the reason, for staff to see and `retry_dead`.

Handlers are a table by topic, filled by `@handles(topic)` where each topic is
defined (emails, newsletter provider sync). A handler gets the payload and
returns, or raises; an exception whose `permanent` attribute is true goes
straight to dead. Everything here flushes; the job runner commits.
"""
from __future__ import annotations

import logging
import random
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Any, cast

from flask import current_app
from sqlalchemy import ColumnElement, CursorResult, delete, exists, func, literal_column, select, update
from sqlalchemy.orm import aliased

from service.db import utcnow
from service.extensions import db
from service.logs import log_event
from service.models import OutboxMessage, OutboxStatus

logger = logging.getLogger(__name__)
Handler = Callable[[dict[str, Any]], None]
TimedHandler = Callable[[dict[str, Any], datetime], None]
PENDING_KEYS = "outbox_pending_keys"  # session.info: keys enqueued in this transaction


HANDLERS: dict[str, Handler] = {}
# Handlers that also take the delivery's time (the worker's clock): see `handles_timed`.
TIMED_HANDLERS: dict[str, TimedHandler] = {}


def handles(topic: str) -> Callable[[Handler], Handler]:
    """Register the function that delivers a topic's rows; the module that enqueues the topic
    defines (or imports) its handler, so a topic can never be queued without one."""
    def register(handler: Handler) -> Handler:
        if HANDLERS.setdefault(topic, handler) is not handler:
            raise ValueError(f"outbox topic {topic!r} has a handler already")
        return handler
    return register


def handles_timed(topic: str) -> Callable[[TimedHandler], TimedHandler]:
    """`handles` for a handler called as `handler(payload, now)`: outgoing webhooks keep a delivery
    log and disable an endpoint after days of failures, by the clock the worker delivers with."""
    def register(handler: TimedHandler) -> TimedHandler:
        handles(topic)(lambda payload: handler(payload, utcnow()))
        TIMED_HANDLERS[topic] = handler
        return handler
    return register


def already_queued(dedupe_key: str) -> bool:
    """Whether a message with this dedupe key was queued before (and so would not be again)."""
    return db.session.scalar(select(OutboxMessage.id).where(OutboxMessage.dedupe_key == dedupe_key)) is not None


def enqueue(topic: str, key: str, payload: dict[str, Any], dedupe_key: str | None = None,
            *, now: datetime | None = None) -> OutboxMessage | None:
    """Add a message in the caller's transaction (written at once, not committed).

    With a `dedupe_key` that exists already, adds nothing and returns None:
    "once per invoice attempt" is just a dedupe key naming the attempt.
    """
    if topic not in HANDLERS:
        raise ValueError(f"no outbox handler for topic {topic!r}")
    # One statement: ON CONFLICT settles a race on the unique dedupe key (the loser adds nothing and
    # the caller's work stands), with no look-up first and no savepoint around it.
    statement = (db.insert(OutboxMessage)
                 .values(topic=topic, key=key, payload=payload, dedupe_key=dedupe_key, next_attempt_at=now or utcnow())
                 .on_conflict_do_nothing(index_elements=["dedupe_key"]).returning(OutboxMessage))
    message = db.session.scalars(statement).one_or_none()
    if message is None:
        return None
    db.session.info.setdefault(PENDING_KEYS, set()).add(key)
    log_event(logger, "outbox.enqueued", outbox_id=message.id, topic=topic)
    return message


# A literal, not a bound parameter: the planner must see the partial indexes' predicate
# (status = 'pending') in the query to use them, also in a prepared statement's generic plan.
_PENDING: ColumnElement[Any] = literal_column(f"'{OutboxStatus.PENDING}'")
_DELIVERED: ColumnElement[Any] = literal_column(f"'{OutboxStatus.DELIVERED}'")


def _claim_query(now: datetime, limit: int, keys: Iterable[str] | None):
    older = aliased(OutboxMessage)
    blocked = exists().where(older.key == OutboxMessage.key, older.status == _PENDING, older.id < OutboxMessage.id)
    query = (
        select(OutboxMessage)
        .where(OutboxMessage.status == _PENDING, OutboxMessage.next_attempt_at <= now, ~blocked)
        .order_by(OutboxMessage.id)
        .limit(limit)
        # Another worker may have changed a row this session saw before: read it afresh.
        .execution_options(populate_existing=True)
    )
    if keys is not None:
        query = query.where(OutboxMessage.key.in_(list(keys)))
    if db.session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True, of=OutboxMessage)
    return query


def claim_batch(now: datetime, limit: int, keys: Iterable[str] | None = None) -> list[OutboxMessage]:
    """Lock and return up to `limit` deliverable rows, oldest first: due, and each the oldest
    pending row of its key. `keys` restricts the claim to rows with those keys. The locks last
    until the caller commits; rows another worker holds are skipped."""
    return list(db.session.scalars(_claim_query(now, limit, keys)))


def take_pending_keys() -> set[str]:
    """The keys of the rows queued in this session since the last call (and forget them)."""
    return db.session.info.pop(PENDING_KEYS, None) or set()


def backoff(attempts: int, *, base: int | None = None, cap: int | None = None) -> timedelta:
    """Wait before the next attempt: base * 2^(attempts-1), capped, with up to 25% jitter removed
    so that rows which failed together do not all come back in the same second."""
    base = base if base is not None else current_app.config["OUTBOX_BACKOFF_SECONDS"]
    cap = cap if cap is not None else current_app.config["OUTBOX_BACKOFF_MAX_SECONDS"]
    delay = min(cap, base * 2 ** min(attempts - 1, 30))
    return timedelta(seconds=delay * random.uniform(0.75, 1.0))


def deliver(message: OutboxMessage, now: datetime) -> bool:
    """Run the handler and record the outcome on the row. Returns whether it was delivered."""
    try:
        timed = TIMED_HANDLERS.get(message.topic)
        if timed is not None:
            timed(message.payload, now)
        else:
            HANDLERS[message.topic](message.payload)
    except Exception as exc:  # noqa: BLE001 - any failure is recorded on the row and retried
        _record_failure(message, exc, now)
        return False
    message.status = OutboxStatus.DELIVERED
    message.attempts += 1
    message.delivered_at = now
    message.last_error = None
    log_event(logger, "outbox.delivered", outbox_id=message.id, topic=message.topic, attempts=message.attempts)
    return True


def _record_failure(message: OutboxMessage, exc: Exception, now: datetime) -> None:
    message.attempts += 1
    message.last_error = f"{type(exc).__name__}: {exc}"[:2000]
    permanent = bool(getattr(exc, "permanent", False))
    # `keep_retrying`: the handler bounds its retries itself (an outgoing webhook's endpoint is
    # disabled after three days of failures), so OUTBOX_MAX_ATTEMPTS does not end them first.
    out_of_attempts = message.attempts >= current_app.config["OUTBOX_MAX_ATTEMPTS"]
    if permanent or (out_of_attempts and not getattr(exc, "keep_retrying", False)):
        message.status = OutboxStatus.DEAD
        log_event(logger, "outbox.dead", level=logging.WARNING, outbox_id=message.id, topic=message.topic,
                  attempts=message.attempts, permanent=permanent, error=type(exc).__name__)
        return
    message.next_attempt_at = now + backoff(message.attempts)
    log_event(logger, "outbox.failed", level=logging.WARNING, outbox_id=message.id, topic=message.topic,
              attempts=message.attempts, error=type(exc).__name__, retry_at=message.next_attempt_at.isoformat())


def retry_dead(ids: Iterable[int] | None = None, now: datetime | None = None) -> int:
    """Put dead rows back in the queue, due now, with a fresh attempt count.

    `ids=None` retries every dead row. Returns how many were revived. Flushes.
    """
    query = update(OutboxMessage).where(OutboxMessage.status == OutboxStatus.DEAD)
    if ids is not None:
        query = query.where(OutboxMessage.id.in_(list(ids)))
    result = cast("CursorResult[Any]", db.session.execute(
        query.values(status=OutboxStatus.PENDING, attempts=0, next_attempt_at=now or utcnow()),
        execution_options={"synchronize_session": False},
    ))
    db.session.flush()
    log_event(logger, "outbox.retried", count=result.rowcount)
    return result.rowcount


def status_counts() -> dict[str, int]:
    """How many rows are in each status, for `membership outbox status` and dashboards."""
    rows = db.session.execute(select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status))
    counts = {str(status): 0 for status in OutboxStatus}
    counts.update({str(status): n for status, n in rows})
    return counts


def dead_messages(limit: int = 50) -> list[OutboxMessage]:
    return list(db.session.scalars(
        select(OutboxMessage).where(OutboxMessage.status == OutboxStatus.DEAD)
        .order_by(OutboxMessage.id.desc()).limit(limit)
    ))


def purge_delivered(now: datetime, batch: int = 1000) -> int:
    """Delete delivered messages older than OUTBOX_RETENTION_DAYS, a batch at a time.

    They have done their work, and their payloads may hold addresses; keeping
    them also grows the table without end. Dead messages stay for staff.
    """
    cutoff = now - timedelta(days=current_app.config["OUTBOX_RETENTION_DAYS"])
    # The partial index of delivered rows by delivered_at: the oldest first, never the whole table.
    ids = (select(OutboxMessage.id).where(OutboxMessage.status == _DELIVERED, OutboxMessage.delivered_at < cutoff)
           .order_by(OutboxMessage.delivered_at).limit(batch))
    return cast("CursorResult[Any]", db.session.execute(delete(OutboxMessage).where(OutboxMessage.id.in_(ids.scalar_subquery())))).rowcount

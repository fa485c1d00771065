"""The Stripe event inbox: store every genuine event first, then apply it exactly once.

    store(event)        insert-or-ignore by event id; returns the new row's id
    store_and_apply(event, gateway, now)
                        the webhook request's inline path: store, then apply the row it
                        has just inserted (no second read of it), in one transaction
    claim(now, limit)   lock a batch of events waiting to be applied (FOR UPDATE SKIP LOCKED)
    by_member(rows)     the batch grouped by the member the payloads name
    apply(row, gateway, now)
                        apply a locked row unless it is settled, and mark it
    record_failure(...) count the attempt and schedule the next one (backoff)

Everything here flushes; `service.jobs` owns the transactions: one per webhook
request, one per claimed batch (each member's events in a savepoint of their own).

Applying holds the inbox row's lock (the insert's, or the claim's), then locks
the member row, so the same event arriving on several connections at once is
applied once, and deliveries for one member run one after the other.
"""
from __future__ import annotations

import logging
import random
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from itertools import groupby
from typing import Any, NamedTuple, cast

from flask import current_app
from sqlalchemy import Table, bindparam, func, literal_column, or_, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from service.domain.billing.handlers import HANDLERS, Delivery, NotOurs
from service.extensions import db
from service.gateways.stripe_gateway import StripeGateway
from service.logs import log_event
from service.models import InboxStatus, StripeEvent
from service.models.events import WAITING_SQL

logger = logging.getLogger(__name__)
SETTLED = (InboxStatus.APPLIED, InboxStatus.IGNORED)  # DEAD is not settled: `events retry --dead` revives it
MAX_BACKOFF = timedelta(hours=6)
# A row still "received" this long after arriving was stored by a process that died before applying it.
STUCK_AFTER = timedelta(minutes=2)


class Stored(NamedTuple):
    """An inbox row this transaction holds (inserted or locked): what applying it needs, read
    once, without the ORM's bookkeeping."""

    id: int
    stripe_event_id: str
    type: str
    livemode: bool
    payload: dict[str, Any]
    status: InboxStatus
    attempts: int
    received_at: datetime


_TABLE = cast("Table", StripeEvent.__table__)
COLUMNS = (StripeEvent.id, StripeEvent.stripe_event_id, StripeEvent.type, StripeEvent.livemode, StripeEvent.payload,
           StripeEvent.status, StripeEvent.attempts, StripeEvent.received_at)


def store(event: dict[str, Any], now: datetime) -> int | None:
    """Insert the event unless its id is stored already. Returns the new row's id, or None."""
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
    statement = _STORE[db.session.get_bind().dialect.name]
    row_id: int | None = db.session.execute(statement, values).scalar_one_or_none()
    if row_id is not None:
        log_event(logger, "webhook.stored", stripe_event_id=event["id"], type=event["type"])
    return row_id


def _store_statement(insert: Any) -> Any:
    """INSERT ... ON CONFLICT (stripe_event_id) DO NOTHING RETURNING id, on the table (no ORM
    bookkeeping), built once: the hot path of every webhook then only binds its values. A
    statement built per request cost more CPU than the rest of the acknowledgement together."""
    columns = ("stripe_event_id", "type", "livemode", "api_version", "stripe_created_at", "object_id", "payload",
               "status", "attempts", "received_at")
    return (insert(_TABLE).values({name: bindparam(name, type_=_TABLE.c[name].type) for name in columns})
            .on_conflict_do_nothing(index_elements=["stripe_event_id"]).returning(_TABLE.c.id))


_STORE = {"postgresql": _store_statement(pg_insert), "sqlite": _store_statement(sqlite_insert)}


def store_and_apply(event: dict[str, Any], gateway: StripeGateway, now: datetime) -> InboxStatus:
    """Store a verified event and apply it, in the caller's transaction. A new row is applied as
    inserted (its insert holds its lock until commit); a duplicate is locked and applied only if
    it is not settled. Raises whatever applying raised: the caller rolls back, stores the event
    again and records the failure on it."""
    row_id = store(event, now)
    if row_id is None:
        return apply(lock(event["id"]), gateway, now)
    row = Stored(row_id, event["id"], event["type"], bool(event.get("livemode")), event, InboxStatus.RECEIVED, 0, now)
    return apply(row, gateway, now)


def lock(stripe_event_id: str) -> Stored | None:
    """The event's row, locked until the transaction ends (FOR UPDATE on PostgreSQL)."""
    query = select(*COLUMNS).where(StripeEvent.stripe_event_id == stripe_event_id).with_for_update()
    found = db.session.execute(query).one_or_none()
    return Stored(*found) if found is not None else None


def apply(row: Stored | None, gateway: StripeGateway, now: datetime, fresh: set[str] | None = None) -> InboxStatus:
    """Apply a stored event this transaction holds, unless it is settled. Raises whatever
    applying raised; the caller rolls back (the transaction, or the savepoint) and calls
    `record_failure`. `fresh` names the subscriptions read from Stripe in this unit of work
    after the event was stored (a claimed batch): they are not read again."""
    if row is None:
        raise LookupError("the event is not in the inbox")
    if row.status in SETTLED:
        return row.status
    handler = HANDLERS.get(row.type)
    if handler is None:
        return _settle(row, InboxStatus.IGNORED, now, f"no handler for {row.type}")
    if row.livemode != gateway.livemode:
        return _settle(row, InboxStatus.IGNORED, now, "livemode differs from the configured key's mode")
    obj = (row.payload.get("data") or {}).get("object") or {}
    try:
        member = handler(Delivery(event_id=row.stripe_event_id, obj=obj, gateway=gateway, now=now,
                                  received_at=row.received_at, fresh=set() if fresh is None else fresh))
    except NotOurs as exc:
        return _settle(row, InboxStatus.IGNORED, now, str(exc))
    return _settle(row, InboxStatus.APPLIED, now, None, member_id=member.id)


def _settle(row: Stored, status: InboxStatus, now: datetime, detail: str | None, *,
            member_id: int | None = None) -> InboxStatus:
    """One UPDATE by primary key, on the table (the hot path of every event): an ORM copy of the
    row that the session may hold is not synchronised; whoever holds one refreshes it."""
    db.session.execute(_SETTLE, {"row_id": row.id, "status": status, "detail": detail, "applied_at": now,
                                 "attempts": row.attempts + 1, "member_id": member_id})
    log_event(logger, f"webhook.{status}", stripe_event_id=row.stripe_event_id, type=row.type,
              member_id=member_id, attempts=row.attempts + 1)
    return status


# Built once, as the insert is (`_store_statement`): every applied event runs it.
_SETTLE = update(_TABLE).where(_TABLE.c.id == bindparam("row_id")).values(
    {name: bindparam(name, type_=_TABLE.c[name].type) for name in ("status", "detail", "applied_at", "attempts", "member_id")}
    | {"next_attempt_at": None, "last_error": None})


def backoff(attempts: int) -> timedelta:
    """30 s, 1 min, 2 min, ... capped at 6 hours, with jitter so retries don't stampede."""
    base = min(timedelta(seconds=30 * 2 ** max(attempts - 1, 0)), MAX_BACKOFF)
    return base * random.uniform(0.8, 1.2)


def record_failure(stripe_event_id: str, error: BaseException, now: datetime) -> None:
    """Count a failed attempt on the (rolled back) event and schedule the next one; after
    INBOX_MAX_ATTEMPTS it is dead: an event that can never apply must not retry forever."""
    row = lock(stripe_event_id)
    if row is None or row.status in SETTLED:
        return
    attempts = max(row.attempts, 0) + 1
    dead = attempts >= current_app.config["INBOX_MAX_ATTEMPTS"]
    db.session.execute(update(StripeEvent).where(StripeEvent.id == row.id).values(
        attempts=attempts, last_error=f"{type(error).__name__}: {error}"[:2000],
        status=InboxStatus.DEAD if dead else InboxStatus.FAILED,
        next_attempt_at=None if dead else now + backoff(attempts)))
    log_event(logger, "webhook.dead" if dead else "webhook.apply_failed", level=logging.ERROR if dead else logging.WARNING,
              stripe_event_id=stripe_event_id, type=row.type, attempts=attempts, error=type(error).__name__)


def _waiting(now: datetime, *, include_not_due: bool, received_after: timedelta) -> Any:
    """Events waiting to be applied: failed and due again, or received and not applied in time.

    Statuses are literals, not bound parameters: the driver prepares a statement it runs often,
    and PostgreSQL then plans it once for any parameters. With `status = $1` it may choose to
    collect every waiting row through the (status, received_at) index and sort them, a claim
    that costs the whole backlog; with the literals it walks the partial index of waiting
    events in id order and stops at the batch."""
    failed = StripeEvent.status == _literal(InboxStatus.FAILED)
    if not include_not_due:
        failed &= StripeEvent.next_attempt_at <= now
    received = (StripeEvent.status == _literal(InboxStatus.RECEIVED)) & (StripeEvent.received_at <= now - received_after)
    return text(WAITING_SQL) & or_(failed, received)


def _literal(status: InboxStatus) -> Any:
    return literal_column(f"'{status}'")


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


def claim(now: datetime, limit: int, *, include_not_due: bool = False, received_after: timedelta = STUCK_AFTER,
          after_id: int = 0) -> list[Stored]:
    """Lock up to `limit` waiting events (failed and due again, or stored and not applied within
    `received_after`: 0 when webhooks are only stored and the worker applies them), in id
    order from `after_id`, skipping rows another worker holds (FOR UPDATE SKIP LOCKED on
    PostgreSQL; SQLite runs one worker). The locks last until the caller commits.

    The claim walks the partial index of waiting events only, so it costs its batch whatever
    the number of applied events; `after_id` lets one pass take each event at most once (one
    that fails again waits for its next turn).
    """
    waiting = _waiting(now, include_not_due=include_not_due, received_after=received_after)
    query = (select(*COLUMNS).where(waiting, StripeEvent.id > after_id).order_by(StripeEvent.id).limit(limit)
             .with_for_update(skip_locked=True))
    return [Stored(*found) for found in db.session.execute(query)]


def member_key(row: Stored) -> str:
    """Whose event this is, as far as its payload says: the Stripe customer of its object (one
    customer, one member), else the object itself."""
    obj = (row.payload.get("data") or {}).get("object") or {}
    customer = obj.get("customer")
    customer_id = customer.get("id") if isinstance(customer, dict) else customer
    return str(customer_id or obj.get("id") or row.stripe_event_id)


def by_member(rows: Iterable[Stored]) -> list[list[Stored]]:
    """A claimed batch grouped by `member_key`, each group in id order. Groups come in key order,
    so two workers lock the members of overlapping batches in the same order (no deadlock)."""
    ordered = sorted(rows, key=lambda row: (member_key(row), row.id))
    return [list(group) for _key, group in groupby(ordered, key=member_key)]

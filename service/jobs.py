"""Background work and its transactions: "each item in its own transaction".

`run_each` is the one place that rule lives: for each item, do the work and
commit; on failure roll back, record the failure (and commit that), and go on.
The webhook inbox, the outbox, reconcile and the worker's jobs all go through
it, so domain code only flushes.

`membership worker` runs the jobs in JOBS in a loop until told to stop. A job
is a callable `job(now) -> int` that does one bounded pass of work and returns
how many items it handled (0 when idle). The worker runs every job in turn;
when a whole pass handled nothing it sleeps for `interval` seconds. A job that
raises is logged and rolled back, and the others still run. SIGTERM or SIGINT
stops it after the current job. Any number of workers may run against
PostgreSQL (the jobs claim rows with SKIP LOCKED); on SQLite run one.
"""
from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime, timedelta
from itertools import islice
from typing import TypeVar

from flask import current_app

from service.db import utcnow
from service.domain import outbox
from service.domain.billing import inbox
from service.domain.billing import reconcile as reconciling
from service.domain.members.expiry import expire_ended_access, remind_terms_ending
from service.extensions import db
from service.gateways import payments
from service.gateways.stripe_gateway import StripeGateway
from service.logs import log_event
from service.models import InboxStatus, OutboxMessage

logger = logging.getLogger(__name__)
T = TypeVar("T")
R = TypeVar("R")
Job = Callable[[datetime], int]
OUTBOX_BATCH = 200


# --- the runner ---------------------------------------------------------------------


def run_one(work: Callable[[], R], on_failure: Callable[[Exception], None]) -> R | None:
    """Do `work` and commit. On failure roll back, call `on_failure` (which records it) and
    commit that; returns None then. A failure while recording propagates: nothing is lost
    silently (a webhook request answers 5xx, and Stripe retries)."""
    try:
        result = work()
        db.session.commit()
        return result
    except Exception as exc:  # noqa: BLE001 - any failure is recorded, then retried
        db.session.rollback()
        on_failure(exc)
        db.session.commit()
        return None


def run_each(items: Iterable[T], work: Callable[[T], object], *,
             on_failure: Callable[[T, Exception], None] | None = None, limit: int | None = None,
             tick: Callable[[], None] = lambda: None) -> int:
    """Each item in its own transaction; returns how many items were taken.

    `items` may claim rows lazily (a generator that locks the next row): it is
    advanced only after the previous item's transaction has ended, and not past
    `limit`. The read that finds no more work is ended too.
    """
    taken = 0
    for item in islice(items, limit):
        taken += 1
        # The defaults bind this item; mypy cannot infer a lambda with a default argument (python/mypy#15459).
        run_one(lambda item=item: work(item), lambda exc, item=item: _failed(item, exc, on_failure))  # type: ignore[misc]
        tick()
    db.session.rollback()  # ends the read that found no more work; everything else is committed
    return taken


def _failed(item: T, exc: Exception, on_failure: Callable[[T, Exception], None] | None) -> None:
    if on_failure is not None:
        on_failure(item, exc)
    else:
        log_event(logger, "job.item_failed", level=logging.WARNING, error=type(exc).__name__)


# --- the webhook inbox ----------------------------------------------------------------


def apply_event(stripe_event_id: str, gateway: StripeGateway, now: datetime) -> InboxStatus:
    """Apply one stored event in its own transaction; a failure is recorded (and committed) instead."""
    status = run_one(lambda: inbox.apply(stripe_event_id, gateway, now),
                     lambda exc: inbox.record_failure(stripe_event_id, exc, now))
    return InboxStatus.FAILED if status is None else status


def receive_event(event: dict, gateway: StripeGateway, now: datetime, *, apply_now: bool) -> InboxStatus | None:
    """A verified webhook: store it and commit (from here it cannot be lost; a storage failure
    propagates, so Stripe retries), then, with `apply_now`, apply it in its own transaction.
    Returns the outcome of applying, or None when it was only stored."""
    inbox.store(event, now)
    db.session.commit()
    return apply_event(event["id"], gateway, now) if apply_now else None


def retry_events(now: datetime, gateway: StripeGateway, limit: int = 100, *, include_not_due: bool = False,
                 received_after: timedelta = inbox.STUCK_AFTER) -> int:
    """Apply waiting events (failed and due again, or stored and never applied), each in its own
    transaction. Returns how many were tried."""
    waiting = inbox.waiting_events(now, include_not_due=include_not_due, received_after=received_after)
    # run_each gives each claimed row its transaction and records a failure on it (run_one inside).
    return run_each(waiting, lambda row: inbox.apply(row.stripe_event_id, gateway, now, row),
                    on_failure=lambda row, exc: inbox.record_failure(row.stripe_event_id, exc, now), limit=limit)


def revive_dead_events(now: datetime) -> int:
    """Give dead events a fresh start, committed before any of them is claimed again."""
    revived = inbox.revive_dead(now)
    db.session.commit()
    return revived


# --- the outbox -----------------------------------------------------------------------


def _due_messages(now: datetime | None, keys: Iterable[str] | None) -> Iterator[tuple[OutboxMessage, datetime]]:
    while True:
        when = now or utcnow()
        message = outbox.claim_next(when, keys)
        if message is None:
            return
        yield message, when


def deliver_outbox(limit: int = 100, now: datetime | None = None, *, keys: Iterable[str] | None = None) -> int:
    """Deliver up to `limit` due rows, each in its own transaction (one failure undoes nothing
    else). `keys` restricts delivery to rows with those keys (a web request's own rows).
    Returns how many were attempted."""
    keys = list(keys) if keys is not None else None
    return run_each(_due_messages(now, keys), lambda claimed: outbox.deliver(*claimed), limit=limit)


def deliver_queued() -> int:
    """Best effort: deliver what this session enqueued, right after its commit. Never raises."""
    keys = db.session.info.pop(outbox.PENDING_KEYS, None)
    if not keys or not current_app.config["OUTBOX_DELIVER_INLINE"]:
        return 0
    try:
        return deliver_outbox(limit=len(keys) * 5, keys=keys)
    except Exception as exc:  # noqa: BLE001 - the worker delivers whatever this misses
        db.session.rollback()
        log_event(logger, "outbox.inline_failed", level=logging.ERROR, exc_info=exc)
        return 0


# --- reconcile ------------------------------------------------------------------------


def reconcile(gateway: StripeGateway, now: datetime, *,
              tick: Callable[[str], None] = lambda _: None) -> reconciling.Report:
    """Re-sync every subscription on the account (one transaction each), then store and apply
    the events of the last 30 days that never reached the inbox."""
    report = reconciling.Report()
    report.subscriptions = run_each(
        gateway.list_subscriptions(), lambda sub: reconciling.reconcile_subscription(sub, gateway, now, report),
        on_failure=lambda sub, exc: reconciling.subscription_failed(sub, exc, report),
        tick=lambda: tick("subscriptions"))
    for event in list(reconciling.missed_events(gateway, now)):
        report.events_missing += 1
        inbox.store(event, now)
        db.session.commit()
        report.events_applied += apply_event(event["id"], gateway, now) is not InboxStatus.FAILED
        tick("events")
    return reconciling.finished(report)


# --- the worker's jobs ----------------------------------------------------------------


def retry_inbox(now: datetime) -> int:
    """Apply Stripe events whose apply failed (when due again) or that were stored and never applied."""
    # When webhooks are only stored, applying them is this job's work, at once.
    inline = current_app.config["WEBHOOK_APPLY_INLINE"]
    return retry_events(now, payments(), received_after=inbox.STUCK_AFTER if inline else timedelta(0))


def deliver_due_outbox(now: datetime) -> int:
    return deliver_outbox(limit=OUTBOX_BATCH)


def expire_access(now: datetime) -> int:
    """Access that ended by time alone; one transaction for the batch (it locks only those members)."""
    changed = expire_ended_access(now)
    db.session.commit()
    return changed


def remind_terms(now: datetime) -> int:
    """Term memberships ending soon get their reminder; one transaction for the batch."""
    reminded = remind_terms_ending(now)
    db.session.commit()
    return reminded


def purge_outbox(now: datetime) -> int:
    purged = outbox.purge_delivered(now)
    db.session.commit()
    return purged


JOBS: dict[str, Job] = {
    "inbox": retry_inbox,
    "outbox": deliver_due_outbox,
    "newsletter_access": expire_access,
    "term_reminders": remind_terms,
    "outbox_retention": purge_outbox,
}


def run_pass(jobs: dict[str, Job] | None = None, now: datetime | None = None) -> int:
    """Run every job once. Returns the total handled. Never raises for a failing job."""
    total = 0
    for name, job in (jobs or JOBS).items():
        try:
            total += job(now or utcnow())
        except Exception as exc:  # noqa: BLE001 - one broken job must not stop the others
            db.session.rollback()
            log_event(logger, "worker.job_failed", level=logging.ERROR, job=name, exc_info=exc)
    return total


class Worker:
    """The loop, with a stop flag that signal handlers set."""

    def __init__(self, interval: float = 5.0, jobs: dict[str, Job] | None = None):
        self.interval = interval
        self.jobs = jobs
        self.stopping = threading.Event()

    def stop(self, *_args: object) -> None:
        self.stopping.set()

    def install_signal_handlers(self) -> None:
        signal.signal(signal.SIGTERM, self.stop)
        signal.signal(signal.SIGINT, self.stop)

    def run(self, *, once: bool = False) -> int:
        """Loop until stopped (or one pass with `once`). Returns the total items handled."""
        log_event(logger, "worker.started", interval=self.interval, jobs=",".join(self.jobs or JOBS))
        total = 0
        while not self.stopping.is_set():
            handled = run_pass(self.jobs)
            total += handled
            if once:
                break
            if handled == 0:
                self.stopping.wait(self.interval)  # wakes at once on a signal
        log_event(logger, "worker.stopped", handled=total)
        return total

"""Background work and its transactions: "each item in its own transaction".

`run_each` is the one place that rule lives: for each item, do the work and
commit; on failure roll back, record the failure (and commit that), and go on.
Reconcile and the webhook request go through it (`run_one`), so domain code
only flushes. The worker's inbox pass claims a batch and goes through
`run_batch` instead: one transaction and one commit per batch, each member's
events in a savepoint of their own, so one bad event does not sink the others
and the cost per event does not include a commit. The outbox pass also commits
once per claimed batch; a failed delivery is recorded on its row by
`outbox.deliver`, which never raises for it.

`membership worker` runs the jobs in JOBS in a loop until told to stop. A job
is a callable `job(now) -> int` that does one bounded pass of work and returns
how many items it handled (0 when idle). The worker runs every job in turn;
when a whole pass handled nothing it sleeps for `interval` seconds. A job that
raises is logged and rolled back, and the others still run. SIGTERM or SIGINT
stops it after the current job. Any number of workers may run against
PostgreSQL (the jobs claim rows with SKIP LOCKED); on SQLite run one. With
`threads`, one worker applies Stripe events in that many threads (`Worker`).
"""
from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timedelta
from itertools import islice
from typing import TypeVar

from flask import Flask, current_app

from service.db import utcnow
from service.domain import outbox
from service.domain.billing import inbox, revenue
from service.domain.billing import reconcile as reconciling
from service.domain.giving import gifts
from service.domain.insight import snapshots
from service.domain.integrations import webhooks
from service.domain.members.expiry import expire_ended_access, remind_terms_ending
from service.domain.staff import alerts
from service.extensions import db
from service.gateways import payments
from service.gateways.stripe_gateway import StripeGateway
from service.logs import log_event
from service.models import InboxStatus

logger = logging.getLogger(__name__)
T = TypeVar("T")
R = TypeVar("R")
Job = Callable[[datetime], int]
INBOX_PASS = 500  # Stripe events per worker pass (the pass's other jobs cost the same however many)
OUTBOX_BATCH = 200  # outbox rows per worker pass
CLAIM_BATCH = 100  # rows claimed, applied or delivered, and committed together
# Stripe events a worker's thread claims and commits at once (`Worker`): the batch holds its members'
# locks until it commits, while its reads wait their turn in the process's token bucket with the others'.
THREAD_PASS = 10


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


def run_batch(groups: Iterable[Sequence[T]], work: Callable[[Sequence[T]], object], *,
              on_failure: Callable[[T, Exception], None]) -> int:
    """A claimed batch in one transaction: each group of items in a savepoint of its own, then
    one commit. A group that fails is rolled back to its savepoint and its items are tried
    again one at a time, each in its own savepoint, so only the item that fails is recorded as
    failed (`on_failure`, in the batch's transaction) and the rest of the batch goes on.
    Returns how many items were taken. A failure while recording rolls the whole batch back
    and propagates: its rows stay waiting, and the next pass claims them again."""
    taken = 0
    try:
        for group in groups:
            taken += len(group)
            try:
                with db.session.begin_nested():
                    work(group)
            except Exception as exc:  # noqa: BLE001 - rolled back to the savepoint; recorded below
                if len(group) == 1:
                    on_failure(group[0], exc)
                else:
                    _one_at_a_time(group, work, on_failure)
        db.session.commit()
        # The session outlives the batch (a worker's loop) and keeps what it loaded after commit:
        # the next batch reads afresh whatever another process may have changed since.
        db.session.expire_all()
    except BaseException:
        db.session.rollback()
        raise
    return taken


def _one_at_a_time(group: Sequence[T], work: Callable[[Sequence[T]], object],
                   on_failure: Callable[[T, Exception], None]) -> None:
    for item in group:
        try:
            with db.session.begin_nested():
                work([item])
        except Exception as exc:  # noqa: BLE001 - recorded on the item
            on_failure(item, exc)


# --- the webhook inbox ----------------------------------------------------------------


def apply_event(stripe_event_id: str, gateway: StripeGateway, now: datetime) -> InboxStatus:
    """Apply one stored event in its own transaction; a failure is recorded (and committed) instead."""
    status = run_one(lambda: inbox.apply(inbox.lock(stripe_event_id), gateway, now),
                     lambda exc: inbox.record_failure(stripe_event_id, exc, now))
    return InboxStatus.FAILED if status is None else status


def receive_event(event: dict, gateway: StripeGateway, now: datetime, *, apply_now: bool) -> InboxStatus | None:
    """A verified webhook. Without `apply_now`: store it and commit (a storage failure propagates,
    so Stripe retries). With it: store and apply it in one transaction; if applying fails, that
    is rolled back and the event is stored with the failure recorded on it instead. Either way
    the event is committed before the request answers 2xx, and whatever applying queued in the
    outbox is left to the worker: the webhook answers before anything slow.
    Returns the outcome of applying, or None when it was only stored."""
    if not apply_now:
        inbox.store(event, now)
        db.session.commit()
        return None
    status = run_one(lambda: inbox.store_and_apply(event, gateway, now),
                     lambda exc: _store_failed(event, exc, now))
    outbox.take_pending_keys()
    return InboxStatus.FAILED if status is None else status


def _store_failed(event: dict, exc: Exception, now: datetime) -> None:
    inbox.store(event, now)
    inbox.record_failure(event["id"], exc, now)


def apply_claimed(rows: Sequence[inbox.Stored], gateway: StripeGateway, now: datetime) -> int:
    """Apply a claimed batch and commit it: each member's events in their own savepoint, in id
    order, sharing their Stripe reads (a burst for one subscription costs one read)."""
    return run_batch(inbox.by_member(rows), lambda group: _apply_group(group, gateway, now),
                     on_failure=lambda row, exc: inbox.record_failure(row.stripe_event_id, exc, now))


def _apply_group(group: Sequence[inbox.Stored], gateway: StripeGateway, now: datetime) -> None:
    fresh: set[str] = set()
    for row in group:
        inbox.apply(row, gateway, now, fresh)


def retry_events(now: datetime, gateway: StripeGateway, limit: int = 100, *, include_not_due: bool = False,
                 received_after: timedelta = inbox.STUCK_AFTER) -> int:
    """Apply waiting events (failed and due again, or stored and never applied), a claimed batch
    at a time, each event at most once. Returns how many were tried."""
    return _apply_waiting(now, gateway, limit, include_not_due=include_not_due, received_after=received_after)[0]


def _apply_waiting(now: datetime, gateway: StripeGateway, limit: int, *, include_not_due: bool = False,
                   received_after: timedelta, after_id: int = 0) -> tuple[int, int]:
    """`retry_events` from `after_id` on; returns how many were tried and the last id claimed."""
    tried = 0
    while tried < limit:
        rows = inbox.claim(now, min(CLAIM_BATCH, limit - tried), include_not_due=include_not_due,
                           received_after=received_after, after_id=after_id)
        if not rows:
            break
        tried += apply_claimed(rows, gateway, now)
        after_id = rows[-1].id
    db.session.rollback()  # ends the read that found no more work
    return tried, after_id


def revive_dead_events(now: datetime) -> int:
    """Give dead events a fresh start, committed before any of them is claimed again."""
    revived = inbox.revive_dead(now)
    db.session.commit()
    return revived


# --- the outbox -----------------------------------------------------------------------


def deliver_outbox(limit: int = 100, now: datetime | None = None, *, keys: Iterable[str] | None = None) -> int:
    """Deliver up to `limit` due rows, a claimed batch at a time, one commit per batch. A failed
    delivery is recorded on its row (backoff, or dead) and undoes nothing else; only a failure of
    the database itself ends the batch uncommitted, and then its rows go out again (delivery is
    at least once). `keys` restricts delivery to rows with those keys (a web request's own rows).
    Returns how many were attempted."""
    keys = list(keys) if keys is not None else None
    attempted = 0
    while attempted < limit:
        when = now or utcnow()
        batch = outbox.claim_batch(when, min(CLAIM_BATCH, limit - attempted), keys)
        if not batch:
            break
        try:
            for message in batch:
                outbox.deliver(message, when)  # records a failed delivery on its row; never raises for it
            db.session.commit()
        except BaseException:
            db.session.rollback()
            raise
        attempted += len(batch)
    db.session.rollback()  # ends the read that found no more work
    return attempted


def deliver_queued() -> int:
    """Best effort: deliver what this session enqueued, right after its commit (other requests
    than Stripe's webhooks, with OUTBOX_DELIVER_INLINE). Never raises."""
    keys = outbox.take_pending_keys()
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
        report.events_applied += receive_event(event, gateway, now, apply_now=True) is not InboxStatus.FAILED
        tick("events")
    return reconciling.finished(report)


# --- the worker's jobs ----------------------------------------------------------------


class InboxJob:
    """Apply Stripe events whose apply failed (when due again) or that were stored and never applied.

    While its passes keep filling up (a backlog), a pass resumes after the last event the previous
    one claimed: the index of waiting events still holds entries for the events just applied until
    vacuum removes them, and a claim from the start would walk over all of them each time. A pass
    that comes up short has reached the end, and the next one starts from the beginning again (as
    one does every RESTART_AFTER at the latest), for failed events due again and rows another
    worker held. With `keep_place` (a worker's threads, `Worker`) only RESTART_AFTER starts it over:
    many threads claiming small batches come up short often, and a claim from the start walks
    every applied event the index still holds until vacuum, which a storm outpaces."""

    RESTART_AFTER = timedelta(seconds=30)

    def __init__(self, per_pass: int = INBOX_PASS, *, keep_place: bool = False) -> None:
        self.per_pass, self.keep_place = per_pass, keep_place
        self.after_id, self.started_at = 0, utcnow()

    def __call__(self, now: datetime) -> int:
        if now - self.started_at > self.RESTART_AFTER:
            self.after_id = 0
        if self.after_id == 0:
            self.started_at = now
        # When webhooks are only stored, applying them is this job's work, at once.
        inline = current_app.config["WEBHOOK_APPLY_INLINE"]
        tried, last_id = _apply_waiting(now, payments(), self.per_pass, after_id=self.after_id,
                                        received_after=inbox.STUCK_AFTER if inline else timedelta(0))
        self.after_id = last_id if tried == self.per_pass or self.keep_place else 0
        return tried


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


def deliver_gifts(now: datetime) -> int:
    """Gift memberships whose delivery day has come are emailed; unredeemed ones expire after a year."""
    changed = gifts.deliver_due(now)
    db.session.commit()
    return changed


def purge_outbox(now: datetime) -> int:
    """Delivered outbox messages past OUTBOX_RETENTION_DAYS, and outgoing-webhook events (with their
    delivery logs) past 30 days."""
    purged = outbox.purge_delivered(now) + webhooks.purge_old_events(now)
    db.session.commit()
    return purged


class StaffAlertsJob:
    """Queue the staff alerts that are due (domain/staff/alerts.py), in one transaction; at most
    once a minute per worker, as the spike's figures read an hour of Stripe events."""

    EVERY = timedelta(minutes=1)

    def __init__(self) -> None:
        self.checked_at: datetime | None = None

    def __call__(self, now: datetime) -> int:
        if self.checked_at is not None and timedelta(0) <= now - self.checked_at < self.EVERY:
            return 0
        self.checked_at = now
        queued = alerts.check(now)
        db.session.commit()
        return queued


def count_revenue(now: datetime) -> int:
    """Count the recurring revenue of invoices written before it was kept (see revenue.py)."""
    counted = revenue.record_uncounted()
    db.session.commit()
    return counted


def refresh_insight(now: datetime) -> int:
    """Compute the dashboard's stored twelve-month figures again before they expire (rendered as
    for a request: their HTML has the console's links)."""
    with current_app.test_request_context(base_url=current_app.config["BASE_URL"]):
        refreshed = snapshots.refresh_due(now)
    db.session.commit()
    return refreshed


JOBS: dict[str, Job] = {
    "inbox": InboxJob(),
    "outbox": deliver_due_outbox,
    "newsletter_access": expire_access,
    "term_reminders": remind_terms,
    "gifts": deliver_gifts,
    "outbox_retention": purge_outbox,
    "staff_alerts": StaffAlertsJob(),
    "insight": refresh_insight,
    "revenue": count_revenue,
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
    """The loop, with a stop flag that signal handlers set.

    With `threads` above 1 (PostgreSQL only), Stripe events are applied by that many threads,
    each running an InboxJob of its own in a loop (a batch of THREAD_PASS events a pass, keeping
    its place between passes), in an app context (and so a database session and connection) of
    its own; the other jobs stay in the main loop. Their Stripe reads then wait in parallel, and
    the gateway's token bucket, one per process, spaces them all. Each thread claims its own
    batch (SKIP LOCKED: an event is in one batch at most) and applies it as one worker does, so
    an event is still applied once; a member whose events fall into two threads' batches has
    them applied one batch after the other, since applying locks the member row (and holds it
    until the batch commits) before reading from Stripe, and every read then sees what the other
    batch's events changed. Batches lock their members in key order (`inbox.by_member`), as two
    workers' do, so threads do not deadlock."""

    def __init__(self, interval: float = 5.0, jobs: dict[str, Job] | None = None, threads: int = 1):
        self.interval = interval
        self.jobs = jobs
        self.threads = threads
        self.stopping = threading.Event()
        self.thread: threading.Thread | None = None

    def stop(self, *_args: object) -> None:
        self.stopping.set()

    def start_thread(self, app: Flask) -> threading.Thread:
        """Run the loop in a daemon thread of this process, in an app context of its own
        (`membership serve`: the development server does its own background work)."""

        def loop() -> None:
            with app.app_context():
                self.run()

        self.thread = threading.Thread(target=loop, name="membership-worker", daemon=True)
        self.thread.start()
        return self.thread

    def stop_thread(self, timeout: float = 10.0) -> None:
        """Stop the thread `start_thread` started, after its current job."""
        self.stop()
        if self.thread is not None:
            self.thread.join(timeout)

    def install_signal_handlers(self) -> None:
        signal.signal(signal.SIGTERM, self.stop)
        signal.signal(signal.SIGINT, self.stop)

    def run(self, *, once: bool = False) -> int:
        """Loop until stopped (or one pass with `once`). Returns the total items handled."""
        jobs = self.jobs or JOBS
        threads = self._applier_threads(jobs)
        log_event(logger, "worker.started", interval=self.interval, jobs=",".join(jobs), threads=threads)
        if threads > 1:
            applied: list[int] = []
            appliers = self._start_appliers(current_app._get_current_object(), threads, once, applied)  # type: ignore[attr-defined]
            jobs = {name: job for name, job in jobs.items() if name != "inbox"}
        total = self._loop(jobs, once=once)
        if threads > 1:
            for applier in appliers:  # each stops after its current pass, as the main loop did
                applier.join()
            total += sum(applied)
        log_event(logger, "worker.stopped", handled=total)
        return total

    def _loop(self, jobs: dict[str, Job], *, once: bool, full: int = 0) -> int:
        """Passes until stopped; with `once`, one pass, or with `full`, until a pass handles fewer."""
        total = 0
        while not self.stopping.is_set():
            handled = run_pass(jobs) if jobs else 0
            total += handled
            if once and (not full or handled < full):
                break
            if handled == 0:
                self.stopping.wait(self.interval)  # wakes at once on a signal
        return total

    def _applier_threads(self, jobs: dict[str, Job]) -> int:
        """How many threads apply Stripe events: one (the main loop) unless asked for more, the
        jobs include the inbox, and the database is PostgreSQL (SQLite claims without locks)."""
        if self.threads <= 1 or "inbox" not in jobs:
            return 1
        if db.engine.dialect.name != "postgresql":
            log_event(logger, "worker.threads_need_postgresql", level=logging.WARNING, threads=self.threads)
            return 1
        return self.threads

    def _start_appliers(self, app: Flask, threads: int, once: bool, applied: list[int]) -> list[threading.Thread]:
        started = [threading.Thread(target=self._apply_loop, args=(app, once, applied), name=f"membership-inbox-{n}",
                                    daemon=True) for n in range(threads)]
        for thread in started:
            thread.start()
        return started

    def _apply_loop(self, app: Flask, once: bool, applied: list[int]) -> None:
        """A thread's loop: inbox passes until stopped; with `once`, until a pass comes up short."""
        with app.app_context():
            applied.append(self._loop({"inbox": InboxJob(per_pass=THREAD_PASS, keep_place=True)}, once=once,
                                      full=THREAD_PASS))

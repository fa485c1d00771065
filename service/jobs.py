"""`membership worker`: runs the background jobs in a loop until told to stop.

JOBS is the table of jobs. A job is a callable `job(now) -> int` that does
one bounded pass of work, commits its own transactions, and returns how many
items it handled (0 when idle). To add one, append to the table:

    JOBS["inbox_retry"] = retry_due_events

The worker runs every job in turn; when a whole pass handled nothing it sleeps
for `interval` seconds. A job that raises is logged and rolled back, and the
others still run. SIGTERM or SIGINT stops it after the current job. Any
number of workers may run against PostgreSQL (the jobs claim rows with
SKIP LOCKED); on SQLite run one.
"""
from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable
from datetime import datetime, timedelta

from service.db import utcnow
from service.extensions import db
from service.logs import log_event

logger = logging.getLogger(__name__)
Job = Callable[[datetime], int]
OUTBOX_BATCH = 200


def deliver_outbox(now: datetime) -> int:
    from service.domain.outbox import deliver_due

    return deliver_due(limit=OUTBOX_BATCH)


def expire_newsletter_access(now: datetime) -> int:
    from service.domain.newsletter.subscriptions import expire_ended_access

    return expire_ended_access(now)


def retry_inbox(now: datetime) -> int:
    """Apply Stripe events whose apply failed (when due again) or that were stored and never applied."""
    from flask import current_app

    from service.domain.billing.inbox import STUCK_AFTER, retry_due
    from service.gateways import billing

    # When webhooks are only stored, applying them is this job's work, at once.
    inline = current_app.config["WEBHOOK_APPLY_INLINE"]
    return retry_due(now, billing(), received_after=STUCK_AFTER if inline else timedelta(0))


def purge_outbox(now: datetime) -> int:
    from service.domain.outbox import purge_delivered

    return purge_delivered(now)


JOBS: dict[str, Job] = {
    "inbox": retry_inbox,
    "outbox": deliver_outbox,
    "newsletter_access": expire_newsletter_access,
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

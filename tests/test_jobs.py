"""`membership worker`: the job table, one pass with --once, clean stops, and several workers on PostgreSQL."""
from __future__ import annotations

import os
import signal
import threading
import time
from collections import Counter, defaultdict

import pytest
from sqlalchemy import delete, select

from service import jobs as worker
from service.domain import outbox
from service.models import OutboxMessage, OutboxStatus


def test_the_job_table_runs_outbox_delivery_and_newsletter_expiry():
    assert {"outbox", "newsletter_access"} <= set(worker.JOBS)


def test_worker_once_delivers_what_is_due(cli, db_session):
    from service.domain.emails import queue_welcome
    from tests.factories import make_member

    message = queue_welcome(make_member())
    db_session.commit()
    result = cli("worker", "--once")
    assert result.exit_code == 0, result.output
    assert "worker stopped; handled 1" in result.output
    db_session.refresh(message)
    assert message.status is OutboxStatus.DELIVERED


def test_a_failing_job_is_logged_and_the_others_still_run(db_session, caplog):
    ran = []

    def broken(now):
        raise RuntimeError("boom")

    def fine(now):
        ran.append(now)
        return 2

    assert worker.run_pass({"broken": broken, "fine": fine}) == 2
    assert len(ran) == 1
    assert any(r.getMessage() == "worker.job_failed" and r.fields["job"] == "broken" for r in caplog.records)


def test_sigterm_stops_the_loop_cleanly(db_session):
    runner = worker.Worker(interval=30, jobs={"idle": lambda now: 0})
    saved = signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)
    runner.install_signal_handlers()
    try:
        threading.Timer(0.2, os.kill, (os.getpid(), signal.SIGTERM)).start()
        started = time.monotonic()
        assert runner.run() == 0
        assert time.monotonic() - started < 5  # woke from its 30 s sleep at once
    finally:
        signal.signal(signal.SIGTERM, saved[0])
        signal.signal(signal.SIGINT, saved[1])


@pytest.fixture
def isolated_app(database_url):
    """An app whose sessions commit for real (workers in threads cannot share the test's transaction)."""
    from service import create_app
    from tests.conftest import config_for_tests

    app = create_app(config_for_tests(database_url))
    yield app
    app.extensions["db_engine"].dispose()


def test_two_workers_deliver_each_row_exactly_once_in_order_per_key(isolated_app, is_postgres, monkeypatch):
    if not is_postgres:
        pytest.skip("needs PostgreSQL: SQLite has no row locks (FOR UPDATE SKIP LOCKED), so it runs one worker")
    from service.extensions import db

    seen: list[tuple[str, int]] = []
    lock = threading.Lock()

    def record(payload):
        time.sleep(0.001)  # give the other worker a chance to contend
        with lock:
            seen.append((payload["key"], payload["n"]))

    monkeypatch.setitem(outbox.HANDLERS, "test.parallel", record)
    total = 400
    with isolated_app.app_context():
        for n in range(total):
            key = f"parallel:{n % 20}"
            outbox.enqueue("test.parallel", key, {"key": key, "n": n})
        db.session.commit()
        ids = list(db.session.scalars(select(OutboxMessage.id).where(OutboxMessage.topic == "test.parallel")))

    def run_worker():
        with isolated_app.app_context():
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and len(seen) < total:
                if worker.deliver_outbox(50) == 0:
                    time.sleep(0.01)  # the rest is locked by the other worker or waits on its key

    try:
        threads = [threading.Thread(target=run_worker) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        with isolated_app.app_context():
            statuses = Counter(db.session.scalars(select(OutboxMessage.status).where(OutboxMessage.id.in_(ids))))
    finally:
        with isolated_app.app_context():
            db.session.execute(delete(OutboxMessage).where(OutboxMessage.id.in_(ids)))
            db.session.commit()
    assert statuses == {OutboxStatus.DELIVERED: total}
    assert sorted(Counter(seen).values()) == [1] * total  # each row once
    per_key = defaultdict(list)
    for key, n in seen:
        per_key[key].append(n)
    assert all(ns == sorted(ns) for ns in per_key.values())

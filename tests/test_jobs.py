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


def test_the_claims_walk_the_partial_indexes_of_waiting_rows(db_session, is_postgres):
    """A claim costs its batch, not the size of the tables or of the backlog: it walks the small
    indexes of rows still waiting, in id order, and stops at the batch (no sort of the whole
    backlog). bench/webhooks.py measures the cost flat from 1,000 to 50,000 waiting."""
    if not is_postgres:
        pytest.skip("PostgreSQL's plans: the claims lock rows with FOR UPDATE SKIP LOCKED there")
    from datetime import timedelta

    from sqlalchemy import event

    from service.db import utcnow
    from service.domain.billing import inbox

    connection = db_session.connection()
    # A backlog and a history, with statistics that know it (all rolled back with the test).
    connection.exec_driver_sql(
        "INSERT INTO outbox (topic, key, payload, status, attempts, next_attempt_at, created_at, delivered_at) "
        "SELECT 'email', 'email:member:' || mod(i, 500), '{}', CASE WHEN mod(i, 4) = 0 THEN 'pending' ELSE 'delivered' END, "
        "0, now() - interval '1 minute', now(), now() FROM generate_series(1, 8000) AS i")
    connection.exec_driver_sql(
        "INSERT INTO stripe_events (stripe_event_id, type, livemode, stripe_created_at, payload, status, attempts, "
        "received_at) SELECT 'evt_claim_' || i, 'invoice.paid', false, now(), '{}', "
        "CASE WHEN mod(i, 4) = 0 THEN 'received' ELSE 'applied' END, 0, now() - interval '1 minute' "
        "FROM generate_series(1, 8000) AS i")
    connection.exec_driver_sql("ANALYZE outbox, stripe_events")
    seen: list[tuple[str, object]] = []
    engine = db_session.get_bind().engine

    def record(conn, cursor, statement, parameters, context, executemany):
        seen.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", record)
    try:
        assert len(outbox.claim_batch(utcnow(), 100)) == 100
        assert len(inbox.claim(utcnow(), 100, received_after=timedelta(0))) == 100
    finally:
        event.remove(engine, "before_cursor_execute", record)
    (outbox_sql, outbox_params), (inbox_sql, inbox_params) = [(sql, params) for sql, params in seen
                                                              if sql.lstrip().upper().startswith("SELECT")]
    plan = " | ".join(row[0] for row in connection.exec_driver_sql("EXPLAIN " + outbox_sql, outbox_params))
    assert "Index Scan using ix_outbox_pending on" in plan and "ix_outbox_pending_key" in plan, plan
    assert "Sort" not in plan, plan
    plan = " | ".join(row[0] for row in connection.exec_driver_sql("EXPLAIN " + inbox_sql, inbox_params))
    assert "ix_stripe_events_waiting" in plan and "Sort" not in plan, plan


def test_the_inbox_job_resumes_after_a_full_pass_and_starts_over_after_a_short_one(app, monkeypatch):
    """Draining a backlog, a pass claims after the last event the previous one took (not over the
    index entries of the events it just applied); once a pass comes up short, or after
    RESTART_AFTER, it starts from the beginning (failed events due again, rows another worker held)."""
    from datetime import timedelta

    from service.db import utcnow

    starts: list[int] = []
    passes = iter([(worker.INBOX_PASS, 900), (worker.INBOX_PASS, 1400), (3, 1410), (worker.INBOX_PASS, 2000),
                   (worker.INBOX_PASS, 2500)])

    def apply_waiting(now, gateway, limit, *, after_id, received_after):
        starts.append(after_id)
        return next(passes)

    monkeypatch.setattr(worker, "_apply_waiting", apply_waiting)
    monkeypatch.setattr(worker, "payments", lambda: None)
    job, now = worker.InboxJob(), utcnow()
    with app.app_context():
        for _ in range(4):
            job(now)
        job(now + worker.InboxJob.RESTART_AFTER + timedelta(seconds=1))
    assert starts == [0, 900, 1400, 0, 0]


# --- threads applying Stripe events ------------------------------------------------------------


def test_worker_threads_come_from_the_setting_at_most_sixteen():
    from service.config import ConfigError, load_config

    assert load_config(environ={"MEMBERSHIP_ENV": "test"})["WORKER_THREADS"] == 1
    assert load_config(environ={"MEMBERSHIP_ENV": "test", "WORKER_THREADS": "8"})["WORKER_THREADS"] == 8
    for bad in ("0", "17"):
        with pytest.raises(ConfigError, match="WORKER_THREADS"):
            load_config(environ={"MEMBERSHIP_ENV": "test", "WORKER_THREADS": bad})


def test_the_worker_command_refuses_a_thread_count_out_of_range(cli):
    for bad in ("0", "17"):
        result = cli("worker", "--once", "--threads", bad)
        assert result.exit_code == 2 and "--threads" in result.output


def test_on_sqlite_threads_fall_back_to_the_main_loop(db_session, is_postgres, caplog):
    """SQLite claims rows without locks, so two threads could apply one event twice: one runs."""
    if is_postgres:
        pytest.skip("on PostgreSQL the threads run (tests/domain/billing/test_concurrency.py)")
    ran: list[str] = []

    def inbox(now):
        ran.append(threading.current_thread().name)
        return 0

    assert worker.Worker(jobs={"inbox": inbox}, threads=4).run(once=True) == 0
    assert ran == [threading.current_thread().name]
    assert any(r.getMessage() == "worker.threads_need_postgresql" for r in caplog.records)


def test_a_threads_inbox_job_keeps_its_place_after_a_short_pass(app, monkeypatch):
    """A worker's threads claim small batches and often come up short: their job starts over only
    every RESTART_AFTER, not after each short pass (a claim from the start walks every applied event
    the index still holds until vacuum)."""
    from datetime import timedelta

    from service.db import utcnow

    starts: list[int] = []
    passes = iter([(10, 900), (3, 910), (0, 910), (10, 2000), (1, 2005)])

    def apply_waiting(now, gateway, limit, *, after_id, received_after):
        starts.append(after_id)
        return next(passes)

    monkeypatch.setattr(worker, "_apply_waiting", apply_waiting)
    monkeypatch.setattr(worker, "payments", lambda: None)
    job, now = worker.InboxJob(per_pass=10, keep_place=True), utcnow()
    with app.app_context():
        for _ in range(4):
            job(now)
        job(now + worker.InboxJob.RESTART_AFTER + timedelta(seconds=1))
    assert starts == [0, 900, 910, 910, 0]

"""The transactional outbox: enqueue with dedupe, per-key order, backoff, dead letters, retry."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from service import jobs
from service.db import utcnow
from service.domain import outbox
from service.models import OutboxMessage, OutboxStatus


class Recorder:
    """A handler that records payloads, failing while `failures` says so."""

    def __init__(self) -> None:
        self.seen: list[dict] = []
        self.failures: list[Exception] = []

    def __call__(self, payload: dict) -> None:
        if self.failures:
            raise self.failures.pop(0)
        self.seen.append(payload)


class Permanent(Exception):
    permanent = True


@pytest.fixture
def handler(monkeypatch) -> Recorder:
    recorder = Recorder()
    monkeypatch.setitem(outbox.HANDLERS, "test", recorder)
    return recorder


def rows(db_session) -> list[OutboxMessage]:
    db_session.expire_all()
    return list(db_session.scalars(select(OutboxMessage).where(OutboxMessage.topic == "test").order_by(OutboxMessage.id)))


def test_enqueue_adds_a_pending_row_in_the_callers_transaction(db_session, handler):
    message = outbox.enqueue("test", "k1", {"n": 1})
    assert message.id is not None and message.status is OutboxStatus.PENDING and message.attempts == 0


def test_a_dedupe_key_that_exists_adds_nothing(db_session, handler):
    first = outbox.enqueue("test", "k1", {"n": 1}, dedupe_key="once:1")
    assert outbox.enqueue("test", "k1", {"n": 2}, dedupe_key="once:1") is None
    assert [r.id for r in rows(db_session)] == [first.id]


def test_an_unknown_topic_is_a_programming_error(db_session):
    with pytest.raises(ValueError, match="no outbox handler"):
        outbox.enqueue("nope", "k", {})


def test_deliver_outbox_delivers_and_marks_rows(db_session, handler):
    outbox.enqueue("test", "a", {"n": 1})
    outbox.enqueue("test", "b", {"n": 2})
    assert jobs.deliver_outbox(10) == 2
    assert [p["n"] for p in handler.seen] == [1, 2]
    assert all(r.status is OutboxStatus.DELIVERED and r.delivered_at and r.attempts == 1 for r in rows(db_session))
    assert jobs.deliver_outbox(10) == 0


def test_rows_wait_for_an_older_pending_row_with_the_same_key(db_session, handler):
    handler.failures.append(RuntimeError("provider down"))
    outbox.enqueue("test", "member:1", {"n": 1})
    outbox.enqueue("test", "member:1", {"n": 2})
    outbox.enqueue("test", "member:2", {"n": 3})
    jobs.deliver_outbox(10)
    # n=1 failed and waits in backoff; n=2 must not overtake it; another key is unaffected.
    assert [p["n"] for p in handler.seen] == [3]
    first, second, _ = rows(db_session)
    assert first.status is OutboxStatus.PENDING and first.attempts == 1 and "provider down" in first.last_error
    assert second.status is OutboxStatus.PENDING and second.attempts == 0
    jobs.deliver_outbox(10, now=utcnow() + timedelta(days=1))
    assert [p["n"] for p in handler.seen] == [3, 1, 2]


def test_failures_back_off_exponentially_with_jitter_and_a_cap(app):
    with app.app_context():
        delays = [outbox.backoff(n, base=60, cap=3600).total_seconds() for n in range(1, 9)]
    for n, delay in enumerate(delays, start=1):
        full = min(3600, 60 * 2 ** (n - 1))
        assert 0.75 * full <= delay <= full


def test_after_the_last_attempt_a_row_is_dead_with_its_reason(db_session, handler, app, monkeypatch):
    monkeypatch.setitem(app.config, "OUTBOX_MAX_ATTEMPTS", 3)
    handler.failures.extend([TimeoutError("slow")] * 3)
    outbox.enqueue("test", "k", {"n": 1})
    later = utcnow()
    for _ in range(3):
        later += timedelta(days=1)
        jobs.deliver_outbox(10, now=later)
    [row] = rows(db_session)
    assert row.status is OutboxStatus.DEAD and row.attempts == 3 and row.last_error == "TimeoutError: slow"
    assert jobs.deliver_outbox(10, now=later + timedelta(days=30)) == 0


def test_a_permanent_failure_goes_straight_to_dead(db_session, handler):
    handler.failures.append(Permanent("400 bad address"))
    outbox.enqueue("test", "k", {"n": 1})
    jobs.deliver_outbox(10)
    [row] = rows(db_session)
    assert row.status is OutboxStatus.DEAD and row.attempts == 1 and "400 bad address" in row.last_error


def test_a_dead_row_no_longer_holds_back_later_rows_of_its_key(db_session, handler):
    handler.failures.append(Permanent("refused"))
    outbox.enqueue("test", "k", {"n": 1})
    outbox.enqueue("test", "k", {"n": 2})
    jobs.deliver_outbox(10)
    assert [p["n"] for p in handler.seen] == [2]


def test_one_failure_does_not_undo_other_deliveries(db_session, handler):
    outbox.enqueue("test", "a", {"n": 1})
    outbox.enqueue("test", "b", {"n": 2})
    outbox.enqueue("test", "c", {"n": 3})
    handler.failures.append(RuntimeError("first fails"))
    jobs.deliver_outbox(10)
    assert [r.status for r in rows(db_session)] == [OutboxStatus.PENDING, OutboxStatus.DELIVERED, OutboxStatus.DELIVERED]


def test_staff_retry_dead_rows_by_id_or_all(db_session, handler):
    handler.failures.extend([Permanent("a"), Permanent("b")])
    first = outbox.enqueue("test", "a", {"n": 1})
    outbox.enqueue("test", "b", {"n": 2})
    jobs.deliver_outbox(10)
    assert outbox.retry_dead([first.id]) == 1
    assert [r.status for r in rows(db_session)] == [OutboxStatus.PENDING, OutboxStatus.DEAD]
    assert rows(db_session)[0].attempts == 0
    assert outbox.retry_dead() == 1
    jobs.deliver_outbox(10)
    assert sorted(p["n"] for p in handler.seen) == [1, 2]


def test_cli_status_lists_dead_rows_and_retry_revives_them(cli, db_session, handler):
    handler.failures.append(Permanent("400: invalid address"))
    dead = outbox.enqueue("test", "a", {"n": 1})
    jobs.deliver_outbox(10)
    status = cli("outbox", "status")
    assert status.exit_code == 0, status.output
    assert "dead=1" in status.output and f"dead {dead.id:>8}" in status.output and "invalid address" in status.output
    assert cli("outbox", "retry").exit_code == 2  # ids or --all are required
    result = cli("outbox", "retry", str(dead.id))
    assert result.exit_code == 0 and "queued 1 message(s)" in result.output
    assert cli("outbox", "retry", "--all").output.strip() == "queued 0 message(s) again"


def test_delivered_messages_are_purged_after_the_retention_period(db_session, app):
    from datetime import timedelta

    from service.db import utcnow
    from service.domain.outbox import purge_delivered
    from service.models import OutboxMessage, OutboxStatus

    now = utcnow()
    days = app.config["OUTBOX_RETENTION_DAYS"]
    old = OutboxMessage(topic="email", key="k1", payload={"to": "a@example.org"}, status=OutboxStatus.DELIVERED,
                        delivered_at=now - timedelta(days=days + 1))
    recent = OutboxMessage(topic="email", key="k2", payload={}, status=OutboxStatus.DELIVERED,
                           delivered_at=now - timedelta(days=days - 1))
    dead = OutboxMessage(topic="email", key="k3", payload={}, status=OutboxStatus.DEAD)
    db_session.add_all([old, recent, dead])
    db_session.commit()
    assert purge_delivered(now) == 1
    remaining = {m.key for m in db_session.query(OutboxMessage).filter(OutboxMessage.key.in_(["k1", "k2", "k3"]))}
    assert remaining == {"k2", "k3"}

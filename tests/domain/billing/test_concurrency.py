"""Real parallel deliveries against a running service on PostgreSQL (row locks, ON CONFLICT).

These commit for real (no rolled-back test transaction), so they clean up after themselves.
"""
from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any, NamedTuple

import pytest
import requests
from flask import Flask
from sqlalchemy import delete, func, or_, select
from werkzeug.serving import make_server

from service import jobs
from service.db import utcnow
from service.domain.billing.handlers import HANDLERS
from service.extensions import db
from service.models import ActivityKind, InboxStatus, Member, MemberActivity, MemberStatus, OutboxMessage, StripeEvent
from tests.billing import EventTap, Reader, sign, stripe_event
from tests.sandbox.harness import Sandbox

pytestmark = pytest.mark.postgres_only


class Live(NamedTuple):
    """The sandbox-backed app, served over real HTTP by a threaded server."""

    app: Flask
    url: str


class PaidReader(NamedTuple):
    """A reader who paid through checkout, and the events the sandbox emitted for it (none delivered yet)."""

    reader: Reader
    events: list[dict[str, Any]]


class StoredEvent(NamedTuple):
    status: str
    attempts: int


class Outcome(NamedTuple):
    """What the deliveries left: the member's status, how many status changes it recorded, the inbox rows."""

    status: MemberStatus
    status_changes: int
    stored: list[StoredEvent]


@pytest.fixture(scope="module")
def live(database_url: str, sandbox_app: Flask) -> Iterator[Live]:
    if not database_url.startswith("postgresql"):
        pytest.skip("concurrent deliveries need PostgreSQL's row locks; the PostgreSQL pass of make test runs them")
    server = make_server("127.0.0.1", 0, sandbox_app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield Live(sandbox_app, f"http://127.0.0.1:{server.server_port}")
    server.shutdown()
    server.server_close()


def _pay(live: Live, sandbox: Sandbox, n: int = 0) -> PaidReader:
    gateway = live.app.extensions["payments"]
    tap = EventTap(gateway)
    price = gateway.ensure_price(lookup_key="membership_monthly_5", product_name="Membership: Monthly",
                                 amount=500, currency="usd", interval="month")
    member = Member(email=f"parallel-{threading.get_ident()}-{id(tap)}-{n}@example.org", name="Parallel")
    db.session.add(member)
    db.session.commit()
    reader = Reader(member, gateway, sandbox, price)
    db.session.commit()
    reader.pay()
    return PaidReader(reader, tap.new())


def _clean_up(readers: list[PaidReader], event_ids: list[str]) -> None:
    """What the deliveries left: the events, the members, and the emails and list changes they
    queued (the webhook requests leave those to the worker, so they are still pending)."""
    members = [p.reader.member for p in readers]
    queued = or_(OutboxMessage.key.in_([f"email:member:{m.id}" for m in members]),
                 *[OutboxMessage.key.like(f"list:%:{m.email}") for m in members])
    db.session.execute(delete(OutboxMessage).where(queued))
    db.session.execute(delete(StripeEvent).where(StripeEvent.stripe_event_id.in_(event_ids)))
    db.session.execute(delete(Member).where(Member.id.in_([m.id for m in members])))
    db.session.commit()


@pytest.fixture
def paid_reader(live: Live, sandbox: Sandbox) -> Iterator[PaidReader]:
    with live.app.app_context():
        paid = _pay(live, sandbox)
        yield paid
        _clean_up([paid], [e["id"] for e in paid.events])


def _post_all_at_once(base: str, bodies: list[bytes]) -> list[int]:
    barrier = threading.Barrier(len(bodies))

    def post(body: bytes) -> int:
        barrier.wait()
        return requests.post(f"{base}/webhooks/stripe", data=body, timeout=30,
                             headers={"Stripe-Signature": sign(body), "Content-Type": "application/json"}).status_code

    with ThreadPoolExecutor(len(bodies)) as pool:
        return list(pool.map(post, bodies))


def _outcome(app: Flask, reader: Reader, event_ids: list[str]) -> Outcome:
    with app.app_context():
        member = db.session.get(Member, reader.member.id)
        changes = db.session.scalar(select(func.count()).select_from(MemberActivity).where(
            MemberActivity.member_id == member.id, MemberActivity.kind == ActivityKind.STATUS_CHANGED))
        rows = db.session.execute(select(StripeEvent.status, StripeEvent.attempts)
                                  .where(StripeEvent.stripe_event_id.in_(event_ids))).all()
        return Outcome(member.status, changes, [StoredEvent(str(s), a) for s, a in rows])


def test_the_same_event_on_eight_connections_applies_once(live, paid_reader):
    completed = next(e for e in paid_reader.events if e["type"] == "checkout.session.completed")
    body = json.dumps(completed).encode()
    assert set(_post_all_at_once(live.url, [body] * 8)) == {200}
    outcome = _outcome(live.app, paid_reader.reader, [completed["id"]])
    assert outcome.status is MemberStatus.ACTIVE
    assert outcome.status_changes == 1
    assert outcome.stored == [StoredEvent(str(InboxStatus.APPLIED), attempts=1)]


def test_a_whole_checkout_delivered_in_parallel_and_twice(live, paid_reader):
    events = paid_reader.events
    bodies = [json.dumps(e).encode() for e in events] * 2
    assert set(_post_all_at_once(live.url, bodies)) == {200}
    outcome = _outcome(live.app, paid_reader.reader, [e["id"] for e in events])
    assert outcome.status is MemberStatus.ACTIVE
    assert outcome.status_changes == 1
    assert len(outcome.stored) == len(events)
    assert all(row.attempts == 1 for row in outcome.stored)


def _count_applies(monkeypatch) -> tuple[Counter[str], set[str]]:
    """Count each event's handler runs, and the threads that ran them (the handlers still run)."""
    calls: Counter[str] = Counter()
    threads: set[str] = set()
    lock = threading.Lock()

    def counted(handler):
        def run(d):
            with lock:
                calls[d.event_id] += 1
                threads.add(threading.current_thread().name)
            return handler(d)
        return run

    for kind, handler in list(HANDLERS.items()):
        monkeypatch.setitem(HANDLERS, kind, counted(handler))
    return calls, threads


def _stored_backlog(live, sandbox, members: int, burst: int) -> tuple[list, list[dict]]:
    """`members` readers who paid, their checkout's events and a burst of subscription updates each."""
    with live.app.app_context():
        readers = [_pay(live, sandbox, n) for n in range(members)]
    events = [e for paid in readers for e in paid.events]
    bursts = [stripe_event("customer.subscription.updated", {"id": sub["id"], "customer": sub["customer"], "metadata": sub["metadata"]})
              for paid in readers for sub in [paid.reader.subscription()] for _ in range(burst)]
    return readers, [*events, *bursts]


def _assert_each_applied_once(live, readers: list, every: list[dict], calls: Counter[str]) -> None:
    with live.app.app_context():
        rows = db.session.execute(select(StripeEvent.stripe_event_id, StripeEvent.status, StripeEvent.attempts)
                                  .where(StripeEvent.stripe_event_id.in_([e["id"] for e in every]))).all()
    assert len(rows) == len(every)
    assert {str(status) for _, status, _ in rows} <= {str(InboxStatus.APPLIED), str(InboxStatus.IGNORED)}
    assert {attempts for _, _, attempts in rows} == {1}
    applied = [event_id for event_id, status, _ in rows if status is InboxStatus.APPLIED]
    assert all(calls[event_id] == 1 for event_id in applied), calls
    for paid in readers:
        outcome = _outcome(live.app, paid.reader, [])
        assert (outcome.status, outcome.status_changes) == (MemberStatus.ACTIVE, 1)


def test_two_workers_never_apply_one_event_twice(live, sandbox, monkeypatch):
    """Webhooks only stored; two workers drain them in small batches at once. Every event is
    applied by exactly one of them, once, and each member ends active with one status change."""
    monkeypatch.setitem(live.app.config, "WEBHOOK_APPLY_INLINE", False)
    calls, _threads = _count_applies(monkeypatch)
    readers, every = _stored_backlog(live, sandbox, members=4, burst=6)
    try:
        assert set(_post_all_at_once(live.url, [json.dumps(e).encode() for e in every])) == {200}

        def work() -> None:
            with live.app.app_context():
                gateway = live.app.extensions["payments"]
                while jobs.retry_events(utcnow(), gateway, limit=5, received_after=timedelta(0)):
                    pass

        workers = [threading.Thread(target=work) for _ in range(2)]
        for w in workers:
            w.start()
        for w in workers:
            w.join(60)
        _assert_each_applied_once(live, readers, every, calls)
    finally:
        with live.app.app_context():
            _clean_up(readers, [e["id"] for e in every])


def test_worker_threads_drain_a_backlog_applying_each_event_once(live, sandbox, monkeypatch):
    """`membership worker --threads 4`: webhooks only stored, then four threads of one worker drain
    them in small batches at once, each thread in an app context (and session) of its own. Every
    event is applied once, by one thread; a member's burst, spread over several threads' batches,
    is applied one batch after the other (the member row's lock); each member ends active with
    one status change."""
    monkeypatch.setitem(live.app.config, "WEBHOOK_APPLY_INLINE", False)
    monkeypatch.setattr(jobs, "CLAIM_BATCH", 3)
    calls, threads = _count_applies(monkeypatch)
    readers, every = _stored_backlog(live, sandbox, members=6, burst=5)
    try:
        assert set(_post_all_at_once(live.url, [json.dumps(e).encode() for e in every])) == {200}
        with live.app.app_context():
            handled = jobs.Worker(interval=0.05, jobs={"inbox": jobs.InboxJob()}, threads=4).run(once=True)
        assert handled == len(every)
        assert len(threads) > 1 and all(name.startswith("membership-inbox-") for name in threads), threads
        _assert_each_applied_once(live, readers, every, calls)
    finally:
        with live.app.app_context():
            _clean_up(readers, [e["id"] for e in every])

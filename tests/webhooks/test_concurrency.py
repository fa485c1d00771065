"""Real parallel deliveries against a running service on PostgreSQL (row locks, ON CONFLICT).

These commit for real (no rolled-back test transaction), so they clean up after themselves.
"""
from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import requests
from flask import Flask
from sqlalchemy import delete, func, select
from werkzeug.serving import make_server

from service import create_app
from service.extensions import db
from service.models import ActivityKind, InboxStatus, Member, MemberActivity, MemberStatus, StripeEvent
from tests.conftest import sandbox_config
from tests.sandbox.conftest import Sandbox
from tests.webhooks.conftest import SECRET, EventTap, Reader, sign

pytestmark = pytest.mark.postgres_only


@pytest.fixture(scope="module")
def live(database_url: str, sandbox: Sandbox) -> Iterator[tuple[Flask, str]]:
    if not database_url.startswith("postgresql"):
        pytest.skip("concurrent deliveries need PostgreSQL's row locks; the PostgreSQL pass of make test runs them")
    app = create_app(sandbox_config(database_url, sandbox.url,
                                      STRIPE_WEBHOOK_SECRET=SECRET))
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield app, f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()
    app.extensions["db_engine"].dispose()


@pytest.fixture
def paid_reader(live: tuple[Flask, str], sandbox: Sandbox) -> Iterator[tuple[Reader, list[dict[str, Any]]]]:
    app, _ = live
    with app.app_context():
        gateway = app.extensions["payments"]
        tap = EventTap(gateway)
        price = gateway.ensure_price(lookup_key="membership_monthly_5", product_name="Membership: Monthly",
                                     amount=500, currency="usd", interval="month")
        member = Member(email=f"parallel-{threading.get_ident()}-{id(tap)}@example.org", name="Parallel")
        db.session.add(member)
        db.session.commit()
        reader = Reader(member, gateway, sandbox, price)
        db.session.commit()
        reader.pay()
        events = tap.new()
        yield reader, events
        ids = [e["id"] for e in events]
        db.session.execute(delete(StripeEvent).where(StripeEvent.stripe_event_id.in_(ids)))
        db.session.execute(delete(Member).where(Member.id == member.id))
        db.session.commit()


def _post_all_at_once(base: str, bodies: list[bytes]) -> list[int]:
    barrier = threading.Barrier(len(bodies))

    def post(body: bytes) -> int:
        barrier.wait()
        return requests.post(f"{base}/webhooks/stripe", data=body, timeout=30,
                             headers={"Stripe-Signature": sign(body), "Content-Type": "application/json"}).status_code

    with ThreadPoolExecutor(len(bodies)) as pool:
        return list(pool.map(post, bodies))


def _outcome(app: Flask, reader: Reader, event_ids: list[str]) -> tuple[MemberStatus, int, list[tuple[str, int]]]:
    with app.app_context():
        member = db.session.get(Member, reader.member.id)
        changes = db.session.scalar(select(func.count()).select_from(MemberActivity).where(
            MemberActivity.member_id == member.id, MemberActivity.kind == ActivityKind.STATUS_CHANGED))
        rows = db.session.execute(select(StripeEvent.status, StripeEvent.attempts)
                                  .where(StripeEvent.stripe_event_id.in_(event_ids))).all()
        return member.status, changes, [(str(s), a) for s, a in rows]


def test_the_same_event_on_eight_connections_applies_once(live, paid_reader):
    app, base = live
    reader, events = paid_reader
    completed = next(e for e in events if e["type"] == "checkout.session.completed")
    body = json.dumps(completed).encode()
    assert set(_post_all_at_once(base, [body] * 8)) == {200}
    status, changes, rows = _outcome(app, reader, [completed["id"]])
    assert status is MemberStatus.ACTIVE and changes == 1
    assert rows == [(str(InboxStatus.APPLIED), 1)]


def test_a_whole_checkout_delivered_in_parallel_and_twice(live, paid_reader):
    app, base = live
    reader, events = paid_reader
    bodies = [json.dumps(e).encode() for e in events] * 2
    assert set(_post_all_at_once(base, bodies)) == {200}
    status, changes, rows = _outcome(app, reader, [e["id"] for e in events])
    assert status is MemberStatus.ACTIVE and changes == 1
    assert len(rows) == len(events) and all(attempts == 1 for _, attempts in rows)

"""Statements per webhook event, counted (CONVENTIONS.md 19): the hot path asks the database
for what an event needs and no more.

Counted here: the statements that read or write rows (SELECT, INSERT, UPDATE, DELETE). Each
transaction adds its BEGIN and COMMIT, and the worker's batch a SAVEPOINT and RELEASE per member;
bench/webhooks.py counts all of them from PostgreSQL's own statistics (pg_stat_statements).
Before issue 18 an update cost 11 (and two pool pings), an activation 22.
"""
from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import event

from service import jobs
from service.db import utcnow
from service.models import MemberStatus
from tests.billing import Reader, post_event, stripe_event
from tests.factories import make_member

DATA = ("SELECT", "INSERT", "UPDATE", "DELETE")
# A member's subscription changed: store the event; lock the member; load its subscriptions; write
# the subscription as Stripe has it now, and the event's outcome. The member's row is written too
# when what is stored of the subscription changed (then 6): test_a_sync_writes_the_member_only_on_a_change.
UPDATE_INLINE = 5
# The same in the worker's batch, where the claim is shared by the batch and the event's row is held already.
UPDATE_IN_BATCH = 4
# The first event of a checkout: the subscription, the status change and its timeline row, the members'
# digest (list, subscription, consent record, sync row), the welcome email, and the outgoing webhooks'
# endpoints (read once for the transaction's events).
ACTIVATION = 17
IGNORED = 2  # an event type we do not act on: stored, and marked ignored


@pytest.fixture
def statements(db_session) -> Iterator[list[str]]:
    seen: list[str] = []
    engine = db_session.get_bind().engine

    def record(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith(DATA):
            seen.append(" ".join(statement.split())[:120])

    event.listen(engine, "before_cursor_execute", record)
    yield seen
    event.remove(engine, "before_cursor_execute", record)


def _update(reader: Reader) -> dict[str, Any]:
    sub = reader.subscription()
    return stripe_event("customer.subscription.updated", {"id": sub["id"], "customer": sub["customer"],
                                                          "metadata": sub["metadata"]})


def test_inline_activation_and_update_stay_within_their_budgets(client, db_session, reader, tap, statements):
    reader.pay()
    events = tap.new()
    counts = {}
    for e in events:
        statements.clear()
        assert post_event(client, e).status_code == 200
        counts[e["type"]] = len(statements)
    assert reader.member.status is MemberStatus.ACTIVE
    assert counts[events[0]["type"]] <= ACTIVATION, counts
    assert counts["invoice.created"] <= IGNORED, counts
    for _ in range(2):
        statements.clear()
        assert post_event(client, _update(reader)).get_json()["status"] == "applied"
        assert len(statements) <= UPDATE_INLINE, statements


def test_a_stored_acknowledgement_is_one_insert(app, client, db_session, monkeypatch, statements):
    monkeypatch.setitem(app.config, "WEBHOOK_APPLY_INLINE", False)
    assert post_event(client, stripe_event("invoice.paid", {"id": "in_ack", "customer": "cus_ack"})).status_code == 200
    assert len(statements) == 1 and statements[0].startswith("INSERT INTO stripe_events"), statements


def test_the_worker_applies_updates_within_their_budget(app, client, db_session, gateway, sandbox, price, tap,
                                                        monkeypatch, statements):
    readers = [Reader(make_member(), gateway, sandbox, price) for _ in range(3)]
    db_session.commit()
    for reader in readers:
        reader.pay()
    for e in tap.new():  # everyone active first (applied in the request), so the batch holds updates only
        post_event(client, e)
    monkeypatch.setitem(app.config, "WEBHOOK_APPLY_INLINE", False)
    updates = [_update(reader) for reader in readers]
    for e in updates:
        post_event(client, e)
    statements.clear()
    assert jobs.retry_events(utcnow(), gateway, received_after=timedelta(0)) == len(updates)
    claims = 2  # the batch's claim, and the one that finds no more
    assert len(statements) <= claims + UPDATE_IN_BATCH * len(updates), statements
    assert all(reader.member.status is MemberStatus.ACTIVE for reader in readers)


def test_a_sync_writes_the_member_only_on_a_change(client, db_session, reader, tap):
    """A re-read that finds the subscription as stored moves only its synced_at (the staff page's
    "last read"); a change (here: set to cancel at the period's end) writes the member too, so its
    updated_at says the member's JSON changed."""
    reader.pay()
    for e in tap.new():
        post_event(client, e)
    member = reader.member
    first_change, first_updated = member.billing_synced_at, member.updated_at
    post_event(client, _update(reader))
    db_session.refresh(member)
    assert (member.billing_synced_at, member.updated_at) == (first_change, first_updated)
    assert member.billing_read_at > first_change
    reader.gateway.set_cancel_at_period_end(reader.subscription()["id"], True, key="round-trips")
    post_event(client, _update(reader))
    db_session.refresh(member)
    assert member.subscriptions[0].cancel_at_period_end is True
    assert member.billing_synced_at > first_change and member.updated_at > first_updated

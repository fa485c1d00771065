"""Recovery: reconcile after the endpoint was down, retrying failed events, resync by staff."""
from __future__ import annotations

import socket

from sqlalchemy import select

from service import jobs
from service.gateways.stripe_gateway import StripeGateway
from service.models import AuditEntry, InboxStatus, MemberStatus, StripeEvent
from tests.billing import post_event, stripe_event


def test_reconcile_after_the_endpoint_was_down(cli, db_session, reader, tap):
    reader.pay()
    missed = tap.new()  # never delivered
    result = cli("reconcile")
    assert result.exit_code == 0, result.output
    db_session.expire_all()
    assert reader.member.status is MemberStatus.ACTIVE
    assert f"member {reader.member.id} {reader.member.email}: pending -> active" in result.output
    stored = db_session.scalars(select(StripeEvent).where(StripeEvent.stripe_event_id.in_([e["id"] for e in missed])))
    types = {row.type: row.status for row in stored}
    assert types["checkout.session.completed"] is InboxStatus.APPLIED
    # A second run finds nothing to change and no event missing.
    again = cli("reconcile")
    assert "0 member(s) changed" in again.output
    assert "0 missed event(s)" in again.output


def test_events_retry_applies_what_failed(app, cli, client, db_session, reader, tap):
    """Stripe unreachable while applying: the event is kept, failed, and applied by a retry."""
    reader.pay()
    completed = next(e for e in tap.new() if e["type"] == "checkout.session.completed")
    working = app.extensions["payments"]
    app.extensions["payments"] = StripeGateway("sk_test_x", api_base=f"http://127.0.0.1:{_closed_port()}",
                                              max_network_retries=0, timeout=2)
    try:
        assert post_event(client, completed).get_json()["status"] == "failed"
        failing = cli("events", "retry", "--all")
        assert failing.exit_code == 1
        assert "1 still failing" in failing.output
    finally:
        app.extensions["payments"] = working
    row = db_session.scalars(select(StripeEvent).where(StripeEvent.stripe_event_id == completed["id"])).one()
    assert row.status is InboxStatus.FAILED
    assert "BillingUnavailable" in row.last_error
    assert row.next_attempt_at
    result = cli("events", "retry")  # not due yet: the backoff is respected
    assert "retried 0 event(s)" in result.output
    result = cli("events", "retry", "--all")
    assert result.exit_code == 0, result.output
    assert "0 still failing" in result.output
    db_session.expire_all()
    assert row.status is InboxStatus.APPLIED
    assert row.attempts == 3
    assert row.last_error is None
    assert reader.member.status is MemberStatus.ACTIVE


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_staff_resync_through_the_api(client, db_session, reader, tap, api_token):
    reader.pay()
    tap.new()  # the webhooks never came
    forbidden = client.post(f"/api/v1/members/{reader.member.id}/resync", headers=api_token("viewer"))
    assert forbidden.status_code == 403
    read_only = client.post(f"/api/v1/members/{reader.member.id}/resync", headers=api_token("support"))
    assert read_only.status_code == 403
    assert "read-only" in read_only.get_json()["error"]["message"]
    response = client.post(f"/api/v1/members/{reader.member.id}/resync", headers=api_token("support", "write"))
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["status"] == "active"
    assert body["has_access"] is True
    assert body["subscription"]["status"] == "active"
    entry = db_session.scalars(select(AuditEntry).where(AuditEntry.member_id == reader.member.id)).one()
    assert entry.action == "member.resync"
    assert (entry.before["status"], entry.after["status"]) == ("pending", "active")
    assert client.post("/api/v1/members/999999/resync", headers=api_token("support", "write")).status_code == 404


def test_store_only_mode_leaves_applying_to_the_worker(app, cli, client, db_session, reader, tap):
    reader.pay()
    events = tap.new()
    app.config["WEBHOOK_APPLY_INLINE"] = False
    try:
        responses = [post_event(client, e) for e in events]
        assert {r.get_json()["status"] for r in responses} == {"stored"}
        assert reader.member.status is MemberStatus.PENDING
        result = cli("worker", "--once")
        assert result.exit_code == 0, result.output
    finally:
        app.config["WEBHOOK_APPLY_INLINE"] = True
    db_session.expire_all()
    assert reader.member.status is MemberStatus.ACTIVE
    rows = db_session.scalars(select(StripeEvent).where(StripeEvent.stripe_event_id.in_([e["id"] for e in events])))
    assert {row.status for row in rows} <= {InboxStatus.APPLIED, InboxStatus.IGNORED}


def _dead_gateway() -> StripeGateway:
    return StripeGateway("sk_test_x", api_base=f"http://127.0.0.1:{_closed_port()}", max_network_retries=0, timeout=2)


def test_a_burst_for_one_subscription_costs_one_read(app, client, db_session, reader, tap):
    """An event that arrived before our last read of its subscription needs no new read:
    proven by applying it while Stripe is unreachable."""
    from datetime import timedelta

    from service.db import utcnow
    from service.domain.billing import inbox

    reader.pay()
    for event in tap.new():
        post_event(client, event)
    sub = reader.subscription()
    obj = {"id": sub["id"], "customer": sub["customer"], "metadata": sub["metadata"]}
    earlier = stripe_event("customer.subscription.updated", obj)
    later = stripe_event("customer.subscription.updated", obj)
    inbox.store(earlier, utcnow() - timedelta(minutes=5))  # arrived before the read above
    inbox.store(later, utcnow() + timedelta(minutes=5))  # arrives after it
    db_session.commit()
    working, app.extensions["payments"] = app.extensions["payments"], _dead_gateway()
    try:
        assert jobs.apply_event(earlier["id"], app.extensions["payments"], utcnow()) is InboxStatus.APPLIED
        assert jobs.apply_event(later["id"], app.extensions["payments"], utcnow()) is InboxStatus.FAILED
    finally:
        app.extensions["payments"] = working

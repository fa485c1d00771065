"""`membership events retry`: failed events now, and dead ones once their cause is fixed."""
from __future__ import annotations

from sqlalchemy import select

from service.db import utcnow
from service.models import InboxStatus, StripeEvent


def _stored(db_session, status: InboxStatus, event_type: str = "customer.created") -> StripeEvent:
    """An inbox row of a type the service records but does not act on, so applying it needs no Stripe call."""
    now = utcnow()
    row = StripeEvent(stripe_event_id=f"evt_cli_{status}", type=event_type, livemode=False, api_version="2026-10-28.endive",
                      stripe_created_at=now, object_id="cus_x", payload={"id": f"evt_cli_{status}", "type": event_type,
                                                                           "data": {"object": {"id": "cus_x"}}},
                      status=status, attempts=12 if status is InboxStatus.DEAD else 1, received_at=now,
                      last_error="BillingUnavailable: Stripe is unavailable")
    db_session.add(row)
    db_session.commit()
    return row


def test_retry_leaves_dead_events_alone_unless_asked(cli, db_session):
    dead = _stored(db_session, InboxStatus.DEAD)
    result = cli("events", "retry", "--all")
    assert result.exit_code == 0, result.output
    assert "retried 0 event(s); 0 still failing, 1 dead" in result.output
    assert db_session.scalar(select(StripeEvent.status).where(StripeEvent.id == dead.id)) is InboxStatus.DEAD


def test_retry_dead_gives_them_a_fresh_start_and_applies_them(cli, db_session):
    dead = _stored(db_session, InboxStatus.DEAD)
    result = cli("events", "retry", "--dead")
    assert result.exit_code == 0, result.output
    assert "revived 1 dead event(s)" in result.output
    assert "retried 1 event(s); 0 still failing, 0 dead" in result.output
    db_session.refresh(dead)
    assert dead.status is InboxStatus.IGNORED  # settled: a type the service records and does not act on
    assert dead.attempts == 1  # counted afresh


def test_retry_help_names_the_dead_option(cli):
    result = cli("events", "retry", "--help")
    assert "--dead" in result.output and "INBOX_MAX_ATTEMPTS" in result.output

"""GET /metrics: Prometheus text with the figures operators alert on."""
from __future__ import annotations

import re
from datetime import timedelta

from service.db import utcnow
from service.models import InboxStatus, MemberStatus, OutboxMessage, StripeEvent
from tests.factories import make_member


def _value(text: str, name: str) -> float:
    match = re.search(rf"^{re.escape(name)} (\S+)$", text, re.MULTILINE)
    assert match, f"{name} missing from:\n{text}"
    return float(match.group(1))


def test_metrics_count_members_events_and_outbox(client, db_session):
    now = utcnow()
    make_member(status=MemberStatus.ACTIVE)
    make_member(status=MemberStatus.ACTIVE)
    make_member(status=MemberStatus.LAPSED)
    for n, (status, wait) in enumerate([(InboxStatus.APPLIED, 0.2), (InboxStatus.APPLIED, 3.0), (InboxStatus.FAILED, None)]):
        db_session.add(StripeEvent(stripe_event_id=f"evt_m{n}", type="invoice.paid", livemode=False,
                                   stripe_created_at=now, payload={}, status=status, received_at=now - timedelta(seconds=10),
                                   applied_at=now - timedelta(seconds=10 - wait) if wait else None))
    db_session.add(OutboxMessage(topic="email", key="k", payload={}, created_at=now - timedelta(minutes=5)))
    db_session.flush()
    response = client.get("/metrics")
    assert response.status_code == 200 and response.mimetype == "text/plain"
    text = response.get_data(as_text=True)
    assert _value(text, 'membership_members{status="active"}') == 2
    assert _value(text, 'membership_members{status="lapsed"}') == 1
    assert _value(text, 'membership_webhook_events{state="applied"}') == 2
    assert _value(text, 'membership_webhook_events{state="failed"}') == 1
    assert _value(text, "membership_webhook_events_received_total") == 3
    assert 0.1 < _value(text, 'membership_webhook_apply_seconds{quantile="0.5"}') <= 3.0
    assert _value(text, 'membership_outbox_messages{state="pending"}') == 1
    assert 290 < _value(text, "membership_outbox_oldest_pending_age_seconds") < 400
    assert "# TYPE membership_members gauge" in text


def test_metrics_on_an_empty_store(client, db_session):
    text = client.get("/metrics").get_data(as_text=True)
    assert _value(text, "membership_webhook_events_received_total") >= 0
    assert "membership_webhook_apply_seconds" in text


def test_metrics_can_require_a_token(database_url):
    from service import create_app
    from tests.conftest import config_for_tests

    app = create_app(config_for_tests(database_url, METRICS_TOKEN="scrape-secret"))
    client = app.test_client()
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert client.get("/metrics", headers={"Authorization": "Bearer scrape-secret"}).status_code == 200
    app.extensions["db_engine"].dispose()


def test_behind_a_trusted_proxy_the_readers_address_is_used(database_url):
    from flask import request

    from service import create_app
    from tests.conftest import config_for_tests

    app = create_app(config_for_tests(database_url, TRUSTED_PROXIES=1))
    app.add_url_rule("/_whoami", "whoami", lambda: request.remote_addr)
    client = app.test_client()
    seen = client.get("/_whoami", headers={"X-Forwarded-For": "203.0.113.7"}, environ_base={"REMOTE_ADDR": "10.0.0.2"})
    assert seen.get_data(as_text=True) == "203.0.113.7"
    plain = create_app(config_for_tests(database_url))
    plain.add_url_rule("/_whoami", "whoami", lambda: request.remote_addr)
    spoofed = plain.test_client().get("/_whoami", headers={"X-Forwarded-For": "203.0.113.7"},
                                      environ_base={"REMOTE_ADDR": "198.51.100.9"})
    assert spoofed.get_data(as_text=True) == "198.51.100.9"  # no proxy configured: the header is not trusted
    for a in (app, plain):
        a.extensions["db_engine"].dispose()

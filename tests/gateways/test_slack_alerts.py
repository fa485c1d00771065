"""Staff alerts to a Slack-compatible incoming webhook (ALERT_WEBHOOK_URL), through the outbox and
the outgoing webhooks' sender, to a real HTTP receiver on 127.0.0.1 (tests/webhook_receiver.py):
the documented JSON `{"text": ...}`, retries with backoff, a refusal that will not change, and a
loopback URL refused unless WEBHOOK_ALLOW_PRIVATE_URLS."""
from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from service.domain.staff import alerts
from service.gateways.outgoing_webhooks import WebhookSender
from service.jobs import StaffAlertsJob, deliver_outbox
from service.models import OutboxMessage, OutboxStatus
from tests.webhook_receiver import Receiver

NOW = datetime(2026, 7, 15, 8, 0, tzinfo=UTC)
QUIET_DAY = ("Membership, 2026-07-14: 0 joined; 0 cancelled and 0 kept by an offer. Gift memberships: 0 bought, "
             "0 redeemed. Payments: 0 failed, 0 recovered.")


@pytest.fixture(scope="module")
def slack() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


@pytest.fixture
def alerting(app: Any, slack: Receiver, monkeypatch: pytest.MonkeyPatch) -> Receiver:
    """Alerts to the receiver only (no emails: an ALERT_EMAIL the outbox is never asked to deliver)."""
    slack.reset()
    monkeypatch.setitem(app.config, "ALERT_WEBHOOK_URL", slack.url)
    monkeypatch.setitem(app.config, "ALERT_EMAIL", "alerts@newsroom.example")
    return slack


@pytest.fixture
def private_allowed(app: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """The app's sender as WEBHOOK_ALLOW_PRIVATE_URLS=true builds it."""
    monkeypatch.setitem(app.extensions, "webhooks",
                        WebhookSender.from_config({**app.config, "WEBHOOK_ALLOW_PRIVATE_URLS": True}))


def slack_message(db_session: Any) -> OutboxMessage:
    return db_session.scalars(select(OutboxMessage).where(OutboxMessage.topic == alerts.SLACK_TOPIC)).one()


def deliver(now: datetime) -> int:
    return deliver_outbox(10, now=now, keys=[alerts.SLACK_KEY])


def test_the_daily_summary_reaches_the_incoming_webhook_as_documented(db_session, alerting, private_allowed):
    assert StaffAlertsJob()(NOW) == 2
    assert StaffAlertsJob()(NOW) == 0
    assert deliver(NOW) == 1
    [got] = alerting.received
    assert got.path == "/hooks/membership" and got.status == 200
    assert json.loads(got.body) == {"text": QUIET_DAY}  # Slack's incoming-webhook JSON, nothing else
    assert slack_message(db_session).status is OutboxStatus.DELIVERED
    assert deliver(NOW + timedelta(hours=1)) == 0 and len(alerting.received) == 1


def test_a_failing_receiver_is_retried_with_backoff(db_session, alerting, private_allowed):
    alerting.answers.extend([500, 429])
    StaffAlertsJob()(NOW)
    assert deliver(NOW) == 1
    message = slack_message(db_session)
    assert message.status is OutboxStatus.PENDING and message.attempts == 1
    assert message.last_error == "SlackFailed: ALERT_WEBHOOK_URL answered HTTP 500: not now"
    assert deliver(NOW) == 0  # not due yet
    deliver(NOW + timedelta(hours=1))  # 429: Slack's rate limit, retried too
    assert message.status is OutboxStatus.PENDING and message.attempts == 2
    deliver(NOW + timedelta(hours=3))
    assert message.status is OutboxStatus.DELIVERED
    assert [r.status for r in alerting.received] == [500, 429, 200]
    assert {r.body for r in alerting.received} == {json.dumps({"text": QUIET_DAY}).encode()}


def test_an_answer_that_will_not_change_sets_the_message_aside(db_session, alerting, private_allowed):
    alerting.answers.append(404)  # Slack's no_service: the webhook was removed
    StaffAlertsJob()(NOW)
    deliver(NOW)
    message = slack_message(db_session)
    assert message.status is OutboxStatus.DEAD and message.attempts == 1
    assert message.last_error.startswith("SlackRefused: ALERT_WEBHOOK_URL answered HTTP 404")


def test_a_loopback_url_is_refused_without_webhook_allow_private_urls(db_session, app, alerting):
    assert app.config["WEBHOOK_ALLOW_PRIVATE_URLS"] is False
    StaffAlertsJob()(NOW)
    deliver(NOW)
    message = slack_message(db_session)
    assert message.status is OutboxStatus.DEAD and alerting.received == []  # nothing sent, at once
    assert "refused: 127.0.0.1 resolves to 127.0.0.1, which is not a public address" in message.last_error
    assert "WEBHOOK_ALLOW_PRIVATE_URLS=true" in message.last_error
    assert "/hooks/membership" not in message.last_error  # the URL's secret part is never recorded


def test_nothing_is_sent_when_the_setting_was_removed_since(db_session, app, alerting, private_allowed, monkeypatch):
    StaffAlertsJob()(NOW)
    monkeypatch.setitem(app.config, "ALERT_WEBHOOK_URL", None)
    deliver(NOW)
    assert slack_message(db_session).status is OutboxStatus.DELIVERED and alerting.received == []

"""The emails membership changes send, received by a real SMTP server. A webhook request only
queues them (Stripe gets its answer first); the worker's outbox pass sends them."""
from __future__ import annotations

import re
from typing import Any

import pytest

from service.jobs import deliver_outbox
from tests.billing import deliver_all as post_all
from tests.billing import replace_card
from tests.smtp import SmtpServer, body_text


@pytest.fixture(scope="module")
def sandbox_settings(sandbox_settings: dict[str, Any], smtp: SmtpServer) -> dict[str, Any]:
    """The sandbox app sends its mail to the test SMTP server, with links to the public site."""
    return {**sandbox_settings, "MAIL_URL": smtp.url, "BASE_URL": "https://news.example"}


def deliver_all(client, events) -> None:
    """Post the events as Stripe would, then run the worker's outbox pass."""
    assert set(post_all(client, events)) == {200}
    deliver_outbox(100)


def subjects(smtp: SmtpServer, address: str) -> list[str]:
    return [m["Subject"] for m in smtp.inbox.to(address)]


def test_welcome_once_on_first_activation(client, db_session, reader, tap, smtp):
    reader.pay()
    events = tap.new()
    deliver_all(client, events)
    deliver_all(client, events)
    # Delivered twice, sent once each: the welcome, and the first payment's receipt.
    welcome, receipt = sorted(subjects(smtp, reader.member.email))
    assert welcome == "Welcome, and thank you for becoming a member"
    assert re.fullmatch(r"Your receipt \d{4}-\d{6}: thank you", receipt)


def test_payment_failed_once_per_attempt_then_ended(client, db_session, reader, tap, sandbox, smtp):
    reader.pay()
    deliver_all(client, tap.new())
    replace_card(reader, "4000 0000 0000 0341")
    sandbox.advance(days=32)  # past the period's end (a month of up to 31 days) and the hour before the renewal is charged
    first_failure = tap.new()
    deliver_all(client, first_failure)
    deliver_all(client, first_failure)  # Stripe redelivers: no second email
    failed = [m for m in smtp.inbox.to(reader.member.email) if m["Subject"] == "Your membership payment didn't go through"]
    assert len(failed) == 1
    assert "https://news.example/account" in body_text(failed[0])
    sandbox.advance(days=3)  # the first retry fails too: a new attempt, a new email
    deliver_all(client, tap.new())
    assert subjects(smtp, reader.member.email).count("Your membership payment didn't go through") == 2
    sandbox.advance(days=13)  # the remaining retries fail; the subscription ends
    deliver_all(client, tap.new())
    sent = subjects(smtp, reader.member.email)
    assert sent.count("Your membership has ended") == 1
    # The last failed attempt ended the membership: no "payment failed, we'll retry" after that.
    assert sent.count("Your membership payment didn't go through") == 2

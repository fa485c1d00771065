"""The service's emails, queued through the outbox and received by a real SMTP server."""
from __future__ import annotations

from datetime import UTC, datetime

import pytest

from service.domain import emails
from service.domain.newsletter.lists import MEMBERS_LIST
from service.domain.newsletter.subscriptions import resubscribe
from service.gateways.mail import mail_from_config
from service.jobs import deliver_outbox
from service.models import ConsentSource, OutboxStatus
from tests.factories import make_member
from tests.smtp import body_html, body_text


@pytest.fixture
def inbox(app, smtp, monkeypatch):
    """Route the app's mail through the test SMTP server, as MAIL_URL=smtp://127.0.0.1:PORT would."""
    monkeypatch.setitem(app.extensions, "mail", mail_from_config({**app.config, "MAIL_URL": smtp.url}))
    smtp.inbox.messages.clear()
    return smtp.inbox


def _on_the_digest(member):
    """As when a member gains access: their digest subscription exists before the welcome, and
    the welcome's unsubscribe link names it."""
    resubscribe(member, MEMBERS_LIST, ConsentSource.MEMBERSHIP)
    return member


def test_welcome_is_sent_once_ever(db_session, inbox, app):
    member = _on_the_digest(make_member(name="Ada Lovelace"))
    assert emails.queue_welcome(member) is not None
    assert emails.queue_welcome(member) is None
    deliver_outbox(10)
    [message] = inbox.to(member.email)
    assert message["From"] == app.config["MAIL_FROM"]
    assert message["Subject"] == "Welcome, and thank you for becoming a member"
    text = body_text(message)
    assert "Hello Ada Lovelace," in text and "Thank you for becoming a member" in text
    assert "http://localhost/newsletters/unsubscribe/" in text  # the digest can be refused from day one
    assert "List-Unsubscribe" not in message  # a transactional email, not a list email
    assert "<p>" in body_html(message)


def test_payment_failed_once_per_invoice_attempt_with_the_fix_link(db_session, inbox):
    member = make_member()
    fix = "https://billing.example/p/session_123"
    assert emails.queue_payment_failed(member, "in_1", 1, fix) is not None
    assert emails.queue_payment_failed(member, "in_1", 1, fix) is None
    assert emails.queue_payment_failed(member, "in_1", 2, fix) is not None
    deliver_outbox(10)
    messages = inbox.to(member.email)
    assert len(messages) == 2
    assert messages[0]["Subject"] == "Your membership payment didn't go through"
    assert fix in body_text(messages[0]) and f'href="{fix}"' in body_html(messages[0])


def test_membership_ended_once_per_end(db_session, inbox):
    member = make_member()
    ended = datetime(2026, 3, 9, 12, tzinfo=UTC)
    assert emails.queue_membership_ended(member, ended) is not None
    assert emails.queue_membership_ended(member, ended) is None
    deliver_outbox(10)
    [message] = inbox.to(member.email)
    assert message["Subject"] == "Your membership has ended"
    assert "ended on 9 March 2026" in body_text(message) and "welcome back" in body_text(message)


def test_list_emails_carry_one_click_unsubscribe_headers(db_session, inbox):
    from service.domain.newsletter.subscriptions import get_list

    newsletter = get_list("daily-headlines")
    resubscribe("reader@example.org", "daily-headlines", ConsentSource.IMPORT)  # list emails go to subscribers
    emails.queue_list_email(newsletter, "reader@example.org", "Today's headlines", "Story one", "<p>Story one</p>")
    deliver_outbox(10)
    [message] = inbox.to("reader@example.org")
    header = message["List-Unsubscribe"]
    assert header.startswith("<http://localhost/newsletters/unsubscribe/") and header.endswith("/one-click>")
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert "Unsubscribe: http://localhost/newsletters/unsubscribe/" in body_text(message)


def test_an_smtp_outage_leaves_the_email_queued_for_later(db_session, app, monkeypatch):
    from tests.smtp import free_port

    monkeypatch.setitem(app.extensions, "mail", mail_from_config({**app.config, "MAIL_URL": f"smtp://127.0.0.1:{free_port()}"}))
    message = emails.queue_welcome(_on_the_digest(make_member()))
    deliver_outbox(10)
    db_session.refresh(message)
    assert message.status is OutboxStatus.PENDING and message.attempts == 1
    assert message.last_error.startswith("MailError: SMTP unavailable")

"""The mail gateway against a real SMTP server, the console stand-in, and MAIL_URL parsing."""
from __future__ import annotations

import io

import pytest

from service.gateways.mail import ConsoleMail, Email, MailError, SmtpMail, build_message, mail_from_config
from tests.smtp import body_html, body_text

SENDER = "Newsroom Members <members@newsroom.example>"


def test_smtp_sends_plain_text_and_html_alternatives_from_mail_from(smtp):
    gateway = SmtpMail("127.0.0.1", smtp.port, SENDER)
    gateway.send(Email(to="ada@example.org", subject="Hello", text="Plain words", html="<p>Rich words</p>"))
    [message] = smtp.inbox.to("ada@example.org")
    assert message["From"] == SENDER and message["Subject"] == "Hello"
    assert body_text(message).strip() == "Plain words"
    assert body_html(message).strip() == "<p>Rich words</p>"
    assert message.get_content_type() == "multipart/alternative"
    assert "List-Unsubscribe" not in message  # not a list email


def test_list_emails_carry_rfc_8058_headers(smtp):
    gateway = SmtpMail("127.0.0.1", smtp.port, SENDER)
    gateway.send(Email(to="list@example.org", subject="Digest", text="News",
                       list_unsubscribe="https://news.example/newsletters/unsubscribe/t/one-click",
                       list_unsubscribe_mailto="unsubscribe@news.example"))
    [message] = smtp.inbox.to("list@example.org")
    assert message["List-Unsubscribe"] == ("<https://news.example/newsletters/unsubscribe/t/one-click>, "
                                           "<mailto:unsubscribe@news.example>")
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


def test_a_refused_recipient_is_a_permanent_failure(smtp):
    smtp.inbox.refuse["gone@example.org"] = "550 No such user"
    with pytest.raises(MailError) as caught:
        SmtpMail("127.0.0.1", smtp.port, SENDER).send(Email(to="gone@example.org", subject="x", text="y"))
    assert caught.value.permanent


def test_a_busy_mailbox_is_temporary(smtp):
    smtp.inbox.refuse["busy@example.org"] = "450 Mailbox busy"
    with pytest.raises(MailError) as caught:
        SmtpMail("127.0.0.1", smtp.port, SENDER).send(Email(to="busy@example.org", subject="x", text="y"))
    assert not caught.value.permanent


def test_an_unreachable_server_is_temporary():
    from tests.smtp import free_port

    with pytest.raises(MailError) as caught:
        SmtpMail("127.0.0.1", free_port(), SENDER, timeout=2).send(Email(to="a@example.org", subject="x", text="y"))
    assert not caught.value.permanent


def test_console_writes_the_message_instead_of_sending():
    out = io.StringIO()
    ConsoleMail(SENDER, stream=out).send(Email(to="ada@example.org", subject="Hi", text="Body", kind="welcome"))
    assert "To: ada@example.org" in out.getvalue() and "Body" in out.getvalue() and "(welcome)" in out.getvalue()


def test_logs_name_the_kind_never_the_address_or_body(smtp, caplog):
    caplog.set_level("INFO", logger="service")
    SmtpMail("127.0.0.1", smtp.port, SENDER).send(Email(to="secret@example.org", subject="s", text="private body",
                                                        kind="welcome"))
    record = next(r for r in caplog.records if r.getMessage() == "mail.sent")
    assert record.fields["kind"] == "welcome"
    assert "secret@example.org" not in str(record.fields) and "private body" not in str(record.fields)


@pytest.mark.parametrize(("url", "expected"), [
    ("smtp://127.0.0.1:2525", {"host": "127.0.0.1", "port": 2525, "tls": False, "starttls": False, "username": None}),
    ("smtp://user%40x:p%3Ass@mail.example:587?starttls=1",
     {"host": "mail.example", "port": 587, "starttls": True, "username": "user@x", "password": "p:ss"}),
    ("smtps://u:p@mail.example", {"host": "mail.example", "port": 465, "tls": True}),
])
def test_mail_url_chooses_smtp_with_its_options(url, expected):
    gateway = mail_from_config({"MAIL_URL": url, "MAIL_FROM": SENDER})
    assert isinstance(gateway, SmtpMail)
    assert {k: getattr(gateway, k) for k in expected} == expected


def test_console_is_the_default_stand_in():
    assert isinstance(mail_from_config({"MAIL_URL": "console", "MAIL_FROM": SENDER}), ConsoleMail)


def test_a_bad_mail_url_is_refused_at_start_up():
    from service.config import ConfigError, load_config

    with pytest.raises(ConfigError, match="MAIL_URL"):
        load_config({"MAIL_URL": "http://mail.example"}, environ={"MEMBERSHIP_ENV": "test", "SECRET_KEY": "x"})


def test_messages_round_trip_through_the_outbox_payload():
    email = Email(to="a@example.org", subject="s", text="t", kind="welcome", list_unsubscribe="https://x/y")
    assert Email.from_payload(email.to_payload()) == email
    assert build_message(email, SENDER)["Message-ID"].endswith("@newsroom.example>")

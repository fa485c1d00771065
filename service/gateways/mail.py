"""Sending email: one SMTP implementation and a console stand-in, chosen by MAIL_URL.

    MAIL_URL=smtp://user:pass@host:587?starttls=1   plain SMTP, upgraded with STARTTLS
    MAIL_URL=smtps://user:pass@host:465              SMTP over TLS
    MAIL_URL=console                                 print messages to stderr (development)

Callers hand the gateway an `Email`; the gateway builds the `EmailMessage`
(From, plain text and HTML alternatives, and for list emails the RFC 2369 /
RFC 8058 unsubscribe headers) so every message is built the same way.
"""
from __future__ import annotations

import base64
import logging
import smtplib
import ssl
import sys
from dataclasses import asdict, dataclass, field
from email.message import EmailMessage
from email.utils import make_msgid
from typing import Any, Protocol, TextIO
from urllib.parse import parse_qs, unquote, urlsplit

from service.logs import log_event

logger = logging.getLogger(__name__)
SMTP_TIMEOUT = 15  # seconds; a stuck server must not hold a worker forever


class MailError(Exception):
    """Sending failed. `permanent` is True when retrying cannot help (e.g. a 5xx for the recipient)."""

    def __init__(self, message: str, *, permanent: bool = False):
        super().__init__(message)
        self.permanent = permanent


@dataclass(frozen=True)
class Email:
    """One message to one recipient. `kind` names it in logs (never the address or body).

    `list_unsubscribe` (an https URL accepting RFC 8058 one-click POSTs) marks a
    list email: the message then carries List-Unsubscribe and List-Unsubscribe-Post.
    `attachments` are files sent with it (see `attachment`): the email stays plain JSON in the outbox.
    """

    to: str
    subject: str
    text: str
    html: str | None = None
    kind: str = "email"
    list_unsubscribe: str | None = None
    list_unsubscribe_mailto: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    attachments: list[dict[str, str]] = field(default_factory=list)

    def to_payload(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v not in (None, {}, [])}

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> Email:
        return cls(**payload)


def attachment(filename: str, content_type: str, data: bytes) -> dict[str, str]:
    """A file for `Email.attachments`: its name, MIME type and content (base64, so it fits in JSON)."""
    return {"filename": filename, "content_type": content_type, "data": base64.b64encode(data).decode("ascii")}


def build_message(email: Email, sender: str) -> EmailMessage:
    """The message as sent: From, To, Subject, text part, optional HTML alternative, then any attachments."""
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = email.to
    msg["Subject"] = email.subject
    msg["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2].strip("> ") or "localhost")
    for name, value in email.headers.items():
        msg[name] = value
    if email.list_unsubscribe:
        targets = [f"<{email.list_unsubscribe}>"]
        if email.list_unsubscribe_mailto:
            targets.append(f"<mailto:{email.list_unsubscribe_mailto}>")
        msg["List-Unsubscribe"] = ", ".join(targets)
        # RFC 8058: tells mailbox providers that a POST to the https URL unsubscribes.
        msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    msg.set_content(email.text)
    if email.html:
        msg.add_alternative(email.html, subtype="html")
    for file in email.attachments:
        maintype, _, subtype = file["content_type"].partition("/")
        msg.add_attachment(base64.b64decode(file["data"]), maintype=maintype, subtype=subtype, filename=file["filename"])
    return msg


class MailGateway(Protocol):
    """Sends one email. Raises `MailError` (with `permanent`) when it cannot."""

    def send(self, email: Email) -> None: ...


class SmtpMail:
    """Sends through an SMTP server: one connection per message (the outbox sends one at a time)."""

    def __init__(self, host: str, port: int, sender: str, *, tls: bool = False, starttls: bool = False,
                 username: str | None = None, password: str | None = None, timeout: float = SMTP_TIMEOUT):
        self.host, self.port, self.sender = host, port, sender
        self.tls, self.starttls = tls, starttls
        self.username, self.password, self.timeout = username, password, timeout

    def _connect(self) -> smtplib.SMTP:
        if self.tls:
            return smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout, context=ssl.create_default_context())
        conn = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        if self.starttls:
            conn.starttls(context=ssl.create_default_context())
        return conn

    def send(self, email: Email) -> None:
        message = build_message(email, self.sender)
        try:
            with self._connect() as conn:
                if self.username:
                    conn.login(self.username, self.password or "")
                conn.send_message(message)
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _msg in exc.recipients.values()]
            raise MailError(f"recipient refused ({codes})", permanent=all(c >= 500 for c in codes)) from None
        except smtplib.SMTPResponseException as exc:
            raise MailError(f"SMTP {exc.smtp_code}", permanent=exc.smtp_code >= 500) from None
        except (smtplib.SMTPException, OSError) as exc:
            raise MailError(f"SMTP unavailable: {type(exc).__name__}") from None
        log_event(logger, "mail.sent", kind=email.kind, message_id=message["Message-ID"])


class ConsoleMail:
    """Development stand-in: writes the whole message to stderr instead of sending it."""

    def __init__(self, sender: str, stream: TextIO | None = None):
        self.sender = sender
        self.stream = stream

    def send(self, email: Email) -> None:
        message = build_message(email, self.sender)
        out = self.stream or sys.stderr
        out.write(f"\n----- email ({email.kind}) -----\n{message.as_string()}\n----- end -----\n")
        out.flush()
        log_event(logger, "mail.printed", kind=email.kind, message_id=message["Message-ID"])


def mail_from_config(config: dict[str, Any]) -> MailGateway:
    """The gateway MAIL_URL names. Raises ValueError for a URL it cannot use."""
    url = config["MAIL_URL"].strip()
    sender = config["MAIL_FROM"]
    if url == "console":
        return ConsoleMail(sender)
    parts = urlsplit(url)
    if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
        raise ValueError(f"MAIL_URL must be smtp://HOST:PORT, smtps://HOST:PORT or console, got {parts.scheme or url!r}")
    options = parse_qs(parts.query)
    tls = parts.scheme == "smtps"
    return SmtpMail(
        parts.hostname, parts.port or (465 if tls else 25), sender, tls=tls,
        starttls=options.get("starttls", ["0"])[0].lower() in ("1", "true", "yes"),
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
    )

"""Mailchimp as the provider, against a local HTTP server that checks the exact requests."""
from __future__ import annotations

import base64
import hashlib
import json
import threading
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import select

from service.db import utcnow
from service.domain.newsletter import subscriptions as nl
from service.gateways.newsletter import Subscriber
from service.gateways.newsletter_mailchimp import MailchimpProvider, api_base_for_key, subscriber_hash
from service.jobs import deliver_outbox
from service.models import OutboxMessage, OutboxStatus

API_KEY = "0123456789abcdef-us6"
LIST_ID = "abc123"


class FakeMailchimp:
    """Records each request; answers from a queue of statuses (200 when empty)."""

    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.answers: list[int] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                outer.requests.append({"method": self.command, "path": self.path,
                                       "auth": self.headers.get("Authorization"),
                                       "json": json.loads(body) if body else None})
                status = outer.answers.pop(0) if outer.answers else 200
                payload = json.dumps({"title": "Invalid Resource", "detail": "looks fake"} if status >= 400 else {}).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/problem+json" if status >= 400 else "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_PUT = do_DELETE = do_POST = _handle

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/3.0"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def mailchimp() -> Iterator[FakeMailchimp]:
    fake = FakeMailchimp()
    yield fake
    fake.close()


@pytest.fixture
def provider(app, mailchimp, monkeypatch):
    mailchimp.requests.clear()
    mailchimp.answers.clear()
    chosen = MailchimpProvider(API_KEY, api_base=mailchimp.base, default_list_id=LIST_ID)
    monkeypatch.setitem(app.extensions, "newsletter", chosen)
    return chosen


def member_path(email: str) -> str:
    return f"/3.0/lists/{LIST_ID}/members/{hashlib.md5(email.lower().encode()).hexdigest()}"


def expected_auth() -> str:
    return "Basic " + base64.b64encode(f"membership:{API_KEY}".encode()).decode()


def test_the_api_base_comes_from_the_keys_data_centre():
    assert api_base_for_key(API_KEY) == "https://us6.api.mailchimp.com/3.0"
    with pytest.raises(ValueError, match="data centre"):
        api_base_for_key("nodatacentre")


def test_subscribe_is_a_put_keyed_by_the_md5_of_the_lowercased_email(db_session, provider, mailchimp):
    provider.upsert(Subscriber("members-digest", None, "Ada@Example.org", "Ada", "Lovelace"))
    [request] = mailchimp.requests
    assert request["method"] == "PUT" and request["path"] == member_path("ada@example.org")
    assert subscriber_hash("Ada@Example.org") == hashlib.md5(b"ada@example.org").hexdigest()
    assert request["auth"] == expected_auth()
    assert request["json"] == {"email_address": "Ada@Example.org", "status_if_new": "subscribed",
                               "status": "subscribed", "merge_fields": {"FNAME": "Ada", "LNAME": "Lovelace"}}


def test_removal_archives_by_default_and_a_404_means_already_gone(db_session, provider, mailchimp):
    mailchimp.answers.append(404)
    provider.remove(Subscriber("members-digest", None, "ada@example.org"), reason="lapsed")
    assert [(r["method"], r["path"], r["json"]) for r in mailchimp.requests] == [
        ("DELETE", member_path("ada@example.org"), None)]


def test_removal_can_unsubscribe_instead(db_session, mailchimp):
    provider = MailchimpProvider(API_KEY, api_base=mailchimp.base, default_list_id=LIST_ID, removal="unsubscribe")
    mailchimp.requests.clear()
    provider.remove(Subscriber("members-digest", "list-own", "ada@example.org"), reason="unsubscribed")
    [request] = mailchimp.requests
    assert request["method"] == "PUT" and request["path"].startswith("/3.0/lists/list-own/members/")
    assert request["json"]["status"] == "unsubscribed" and request["json"]["status_if_new"] == "unsubscribed"


def test_the_outbox_drives_mailchimp_retrying_429_and_5xx_and_burying_400(db_session, provider, mailchimp):
    from tests.factories import make_member

    now = utcnow()
    member = make_member(name="Grace Hopper")
    nl.resubscribe(member.email, "daily-headlines", nl.ConsentSource.MEMBER, now=now)
    mailchimp.answers.extend([429, 503])
    deliver_outbox(10, now=now)
    deliver_outbox(10, now=now + timedelta(days=1))
    # This reader's rows only: tests that run servers on PostgreSQL commit rows of their own.
    mine = OutboxMessage.key.endswith(f":{member.email}")
    row = db_session.scalars(select(OutboxMessage).where(OutboxMessage.topic == "newsletter.sync", mine)).one()
    assert row.status is OutboxStatus.PENDING and row.attempts == 2 and "503" in row.last_error
    deliver_outbox(10, now=now + timedelta(days=2))
    db_session.refresh(row)
    assert row.status is OutboxStatus.DELIVERED and row.attempts == 3
    assert [r["method"] for r in mailchimp.requests] == ["PUT", "PUT", "PUT"]  # the same idempotent call

    nl.unsubscribe(member.email, "daily-headlines", nl.Actor(nl.ConsentSource.MEMBER), now=now)
    mailchimp.answers.append(400)
    deliver_outbox(10, now=now + timedelta(days=3))
    dead = db_session.scalars(select(OutboxMessage).where(OutboxMessage.status == OutboxStatus.DEAD, mine)).one()
    assert dead.attempts == 1 and dead.last_error.endswith("Mailchimp DELETE answered 400: Invalid Resource: looks fake")


def test_an_unreachable_mailchimp_is_temporary(db_session, app, monkeypatch):
    from service.gateways.newsletter import ProviderError
    from tests.smtp import free_port

    provider = MailchimpProvider(API_KEY, api_base=f"http://127.0.0.1:{free_port()}/3.0", default_list_id=LIST_ID)
    with pytest.raises(ProviderError) as caught:
        provider.upsert(Subscriber("x", None, "a@example.org"))
    assert not caught.value.permanent


def test_mailchimp_settings_are_checked_at_start_up():
    from service.config import ConfigError, load_config

    env = {"MEMBERSHIP_ENV": "test", "NEWSLETTER_PROVIDER": "mailchimp"}
    with pytest.raises(ConfigError, match="needs MAILCHIMP_API_KEY"):
        load_config(environ=env)
    with pytest.raises(ConfigError, match="MAILCHIMP_REMOVAL"):
        load_config(environ={**env, "MAILCHIMP_API_KEY": API_KEY, "MAILCHIMP_REMOVAL": "delete"})
    assert load_config(environ={**env, "MAILCHIMP_API_KEY": API_KEY})["MAILCHIMP_REMOVAL"] == "archive"

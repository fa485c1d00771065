"""The reader's pages against a running Stripe sandbox: helpers.

The modules that use them run on `sandbox_app` (they define `app` to return it, or their
folder's conftest does), and its emails stay in the outbox (tests/web/conftest.py), where
`emails_to` reads them; the rest of tests/web keeps the plain session app.
"""
from __future__ import annotations

import re
from typing import Any

from flask import g
from flask.testing import FlaskClient
from flask_login.utils import _create_identifier
from sqlalchemy import select

from service.db import utcnow
from service.models import Member, OutboxMessage
from service.web.public.join import JOINING_MEMBER
from service.web.public.readers import SESSION_VERSION, SIGNED_IN_AT
from tests.sandbox.harness import Sandbox, pay

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
LINK = re.compile(r"(http://localhost/signin/link/\S+)")
CODE = re.compile(r"code on the sign-in page: (\d{8})")


def csrf(client: FlaskClient, path: str = "/") -> str:
    """The CSRF token of a fresh page. Requests in a test share the test's app context, so
    flask-wtf's per-context cache (`g.csrf_token`) would outlive a session cleared at sign-in."""
    g.pop("csrf_token", None)
    match = CSRF.search(client.get(path).get_data(as_text=True))
    assert match, f"no CSRF token on {path}"
    return match.group(1)


def post_form(client: FlaskClient, path: str, data: dict[str, str], *, token_from: str = "/") -> Any:
    return client.post(path, data={"csrf_token": csrf(client, token_from), **data})


def join(client: FlaskClient, email: str, *, plan: str = "monthly-5", name: str = "Ada Reader", **extra: str) -> Any:
    return post_form(client, "/join", {"email": email, "name": name, "plan": plan, **extra})


def member(email: str) -> Member:
    from service.extensions import db

    found = db.session.scalar(select(Member).where(Member.email == email.lower()))
    assert found is not None, f"no member {email}"
    return found


def join_and_pay(client: FlaskClient, sandbox: Sandbox, email: str, card: str = "4242 4242 4242 4242",
                 **form: str) -> Member:
    """Join through the form, pay on the sandbox's hosted page, come back to the success page."""
    answer = join(client, email, **form)
    assert answer.status_code == 303, answer.get_data(as_text=True)
    paid = pay(sandbox, answer.location, card=card, email=email)
    if paid.status_code == 303:
        success = client.get(paid.headers["Location"].replace("http://localhost", ""))
        assert success.status_code == 200
    return member(email)


def sign_in_as(client: FlaskClient, someone: Member) -> None:
    """Put a signed-in reader in the test client's session, as flask-login keeps it."""
    with client.application.test_request_context(environ_base=client.environ_base):
        ident = _create_identifier()
    with client.session_transaction() as browser:
        browser.clear()
        browser.update({"_user_id": f"member:{someone.id}", "_fresh": True, "_id": ident,
                        SESSION_VERSION: someone.session_version, SIGNED_IN_AT: utcnow().isoformat()})
    g.pop("_login_user", None)  # flask-login's per-context cache, shared by this test's requests


def joining(client: FlaskClient) -> Any:
    with client.session_transaction() as browser:
        return browser.get(JOINING_MEMBER)


def emails_to(address: str) -> list[dict[str, Any]]:
    from service.extensions import db

    rows = db.session.scalars(select(OutboxMessage).where(OutboxMessage.topic == "email").order_by(OutboxMessage.id))
    return [row.payload for row in rows if row.payload["to"] == address.lower()]


def signin_link(address: str) -> str:
    """The path of the newest sign-in link emailed to the address."""
    found = [LINK.search(e["text"]) for e in emails_to(address) if e.get("kind") == "signin"]
    assert found and found[-1], f"no sign-in email to {address}"
    return found[-1].group(1).replace("http://localhost", "")


def signin_code(address: str) -> str:
    found = [CODE.search(e["text"]) for e in emails_to(address) if e.get("kind") == "signin"]
    assert found and found[-1], f"no sign-in email to {address}"
    return found[-1].group(1)

"""Signing staff in through the real sign-in form, and posting console forms with their CSRF token.
(The `staff_login` and `anonymous` fixtures built on this are in tests/web/conftest.py.)"""
from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from flask import g
from flask.testing import FlaskClient

from service.db import utcnow
from service.models import StaffUser
from service.web.staff.base import AUTH_AT
from tests.factories import STAFF_PASSWORD

_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_token(client: FlaskClient, page: str = "/staff/login") -> str:
    """The CSRF token of a fresh page. Requests in a test share the test's app context, so
    flask-wtf's per-context cache (`g.csrf_token`) would outlive a session cleared at sign-in
    or belong to another client."""
    g.pop("csrf_token", None)
    response = client.get(page)
    found = _TOKEN.search(response.get_data(as_text=True))
    assert found, f"no CSRF token on {page} ({response.status_code})"
    return found.group(1)


class StaffSession:
    """A browser-like client for one staff user."""

    def __init__(self, client: FlaskClient, user: StaffUser | None):
        self.client, self.user = client, user

    def login(self, password: str = STAFF_PASSWORD, next: str = "") -> Any:
        token = csrf_token(self.client)
        return self.client.post("/staff/login", data={"email": self.user.email, "password": password,
                                                        "next": next, "csrf_token": token})

    def get(self, path: str, **kw: Any) -> Any:
        return self.client.get(path, **kw)

    def post(self, path: str, data: dict[str, Any] | None = None, **kw: Any) -> Any:
        page = "/staff/password" if self.user is not None and self._signed_in() else "/staff/login"
        token = csrf_token(self.client, page)
        return self.client.post(path, data={"csrf_token": token, **(data or {})}, **kw)

    def _signed_in(self) -> bool:
        with self.client.session_transaction() as session:
            return "_user_id" in session

    def age_login(self, minutes: int) -> None:
        """Pretend the password was last given `minutes` ago."""
        with self.client.session_transaction() as session:
            session[AUTH_AT] = (utcnow() - timedelta(minutes=minutes)).isoformat()

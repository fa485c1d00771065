"""Fixtures for the web layer: staff signed in through the real sign-in form (helpers in
staff_client.py), and what the pages on the sandbox keep for the tests to read."""
from __future__ import annotations

from typing import Any

import pytest

from tests.factories import make_staff
from tests.web.staff_client import StaffSession


@pytest.fixture(scope="module")
def sandbox_settings(sandbox_settings: dict[str, Any]) -> dict[str, Any]:
    """Pages on the sandbox keep their emails in the outbox (no inline delivery), where the
    reader helpers (tests.web.readers.emails_to) read them."""
    return {**sandbox_settings, "OUTBOX_DELIVER_INLINE": False}


@pytest.fixture
def staff_login(app: Any, db_session: Any) -> Any:
    """`staff_login(role)` -> a signed-in StaffSession (the user is committed to the test's savepoint)."""

    def login(role: str = "viewer", **fields: Any) -> StaffSession:
        user = make_staff(role=role, **fields)
        db_session.commit()
        session = StaffSession(app.test_client(), user)
        response = session.login()
        assert response.status_code == 302, response.get_data(as_text=True)
        return session

    return login


@pytest.fixture
def anonymous(app: Any, db_session: Any) -> StaffSession:
    return StaffSession(app.test_client(), None)

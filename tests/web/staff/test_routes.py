"""Every staff route for every role: anonymous visitors go to sign-in, staff below the role get 403."""
from __future__ import annotations

import pytest

from tests.factories import make_member

ROLES = ["viewer", "support", "admin"]
# (method, path with {id}, lowest role allowed)
ROUTES = [
    ("GET", "/staff/", "viewer"),
    ("GET", "/staff/dashboard", "viewer"),
    ("GET", "/staff/members?q=reader", "viewer"),
    ("GET", "/staff/members.csv", "viewer"),
    ("GET", "/staff/members/{id}", "viewer"),
    ("GET", "/staff/audit", "viewer"),
    ("GET", "/staff/password", "viewer"),
    ("GET", "/staff/reauth", "viewer"),
    ("POST", "/staff/members/{id}/comp", "support"),
    ("POST", "/staff/members/{id}/comp/end", "support"),
    ("POST", "/staff/members/{id}/notes", "support"),
    ("POST", "/staff/members/{id}/signin-link", "support"),
    ("POST", "/staff/members/{id}/resync", "support"),
    ("POST", "/staff/members/{id}/edit", "support"),
    ("POST", "/staff/members/{id}/email-changes/999999/cancel", "support"),
    ("POST", "/staff/members/{id}/cancel", "admin"),
    ("POST", "/staff/members/{id}/erase", "admin"),
    ("GET", "/staff/users", "admin"),
    ("POST", "/staff/users", "admin"),
    ("POST", "/staff/users/1", "admin"),
    ("GET", "/staff/tokens", "admin"),
    ("POST", "/staff/tokens", "admin"),
    ("POST", "/staff/tokens/999999/revoke", "admin"),
]
IDS = [f"{m} {p}" for m, p, _ in ROUTES]


def _call(session, method, path):
    return session.get(path) if method == "GET" else session.post(path, {})


@pytest.mark.parametrize(("method", "path", "needed"), ROUTES, ids=IDS)
def test_anonymous_visitors_are_sent_to_sign_in(anonymous, db_session, method, path, needed):
    member = make_member()
    db_session.commit()
    response = _call(anonymous, method, path.format(id=member.id))
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/staff/login")


@pytest.mark.parametrize(("method", "path", "needed"), ROUTES, ids=IDS)
@pytest.mark.parametrize("role", ROLES)
def test_each_role_is_allowed_or_forbidden(staff_login, db_session, method, path, needed, role):
    member = make_member()
    db_session.commit()
    session = staff_login(role)
    response = _call(session, method, path.format(id=member.id))
    allowed = ROLES.index(role) >= ROLES.index(needed)
    if allowed:
        # Past the role check: a page, a redirect within the console, or a complaint about the (empty) form.
        assert response.status_code != 403, response.get_data(as_text=True)[:500]
        assert not response.headers.get("Location", "").startswith("/staff/login")
    else:
        assert response.status_code == 403
        assert f"needs the {needed} role" in response.get_data(as_text=True)


def test_a_readers_session_is_not_a_staff_session(anonymous, db_session):
    with anonymous.client.session_transaction() as session:
        session["_user_id"] = "member:1"
    response = anonymous.get("/staff/dashboard")
    assert response.status_code == 302 and response.headers["Location"].startswith("/staff/login")


def test_forms_without_a_csrf_token_are_refused(staff_login, db_session):
    member = make_member()
    db_session.commit()
    session = staff_login("admin")
    response = session.client.post(f"/staff/members/{member.id}/comp", data={})
    assert response.status_code == 400
    assert "CSRF" in response.get_data(as_text=True)


def test_admins_issue_read_or_write_tokens_from_the_console(staff_login, db_session):
    from service.models import ApiToken, TokenScope

    admin = staff_login("admin")
    page = admin.post("/staff/tokens", {"email": admin.user.email, "name": "reporting", "scope": "write"})
    assert page.status_code == 200, page.get_data(as_text=True)[:300]
    token = db_session.query(ApiToken).filter_by(name="reporting").one()
    assert token.scope is TokenScope.WRITE
    assert ">write<" in page.get_data(as_text=True)

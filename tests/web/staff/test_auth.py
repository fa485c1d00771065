"""Staff sign-in: passwords, session renewal, safe `next`, cookies, sign-out, password changes,
and the recent-login requirement for actions that touch billing."""
from __future__ import annotations

import pytest

from service.extensions import limiter
from service.models import AuditEntry
from tests.apps import fresh_app, own_limiter
from tests.factories import STAFF_PASSWORD, make_member, make_staff
from tests.web.staff_client import StaffSession, csrf_token


@pytest.fixture(autouse=True)
def fresh_counters():
    """Sign-in is rate limited per address and every test client is 127.0.0.1: start each test at zero."""
    if limiter.enabled:  # switched on by an earlier rate-limit test that did not restore it
        limiter.reset()


@pytest.fixture
def user(db_session):
    staff = make_staff(role="support")
    db_session.commit()
    return staff


def test_the_right_password_signs_in_and_goes_to_next(app, user):
    session = StaffSession(app.test_client(), user)
    response = session.login(next="/staff/members?q=ada")
    assert response.status_code == 302 and response.headers["Location"] == "/staff/members?q=ada"
    assert user.last_login_at is not None
    assert user.email in session.get("/staff/dashboard").get_data(as_text=True)


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/x", "/\\evil.example", "/account"])
def test_next_never_leaves_the_console(app, user, target):
    response = StaffSession(app.test_client(), user).login(next=target)
    assert response.headers["Location"] == "/staff/dashboard"


def test_a_wrong_password_is_refused_and_counted(app, user, db_session):
    response = StaffSession(app.test_client(), user).login(password="wrong password entirely")
    assert response.status_code == 401
    assert "do not match" in response.get_data(as_text=True)
    db_session.refresh(user)
    assert user.failed_logins == 1


def test_an_unknown_email_gets_the_same_answer(app, db_session):
    client = app.test_client()
    response = client.post("/staff/login", data={"email": "nobody@newsroom.example", "password": "x" * 12,
                                                 "csrf_token": csrf_token(client)})
    assert response.status_code == 401 and "do not match" in response.get_data(as_text=True)


# Repeated failures throttle instead of locking the account: tests/web/staff/test_throttle.py.


def test_sign_in_starts_a_new_session(app, user):
    session = StaffSession(app.test_client(), user)
    with session.client.session_transaction() as s:
        s["planted"] = "by an attacker"
    session.login()
    with session.client.session_transaction() as s:
        assert "planted" not in s and s["_user_id"] == f"staff:{user.id}"


def test_session_cookies_are_secure_httponly_and_samesite(database_url, db_session):
    with fresh_app(database_url, BASE_URL="https://members.example") as secure_app:
        user = make_staff()
        db_session.commit()
        response = StaffSession(secure_app.test_client(), user).login()
        cookie = response.headers["Set-Cookie"]
        assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_sign_out_ends_the_session(staff_login, db_session):
    session = staff_login("viewer")
    assert session.post("/staff/logout").status_code == 302
    response = session.get("/staff/dashboard")
    assert response.status_code == 302 and response.headers["Location"].startswith("/staff/login")


def test_changing_the_password_signs_out_other_sessions(app, staff_login, db_session):
    here = staff_login("viewer")
    elsewhere = StaffSession(app.test_client(), here.user)
    elsewhere.login()
    new = "a much longer passphrase 2027"
    response = here.post("/staff/password", {"current_password": STAFF_PASSWORD, "new_password": new, "repeat": new})
    assert response.status_code == 302
    assert here.get("/staff/dashboard").status_code == 200
    assert elsewhere.get("/staff/dashboard").headers["Location"].startswith("/staff/login")
    assert StaffSession(app.test_client(), here.user).login(password=new).status_code == 302


def test_a_weak_new_password_is_refused_with_the_reason(staff_login, db_session):
    session = staff_login("viewer")
    response = session.post("/staff/password", {"current_password": STAFF_PASSWORD, "new_password": "short",
                                                "repeat": "short"})
    assert response.status_code == 422 and "at least 12 characters" in response.get_data(as_text=True)


def test_billing_actions_ask_for_the_password_after_15_minutes(staff_login, db_session):
    member = make_member()
    db_session.commit()
    session = staff_login("admin")
    session.age_login(16)
    page = f"/staff/members/{member.id}"
    response = session.post(f"{page}/edit", {"email": "new@example.org", "name": "New"}, headers={"Referer": page})
    assert response.status_code == 302 and response.headers["Location"].startswith("/staff/reauth")
    assert db_session.query(AuditEntry).filter_by(member_id=member.id).count() == 0
    wrong = session.post("/staff/reauth", {"password": "not it at all", "next": page})
    assert wrong.status_code == 401
    confirmed = session.post("/staff/reauth", {"password": STAFF_PASSWORD, "next": page})
    assert confirmed.headers["Location"] == page
    assert session.post(f"{page}/edit", {"email": "new@example.org", "name": "New"}).status_code == 303


def test_comps_and_notes_do_not_need_a_recent_login(staff_login, db_session):
    member = make_member()
    db_session.commit()
    session = staff_login("support")
    session.age_login(60)
    assert session.post(f"/staff/members/{member.id}/notes", {"text": "Called about the digest"}).status_code == 303


def test_sign_in_attempts_are_rate_limited(database_url, db_session):
    with own_limiter(), fresh_app(database_url, RATELIMIT_ENABLED=True, WTF_CSRF_ENABLED=False,
                                  STAFF_LOGIN_RATE_LIMIT="3 per minute") as limited:
        limiter.reset()
        client = limited.test_client()
        codes = [client.post("/staff/login", data={"email": "x@newsroom.example", "password": "nope"}).status_code
                 for _ in range(4)]
        limiter.reset()
    assert codes == [401, 401, 401, 429]


def test_signing_out_ends_a_copied_session_too(staff_login, app):
    session = staff_login("viewer")
    copy = StaffSession(app.test_client(), session.user)
    with session.client.session_transaction() as original, copy.client.session_transaction() as stolen:
        stolen.update(dict(original))
    assert copy.get("/staff/members").status_code == 200  # the copied cookie works while signed in
    session.post("/staff/logout")
    assert copy.get("/staff/members").status_code == 302  # and not after sign-out


# Re-authentication and password-form guesses are throttled: tests/web/staff/test_throttle.py.

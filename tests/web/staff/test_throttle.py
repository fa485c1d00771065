"""Staff password guessing is throttled per address and per account, never by locking the account.

Risk: after STAFF_MAX_FAILED_LOGINS wrong passwords the account was locked, even for the right
password, so anyone who knew an admin's email could lock them out at will (and keep them out);
and the "locked" message, given only for real accounts, told an attacker which emails exist.
Now failures throttle the pair (account, address) with one message for known and unknown emails,
and the real admin signs in from their own address meanwhile.
"""
from __future__ import annotations

import re

import pytest

from service.extensions import limiter
from tests.apps import fresh_app, own_limiter
from tests.factories import STAFF_PASSWORD, make_staff
from tests.web.staff_client import StaffSession

ATTACKER = {"REMOTE_ADDR": "203.0.113.66"}
ADMIN_DESK = {"REMOTE_ADDR": "198.51.100.7"}
ALERT = re.compile(r'<p role="alert"[^>]*>([^<]+)</p>')


@pytest.fixture
def limited(database_url):
    """An app with rate limits on (the suite's app has them off); the per-address limit is high, so
    what these tests see is the per-account throttle."""
    with own_limiter(), fresh_app(database_url, RATELIMIT_ENABLED=True, WTF_CSRF_ENABLED=False,
                                  STAFF_LOGIN_RATE_LIMIT="100 per minute") as app:
        limiter.reset()
        yield app
        limiter.reset()


def attempt(client, email: str, password: str, where: dict):
    return client.post("/staff/login", data={"email": email, "password": password}, environ_base=where)


def answer(response) -> tuple[int, str]:
    found = ALERT.search(response.get_data(as_text=True))
    assert found, response.get_data(as_text=True)
    return response.status_code, found.group(1)


def test_known_and_unknown_emails_get_the_same_answers_and_the_admin_still_signs_in(limited, db_session):
    admin = make_staff(role="admin")
    db_session.commit()
    attacker = limited.test_client()
    failures = limited.config["STAFF_MAX_FAILED_LOGINS"]

    known = [answer(attempt(attacker, admin.email, "a wrong guess!", ATTACKER)) for _ in range(failures + 1)]
    unknown = [answer(attempt(attacker, "nobody@newsroom.example", "a wrong guess!", ATTACKER)) for _ in range(failures + 1)]

    assert known == unknown  # the same statuses and messages, attempt by attempt
    assert known[0][0] == 401 and known[-1][0] == 429
    # Throttled: from the attacker's address even the right password is not checked.
    assert attempt(attacker, admin.email, STAFF_PASSWORD, ATTACKER).status_code == 429
    # The admin, from their own address, signs in at once: no lockout to wait out.
    response = attempt(limited.test_client(), admin.email, STAFF_PASSWORD, ADMIN_DESK)
    assert response.status_code == 302
    db_session.refresh(admin)
    assert admin.locked_until is None


def test_successful_sign_ins_do_not_use_up_the_throttle(limited, db_session):
    user = make_staff(role="viewer")
    db_session.commit()
    client = limited.test_client()
    for _ in range(limited.config["STAFF_MAX_FAILED_LOGINS"] + 2):
        assert attempt(client, user.email, STAFF_PASSWORD, ADMIN_DESK).status_code == 302


def test_reauth_and_password_form_guesses_share_one_throttle(limited, db_session):
    """Risk: the password form checked the current password with no limit at all, so an open session
    (a borrowed laptop) could guess it without end, where re-authentication was counted."""
    user = make_staff(role="admin")
    db_session.commit()
    session = StaffSession(limited.test_client(), user)
    assert session.login().status_code == 302
    failures = limited.config["STAFF_MAX_FAILED_LOGINS"]
    codes = []
    for i in range(failures):
        if i % 2:
            codes.append(session.post("/staff/reauth", {"password": "wrong guess", "next": "/staff/"}).status_code)
        else:
            new = "a much longer passphrase 2027"
            codes.append(session.post("/staff/password", {"current_password": "wrong guess", "new_password": new,
                                                          "repeat": new}).status_code)
    assert codes == [401] * failures
    # Throttled now, on both forms, even with the right password.
    assert session.post("/staff/reauth", {"password": STAFF_PASSWORD, "next": "/staff/"}).status_code == 429
    new = "a much longer passphrase 2027"
    assert session.post("/staff/password", {"current_password": STAFF_PASSWORD, "new_password": new,
                                            "repeat": new}).status_code == 429
    db_session.refresh(user)
    assert user.failed_logins == failures


def test_wrong_current_passwords_are_counted_even_with_limits_off(staff_login, db_session):
    session = staff_login("viewer")
    new = "a much longer passphrase 2027"
    response = session.post("/staff/password", {"current_password": "wrong guess", "new_password": new, "repeat": new})
    assert response.status_code == 401 and "current password is not right" in response.get_data(as_text=True)
    db_session.refresh(session.user)
    assert session.user.failed_logins == 1

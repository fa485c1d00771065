"""Reader sessions can be ended, and end on their own.

The attack: a reader's session cookie (copied off a shared computer, a lost phone, a stolen
backup) signed in for ever: nothing could end it, not signing out elsewhere, not an email
change by staff, not erasure, and it never grew old. Each session now carries the member's
session version and its sign-in time; bumping the version ("sign out of all devices", an
email change, erasure) or READER_SESSION_DAYS passing ends it.
"""
from __future__ import annotations

from datetime import timedelta

import pytest
from flask import g
from flask_login.utils import encode_cookie

from service.db import utcnow
from service.domain.members.erasure import erase_member
from service.domain.staff.actions import edit_member
from tests.factories import make_member, make_staff
from tests.web.readers import csrf, post_form, signin_link

SIGNED_IN_AT = "reader_signed_in_at"  # service.web.public.readers.SIGNED_IN_AT, spelled out so old code still imports


@pytest.fixture(scope="module")
def app(sandbox_app):
    return sandbox_app


@pytest.fixture
def reader(db_session):
    someone = make_member(email="ada@example.org", name="Ada")
    db_session.commit()
    return someone


def signed_in(app, client=None):
    """A browser signed in through the emailed link."""
    client = client or app.test_client()
    post_form(client, "/signin", {"email": "ada@example.org"}, token_from="/signin")
    assert client.get(signin_link("ada@example.org")).status_code == 303
    return client


def account(client):
    """GET /account as this browser; flask-login caches the user per app context, shared by a test's requests."""
    g.pop("_login_user", None)
    return client.get("/account")


def copy_of(app, client):
    """Another browser holding the same session cookie."""
    thief = app.test_client()
    thief.set_cookie("session", client.get_cookie("session").value)
    return thief


def test_sign_out_of_all_devices_refuses_a_copied_cookie(app, db_session, reader):
    """The attack: a copy of the reader's session cookie kept working after they signed out.
    "Sign out of all devices" (POST, CSRF-protected) ends it, and this browser's session too."""
    mine = signed_in(app)
    thief = copy_of(app, mine)
    assert account(thief).status_code == 200, "the copy works until then"
    page = account(mine).get_data(as_text=True)
    assert 'action="/account/signout-everywhere"' in page and "Sign out of all devices" in page

    g.pop("_login_user", None)
    assert mine.post("/account/signout-everywhere").status_code == 400, "no CSRF token, no effect"
    assert account(thief).status_code == 200
    g.pop("_login_user", None)
    answer = mine.post("/account/signout-everywhere", data={"csrf_token": csrf(mine, "/account")})
    assert answer.status_code == 303
    assert account(mine).status_code == 303, "signed out here"
    refused = account(thief)
    assert refused.status_code == 303 and refused.location.startswith("/signin")

    again = signed_in(app)
    assert account(again).status_code == 200, "signing in again works"


def test_a_session_older_than_reader_session_days_is_refused(app, db_session, reader):
    """The attack: a session cookie never grew old; one taken a year ago still signed in."""
    days = app.config.get("READER_SESSION_DAYS", 30)  # the default; .get so the old code fails on the session, not here
    client = signed_in(app)
    with client.session_transaction() as browser:
        browser[SIGNED_IN_AT] = (utcnow() - timedelta(days=days) + timedelta(minutes=1)).isoformat()
    assert account(client).status_code == 200, "one minute short of the limit"
    with client.session_transaction() as browser:
        browser[SIGNED_IN_AT] = (utcnow() - timedelta(days=days, seconds=1)).isoformat()
    assert account(client).status_code == 303


def test_a_remember_cookie_alone_does_not_sign_a_reader_in(app, db_session, reader):
    """The attack: flask-login's remember-me cookie (a year by default) outliving the session:
    a reader is only ever signed in by a session that carries its version and start time."""
    with app.test_request_context():
        forged = encode_cookie(f"member:{reader.id}")  # what login_user(remember=True) would set
    client = app.test_client()
    client.set_cookie(app.config.get("REMEMBER_COOKIE_NAME", "remember_token"), forged)
    assert account(client).status_code == 303


def test_an_email_change_by_staff_ends_the_readers_sessions(app, db_session, reader, gateway):
    """The attack: whoever held a session under the old address stayed signed in after support
    moved the membership to a new address (e.g. after an account takeover)."""
    client = signed_in(app)
    edit_member(reader.id, make_staff("admin"), gateway, utcnow(), email="ada@new.example", name="Ada", override=True)
    db_session.commit()
    assert account(client).status_code == 303


def test_erasure_ends_the_readers_sessions(app, db_session, reader, gateway):
    """The attack: a browser still signed in as an erased member kept seeing their account."""
    client = signed_in(app)
    erase_member(reader.id, make_staff("admin"), gateway, utcnow())
    db_session.commit()
    assert account(client).status_code == 303


def test_a_session_from_before_this_change_is_signed_out(app, db_session, reader):
    """A session without the version and start time (older cookies) no longer signs in."""
    client = signed_in(app)
    with client.session_transaction() as browser:
        browser.pop(SIGNED_IN_AT, None)
    assert account(client).status_code == 303

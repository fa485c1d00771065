"""Signing in by emailed link or code, signing out, and where `next` may lead."""
from __future__ import annotations

import html
from datetime import timedelta

import pytest
from flask import session
from sqlalchemy import select

from service.db import utcnow
from service.domain.members.signin import SignedInReader
from service.models import SigninToken
from service.web.public.readers import safe_next
from tests.apps import fresh_app, own_limiter
from tests.factories import make_member
from tests.web.readers import csrf, emails_to, post_form, signin_code, signin_link


@pytest.fixture(scope="module")
def app(sandbox_app):
    """Sign-in emails are read from the outbox of the sandbox-backed app (tests/web/conftest.py)."""
    return sandbox_app


@pytest.fixture
def reader(db_session):
    someone = make_member(email="reader@example.org", name="Ada")
    db_session.commit()
    return someone


def ask(client, email="reader@example.org", **extra):
    return post_form(client, "/signin", {"email": email, **extra}, token_from="/signin")


def token_of(db_session, reader) -> SigninToken:
    return db_session.scalars(select(SigninToken).where(SigninToken.member_id == reader.id)
                              .order_by(SigninToken.id.desc())).first()


def account_page(client):
    return client.get("/account")


def test_the_link_signs_in_and_lands_on_the_account(client, db_session, reader):
    page = ask(client)
    assert page.status_code == 200 and "Check your inbox" in page.get_data(as_text=True)
    [email] = emails_to("reader@example.org")
    assert email["subject"] == "Your sign-in link" and "work for 15 minutes" in email["text"]
    answer = client.get(signin_link("reader@example.org"))
    assert answer.status_code == 303 and answer.location == "/account"
    assert account_page(client).status_code == 200


def test_an_unknown_address_gets_the_same_answer_and_no_email(client, db_session, reader):
    known = ask(client).get_data(as_text=True)
    unknown = ask(client, "stranger@example.org").get_data(as_text=True)
    assert unknown.replace("stranger@example.org", "X").split('name="csrf_token"')[0] == \
        known.replace("reader@example.org", "X").split('name="csrf_token"')[0]
    assert emails_to("stranger@example.org") == []


def test_the_session_is_new_after_sign_in(client, db_session, reader):
    with client.session_transaction() as browser:
        browser["planted"] = "by someone else"
    ask(client)
    client.get(signin_link("reader@example.org"))
    with client.session_transaction() as browser:
        assert "planted" not in browser and browser["_user_id"] == f"member:{reader.id}"


def test_a_link_survives_a_mail_scanner_but_not_forever(client, db_session, reader, app):
    ask(client)
    link = signin_link("reader@example.org")
    uses = app.config["SIGNIN_LINK_MAX_USES"]
    assert [client.get(link).status_code for _ in range(uses)] == [303] * uses
    refused = client.get(link)
    assert refused.status_code == 400 and "expired" in refused.get_data(as_text=True)


def test_a_used_link_stops_working_after_the_reuse_window(client, db_session, reader):
    ask(client)
    link = signin_link("reader@example.org")
    assert client.get(link).status_code == 303
    token = token_of(db_session, reader)
    token.first_used_at = utcnow() - timedelta(minutes=10, seconds=1)
    db_session.commit()
    assert client.get(link).status_code == 400


def test_an_unused_link_expires_after_15_minutes(client, db_session, reader):
    ask(client)
    token = token_of(db_session, reader)
    assert token.expires_at - token.created_at == timedelta(minutes=15)
    token.expires_at = utcnow() - timedelta(seconds=1)
    db_session.commit()
    assert client.get(signin_link("reader@example.org")).status_code == 400


@pytest.mark.parametrize("tampered", ["garbage", "eyJ0IjoxfQ.forged"])
def test_forged_links_are_refused(client, db_session, reader, tampered):
    answer = client.get(f"/signin/link/{tampered}")
    assert answer.status_code == 400 and "not valid" in answer.get_data(as_text=True)
    assert client.get("/account").status_code == 303


def test_the_code_signs_in_once(client, db_session, reader):
    ask(client)
    code = signin_code("reader@example.org")
    token = token_of(db_session, reader)
    assert code not in token.code_hash and len(token.code_hash) == 64
    spaced = f"{code[:3]} {code[3:]}"
    answer = post_form(client, "/signin/code", {"email": "Reader@Example.org", "code": spaced}, token_from="/signin")
    assert answer.status_code == 303 and answer.location == "/account"
    client.post("/signout", data={"csrf_token": csrf(client, "/account")})
    again = post_form(client, "/signin/code", {"email": "reader@example.org", "code": code}, token_from="/signin")
    assert again.status_code == 422


def test_wrong_codes_run_out(client, db_session, reader, app):
    ask(client)
    code = signin_code("reader@example.org")
    wrong = f"{(int(code) + 1) % 100_000_000:08d}"
    for _ in range(app.config["SIGNIN_CODE_MAX_ATTEMPTS"]):
        answer = post_form(client, "/signin/code", {"email": "reader@example.org", "code": wrong}, token_from="/signin")
        assert answer.status_code == 422 and "That code isn't right" in html.unescape(answer.get_data(as_text=True))
    right = post_form(client, "/signin/code", {"email": "reader@example.org", "code": code}, token_from="/signin")
    assert right.status_code == 422, "the code is spent after too many wrong guesses"
    assert token_of(db_session, reader).code_spent_at is not None


def test_a_code_for_an_unknown_address_reads_like_a_wrong_code(client, db_session):
    answer = post_form(client, "/signin/code", {"email": "nobody@example.org", "code": "12345678"}, token_from="/signin")
    assert answer.status_code == 422 and "That code isn't right" in html.unescape(answer.get_data(as_text=True))


def test_sign_out_needs_a_post_with_csrf(client, db_session, reader):
    ask(client)
    client.get(signin_link("reader@example.org"))
    assert client.get("/signout").status_code == 405
    assert client.post("/signout").status_code == 400
    assert account_page(client).status_code == 200, "still signed in"
    answer = client.post("/signout", data={"csrf_token": csrf(client, "/account")})
    assert answer.status_code == 303
    assert account_page(client).status_code == 303


@pytest.mark.parametrize("target", ["//evil.com", "https://evil.com", "/\\evil.com", "javascript:alert(1)",
                                    "http:/evil.com", "/\t/evil.com", " //evil.com", "evil.com"])
def test_next_never_leaves_the_site(client, db_session, reader, target):
    assert safe_next(target) == "/account"
    ask(client, next=target)
    assert client.get(signin_link("reader@example.org")).location == "/account"


def test_next_brings_the_reader_back_to_a_local_page(client, db_session, reader):
    bounced = client.get("/account/cancel")
    assert bounced.status_code == 303 and bounced.location.startswith("/signin?next=")
    page = client.get(bounced.location).get_data(as_text=True)
    assert 'name="next" value="/account/cancel"' in page
    ask(client, next="/account/cancel")
    assert client.get(signin_link("reader@example.org")).location == "/account/cancel"


def test_staff_sessions_are_not_readers(app, db_session):
    from tests.factories import make_staff

    staff = make_staff()
    with app.test_request_context():
        from service.web import load_user

        assert not isinstance(load_user(f"staff:{staff.id}"), SignedInReader)
        assert load_user(f"member:{staff.id + 10_000}") is None
        assert session.get("_user_id") is None


def test_sign_in_requests_and_codes_are_rate_limited(database_url, db_session):
    with own_limiter(), fresh_app(database_url, RATELIMIT_ENABLED=True, WTF_CSRF_ENABLED=False) as limited:
        client = limited.test_client()
        asks = [client.post("/signin", data={"email": "nobody@example.org"}).status_code for _ in range(4)]
        assert asks == [200, 200, 200, 429], "3 a minute per address"
        codes = [client.post("/signin/code", data={"email": f"n{i}@example.org", "code": "00000000"}).status_code
                 for i in range(11)]
        assert codes == [422] * 10 + [429], "10 guesses a minute per network address"

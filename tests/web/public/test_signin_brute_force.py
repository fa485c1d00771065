"""Sign-in codes cannot be guessed across tokens, and a token's link and code are one credential.

The attack: each POST /signin issued a fresh token with its own SIGNIN_CODE_MAX_ATTEMPTS
guesses, and the only other brakes were per-IP, per-process rate limits, so asking for a
new email every five guesses gave an attacker about 170 guesses per address per hour
against a six-digit code. Wrong codes are now counted per address in the database across
every token; past SIGNIN_CODE_MAX_FAILURES within SIGNIN_CODE_WINDOW_HOURS no code works,
and only the emailed link (which the attacker does not have) signs in.
"""
from __future__ import annotations

import html
import re

import pytest
from flask import g

from tests.factories import make_member
from tests.web.readers import csrf, emails_to, post_form, signin_code, signin_link

TOO_MANY = "Too many wrong codes: use the link in your email instead."


@pytest.fixture(scope="module")
def app(sandbox_app):
    """Sign-in emails are read from the outbox of the sandbox-backed app (tests/web/conftest.py)."""
    return sandbox_app


@pytest.fixture
def reader(db_session):
    someone = make_member(email="victim@example.org", name="Ada")
    db_session.commit()
    return someone


def ask(client, email="victim@example.org"):
    answer = post_form(client, "/signin", {"email": email}, token_from="/signin")
    assert answer.status_code == 200
    return answer


def enter(client, code, email="victim@example.org"):
    return post_form(client, "/signin/code", {"email": email, "code": code}, token_from="/signin")


def wrong_for(code: str) -> str:
    """A code of the same length that is not `code`."""
    return f"{(int(code) + 1) % 10 ** len(code):0{len(code)}d}"


def text(answer) -> str:
    return html.unescape(answer.get_data(as_text=True))


def test_forty_wrong_codes_across_eight_tokens_then_the_right_code_is_refused_but_the_link_works(
        client, db_session, reader):
    """The attack: ask for a new sign-in email after every 5 wrong guesses, so no token ever runs
    out of attempts for good: 40 guesses over 8 tokens, then the right code. It must be refused,
    with a message that sends the reader to the link, and the emailed link must still sign in."""
    answers = []
    for _ in range(8):
        ask(client)
        wrong = wrong_for(signin_code("victim@example.org"))
        answers += [enter(client, wrong) for _ in range(5)]
    assert {a.status_code for a in answers} == {422}
    assert all(TOO_MANY in text(a) for a in answers[9:]), "from the 10th wrong code on, codes are refused"
    assert not any(TOO_MANY in text(a) for a in answers[:9])

    ask(client)
    right = enter(client, signin_code("victim@example.org"))
    assert right.status_code == 422, "the right code after 40 wrong ones must not sign in"
    assert TOO_MANY in text(right)
    assert client.get("/account").status_code == 303, "not signed in"

    followed = client.get(signin_link("victim@example.org"))
    assert followed.status_code == 303 and followed.location == "/account"
    assert client.get("/account").status_code == 200


def test_an_address_that_is_not_a_members_is_refused_the_same_way(client, db_session, reader):
    """The attack: the lock-out message as a membership oracle (it appears for members only).
    Strangers' wrong codes are counted too, so both addresses read alike, guess for guess."""
    ask(client)
    wrong = wrong_for(signin_code("victim@example.org"))
    member_pages = [text(enter(client, wrong)) for _ in range(11)]
    stranger_pages = [text(enter(client, wrong, "stranger@example.org")) for _ in range(11)]
    assert [TOO_MANY in page for page in member_pages] == [TOO_MANY in page for page in stranger_pages]
    assert [TOO_MANY in page for page in stranger_pages] == [False] * 9 + [True] * 2
    assert emails_to("stranger@example.org") == []


def test_a_used_link_spends_its_code(client, db_session, reader):
    """The attack: the code in a mail that a scanner (or a thief of the signed-in link) already used
    kept working for the rest of its 15 minutes, a second way in with the same email."""
    ask(client)
    code = signin_code("victim@example.org")
    assert client.get(signin_link("victim@example.org")).status_code == 303
    client.post("/signout", data={"csrf_token": csrf(client, "/account")})
    g.pop("_login_user", None)
    again = enter(client, code)
    assert again.status_code == 422 and client.get("/account").status_code == 303


def test_signing_in_with_the_code_spends_the_link(client, db_session, reader):
    """The attack: after the reader signed in with the code, the link in the same email (read
    later by someone with access to the mailbox or its scanners) still signed in."""
    ask(client)
    assert enter(client, signin_code("victim@example.org")).status_code == 303
    client.post("/signout", data={"csrf_token": csrf(client, "/account")})
    g.pop("_login_user", None)
    followed = client.get(signin_link("victim@example.org"))
    assert followed.status_code == 400
    assert client.get("/account").status_code == 303


def test_codes_are_eight_digits_in_the_email_and_on_the_page(client, db_session, reader):
    """Six digits (a million codes) were too few; the page asked for them, and took nothing else."""
    page = ask(client).get_data(as_text=True)
    [email] = [e for e in emails_to("victim@example.org") if e.get("kind") == "signin"]
    assert re.search(r"8-digit code on the sign-in page: \d{8}\b", email["text"])
    assert re.search(r"code on the sign-in page: <strong[^>]*>\d{8}</strong>", email["html"])
    field = re.search(r'<input id="code"[^>]*>', page, re.S)
    assert field and 'inputmode="numeric"' in field.group(0)
    assert 'pattern="[0-9]{4} ?[0-9]{4}"' in field.group(0)
    assert '<label for="code">8-digit code</label>' in page
    code = signin_code("victim@example.org")
    short = enter(client, code[:6])
    assert short.status_code == 422 and "The code is 8 digits." in text(short)
    spaced = enter(client, f"{code[:4]} {code[4:]}")
    assert spaced.status_code == 303

"""Newsletter pages: double opt-in sign-up, confirm, unsubscribe with a button, RFC 8058 one-click."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from service.domain.newsletter import subscriptions as nl
from service.domain.newsletter.links import confirm_token, unsubscribe_token
from service.domain.newsletter.lists import find_subscription, get_list
from service.models import ConsentRecord, ListStatus, OutboxMessage, OutboxStatus
from tests.factories import make_member

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf(client, path: str) -> str:
    page = client.get(path)
    assert page.status_code == 200, page.get_data(as_text=True)
    return CSRF.search(page.get_data(as_text=True)).group(1)


def status_of(email: str, slug: str):
    sub = find_subscription(get_list(slug), email)
    return sub.status if sub is not None else None


def confirmation_emails(db_session, email: str) -> list[OutboxMessage]:
    rows = db_session.scalars(select(OutboxMessage).where(OutboxMessage.topic == "email"))
    return [r for r in rows if r.payload["to"] == email and r.payload["kind"] == "confirm_subscription"]


def subscribe(client, email: str):
    token = csrf(client, "/newsletters/subscribe")
    return client.post("/newsletters/subscribe", data={"csrf_token": token, "email": email, "list": "daily-headlines"})


def test_the_form_is_labelled_and_shows_errors_next_to_the_field(client):
    page = client.get("/newsletters/subscribe").get_data(as_text=True)
    assert '<label for="email">Email address</label>' in page and 'id="email"' in page
    token = CSRF.search(page).group(1)
    bad = client.post("/newsletters/subscribe", data={"csrf_token": token, "email": "not-an-address"})
    assert bad.status_code == 422
    html = bad.get_data(as_text=True)
    assert 'aria-describedby="email-error"' in html and "Enter an email address like name@example.org." in html


def test_the_form_needs_a_csrf_token(client):
    assert client.post("/newsletters/subscribe", data={"email": "a@example.org"}).status_code == 400


def test_double_opt_in_only_the_confirm_link_subscribes_and_repeats_do_not_spam(client, db_session):
    email = "new.reader@example.org"
    answer = subscribe(client, email)
    assert answer.status_code == 200 and "Check your inbox" in answer.get_data(as_text=True)
    assert status_of(email, "daily-headlines") is ListStatus.PENDING
    assert subscribe(client, email).status_code == 200  # asked again within the hour
    [sent] = confirmation_emails(db_session, email)
    assert sent.status is OutboxStatus.DELIVERED  # delivered right after the request (console mail in tests)
    link = re.search(r"http://localhost(/newsletters/confirm/\S+)", sent.payload["text"]).group(1)
    page = client.get(link)  # a GET (e.g. a mail scanner) changes nothing
    assert page.status_code == 200 and status_of(email, "daily-headlines") is ListStatus.PENDING
    token = CSRF.search(page.get_data(as_text=True)).group(1)
    done = client.post(link, data={"csrf_token": token}, headers={"User-Agent": "TestBrowser/1"})
    assert done.status_code == 200 and "You're subscribed" in done.get_data(as_text=True)
    assert status_of(email, "daily-headlines") is ListStatus.SUBSCRIBED
    record = db_session.scalars(select(ConsentRecord).where(ConsentRecord.email == email)
                                .order_by(ConsentRecord.id.desc())).first()
    assert (str(record.action), str(record.source), record.ip_address, record.user_agent) == (
        "subscribe", "member", "127.0.0.1", "TestBrowser/1")


def test_members_only_lists_cannot_be_joined_by_form(client, db_session):
    token = csrf(client, "/newsletters/subscribe")
    answer = client.post("/newsletters/subscribe", data={"csrf_token": token, "email": "a@example.org",
                                                         "list": "members-digest"})
    assert answer.status_code == 422 and status_of("a@example.org", "members-digest") is None


def test_a_tampered_confirm_link_is_refused(client, db_session, subscriber):
    token = confirm_token(subscriber.email, "daily-headlines")
    # Change one character of the signed payload (the signature's last character carries
    # bits that base64 ignores, so changing only the tail can leave it valid).
    tampered = token[:3] + ("A" if token[3] != "A" else "B") + token[4:]
    answer = client.get(f"/newsletters/confirm/{tampered}")
    assert answer.status_code == 400 and "not valid" in answer.get_data(as_text=True)


@pytest.fixture
def subscriber(db_session):
    member = make_member()
    nl.resubscribe(member.email, "daily-headlines", nl.ConsentSource.IMPORT)
    db_session.commit()  # to the test's savepoint: a request's error rollback keeps it
    return member


def test_unsubscribe_page_then_button(client, db_session, subscriber):
    path = f"/newsletters/unsubscribe/{unsubscribe_token(subscriber.email, 'daily-headlines')}"
    page = client.get(path)
    assert page.status_code == 200 and "Unsubscribe" in page.get_data(as_text=True)
    assert status_of(subscriber.email, "daily-headlines") is ListStatus.SUBSCRIBED
    assert client.post(path).status_code == 400  # no CSRF token: a forged form does nothing
    token = CSRF.search(page.get_data(as_text=True)).group(1)
    done = client.post(path, data={"csrf_token": token})
    assert done.status_code == 200 and "You're unsubscribed" in done.get_data(as_text=True)
    assert status_of(subscriber.email, "daily-headlines") is ListStatus.UNSUBSCRIBED


def test_one_click_unsubscribe_by_post_answers_2xx_with_no_page(client, db_session, subscriber):
    path = f"/newsletters/unsubscribe/{unsubscribe_token(subscriber.email, 'daily-headlines')}/one-click"
    answer = client.post(path, data={"List-Unsubscribe": "One-Click"})
    assert answer.status_code == 200 and answer.get_data() == b""
    assert status_of(subscriber.email, "daily-headlines") is ListStatus.UNSUBSCRIBED
    assert client.post(path, data={"List-Unsubscribe": "One-Click"}).status_code == 200  # again: still fine
    sync = db_session.scalars(select(OutboxMessage).where(OutboxMessage.topic == "newsletter.sync")
                              .order_by(OutboxMessage.id.desc())).first()
    assert sync.payload["status"] == "unsubscribed" and sync.status is OutboxStatus.DELIVERED


def test_one_click_needs_the_rfc_8058_body(client, db_session, subscriber):
    path = f"/newsletters/unsubscribe/{unsubscribe_token(subscriber.email, 'daily-headlines')}/one-click"
    assert client.post(path).status_code == 400
    assert status_of(subscriber.email, "daily-headlines") is ListStatus.SUBSCRIBED


@pytest.fixture
def someone_else(db_session):
    nl.resubscribe("someone.else@example.org", "daily-headlines", nl.ConsentSource.IMPORT)
    db_session.commit()
    return "someone.else@example.org"


@pytest.mark.parametrize("tamper", [
    lambda t, other: t[:-3] + ("AAA" if not t.endswith("AAA") else "BBB"),  # signature changed
    lambda t, other: unsubscribe_token(other, "daily-headlines").split(".")[0] + "." + t.split(".")[1],
    lambda t, other: "garbage",
])
def test_a_tampered_unsubscribe_token_is_refused_and_unsubscribes_nobody(client, db_session, subscriber, someone_else,
                                                                         tamper):
    token = tamper(unsubscribe_token(subscriber.email, "daily-headlines"), someone_else)
    for answer in (client.get(f"/newsletters/unsubscribe/{token}"),
                   client.post(f"/newsletters/unsubscribe/{token}/one-click", data={"List-Unsubscribe": "One-Click"})):
        assert answer.status_code == 400
        assert "This unsubscribe link is not valid" in answer.get_data(as_text=True)
    assert status_of(subscriber.email, "daily-headlines") is ListStatus.SUBSCRIBED
    assert status_of(someone_else, "daily-headlines") is ListStatus.SUBSCRIBED


def test_inline_delivery_can_be_turned_off(client, db_session, subscriber, app, monkeypatch):
    monkeypatch.setitem(app.config, "OUTBOX_DELIVER_INLINE", False)
    path = f"/newsletters/unsubscribe/{unsubscribe_token(subscriber.email, 'daily-headlines')}/one-click"
    client.post(path, data={"List-Unsubscribe": "One-Click"})
    sync = db_session.scalars(select(OutboxMessage).where(OutboxMessage.topic == "newsletter.sync")
                              .order_by(OutboxMessage.id.desc())).first()
    assert sync.status is OutboxStatus.PENDING  # left for the worker


def test_sign_up_is_rate_limited(database_url):
    """Limits are per app at start-up, so this uses its own app (invalid forms: nothing is written)."""
    from service import create_app
    from service.extensions import limiter
    from tests.conftest import config_for_tests

    saved = dict(vars(limiter))  # the limiter is one object shared by every app in this process
    limited = create_app(config_for_tests(database_url, RATELIMIT_ENABLED=True))
    try:
        client = limited.test_client()
        token = csrf(client, "/newsletters/subscribe")
        codes = [client.post("/newsletters/subscribe", data={"csrf_token": token, "email": "x"}).status_code
                 for _ in range(6)]
        assert client.get("/newsletters/subscribe").status_code == 200  # only sign-ups are limited
    finally:
        vars(limiter).clear()
        vars(limiter).update(saved)
        limited.extensions["db_engine"].dispose()
    assert codes == [422] * 5 + [429]

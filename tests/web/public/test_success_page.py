"""The reader who reaches the success page before the webhook sees their membership."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from service.models import ActivityKind, MemberActivity, MemberStatus
from service.web.public.join import JOINING_MEMBER
from tests.billing import deliver_all


@pytest.fixture(scope="module")
def app(sandbox_app):
    """The reader pays on the sandbox; its webhooks follow, signed like Stripe."""
    return sandbox_app


def _joining(client, member_id: int) -> None:
    with client.session_transaction() as browser:
        browser[JOINING_MEMBER] = member_id


def test_success_page_before_any_webhook(client, db_session, reader, tap):
    session = reader.pay()
    _joining(client, reader.member.id)
    page = client.get(f"/join/success?session_id={session['id']}")
    assert page.status_code == 200 and b"Welcome" in page.data
    assert reader.member.status is MemberStatus.ACTIVE
    changes_before = db_session.scalars(select(MemberActivity).where(
        MemberActivity.member_id == reader.member.id, MemberActivity.kind == ActivityKind.STATUS_CHANGED)).all()
    assert len(changes_before) == 1
    # The webhooks that follow change nothing.
    assert set(deliver_all(client, tap.new())) == {200}
    changes_after = db_session.scalars(select(MemberActivity).where(
        MemberActivity.member_id == reader.member.id, MemberActivity.kind == ActivityKind.STATUS_CHANGED)).all()
    assert len(changes_after) == 1


@pytest.mark.parametrize("browser", ["joined_elsewhere", "no_session"])
def test_another_browser_confirms_without_saying_whose_membership_it_is(client, db_session, reader, tap, browser):
    """The reader paid on their phone and opens the link on a laptop (or the browser lost its
    cookie): the session id, which only Stripe and the payer know, confirms the membership,
    and the page says "confirmed" and nothing about whose it is."""
    session = reader.pay()
    if browser == "joined_elsewhere":
        _joining(client, reader.member.id + 1000)  # this browser started some other checkout
    page = client.get(f"/join/success?session_id={session['id']}")
    assert page.status_code == 200
    assert b"Welcome" in page.data
    assert reader.member.email.encode() not in page.data
    assert reader.member.status is MemberStatus.ACTIVE


def test_an_unpaid_session_says_only_still_confirming(client, db_session, reader):
    session = reader.checkout()
    page = client.get(f"/join/success?session_id={session['id']}")
    assert b"confirming your payment" in page.data
    assert reader.member.email.encode() not in page.data
    assert reader.member.status is MemberStatus.PENDING


def test_malformed_or_unknown_session_ids_are_harmless(client, db_session, reader):
    _joining(client, reader.member.id)
    for value in ("cs_test_doesnotexist", "../../etc", "<script>", ""):
        page = client.get("/join/success", query_string={"session_id": value})
        assert page.status_code == 200 and b"<script>" not in page.data


def test_unpaid_checkout_shows_processing(client, db_session, reader):
    session = reader.checkout()
    _joining(client, reader.member.id)
    page = client.get(f"/join/success?session_id={session['id']}")
    assert b"confirming your payment" in page.data and reader.member.status is MemberStatus.PENDING


def test_cancelled_page_says_nothing_was_charged(client, db_session):
    page = client.get("/join/cancelled")
    assert page.status_code == 200 and b"nothing was charged" in page.data

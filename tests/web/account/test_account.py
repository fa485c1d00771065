"""The account page: status in plain words, invoices, billing, cancel and undo, newsletters, data."""
from __future__ import annotations

import html
import json
import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from service.db import utcnow
from service.domain.members.account import day
from service.models import ConsentRecord, ConsentSource, Invoice, InvoiceStatus, ListStatus, MemberStatus
from service.models import SubscriptionStatus as S
from tests.factories import make_member, make_subscription
from tests.web.readers import join_and_pay, post_form, sign_in_as


def page(client) -> str:
    answer = client.get("/account")
    assert answer.status_code == 200
    return html.unescape(answer.get_data(as_text=True))


@pytest.fixture
def paid(client, db_session, sandbox):
    """A member who joined and paid through the sandbox, signed in."""
    someone = join_and_pay(client, sandbox, "member@example.org")
    sign_in_as(client, someone)
    return someone


def test_visitors_are_sent_to_sign_in(client, db_session):
    for path in ("/account", "/account/cancel", "/account/data"):
        answer = client.get(path)
        assert answer.status_code == 303 and answer.location == f"/signin?next={path}"


def test_a_paying_member_sees_renewal_plan_and_invoice(client, db_session, paid):
    sub = paid.subscriptions[0]
    text = page(client)
    assert f"Member, renews on {day(sub.current_period_end)}" in text
    assert "Monthly: $5 a month" in " ".join(re.sub(r"<[^>]+>", "", text).split())
    invoice = db_session.scalars(select(Invoice).where(Invoice.member_id == paid.id)).first()
    if invoice is None:  # the webhook did not run here: mirror one invoice as it would
        invoice = Invoice(member_id=paid.id, stripe_invoice_id="in_test_account", status=InvoiceStatus.PAID,
                          amount_due=500, amount_paid=500, currency="usd", stripe_created_at=utcnow(),
                          hosted_invoice_url="http://127.0.0.1/invoice/in_test_account")
        db_session.add(invoice)
        db_session.commit()
        text = page(client)
    assert f'href="{invoice.hosted_invoice_url}"' in text and "View invoice" in text


@pytest.mark.parametrize("arrange, expected", [
    (lambda m, end: make_subscription(m, S.ACTIVE, period_end=end), "Member, renews on {end}"),
    (lambda m, end: make_subscription(m, S.ACTIVE, period_end=end, cancel_at_period_end=True),
     "Member until {end} (cancelled)"),
    (lambda m, end: make_subscription(m, S.PAST_DUE, period_end=end), "Payment failed: update your card"),
    (lambda m, end: make_subscription(m, S.CANCELED, period_end=end, ended_at=end), "Membership ended on {end}"),
])
def test_status_in_plain_words(client, db_session, arrange, expected):
    end = utcnow().replace(microsecond=0) + timedelta(days=12)
    someone = make_member()
    arrange(someone, end)
    from service.domain.members.status import refresh_status

    refresh_status(someone, utcnow())
    db_session.commit()
    sign_in_as(client, someone)
    assert expected.format(end=day(end)) in page(client)


def test_a_comped_member_sees_until_when(client, db_session):
    until = utcnow() + timedelta(days=40)
    someone = make_member(status=MemberStatus.COMPED, comp_since=utcnow(), comp_until=until)
    db_session.commit()
    sign_in_as(client, someone)
    assert f"Complimentary membership until {day(until)}" in page(client)


def test_manage_billing_opens_the_portal_for_the_members_own_customer(client, db_session, paid, sandbox):
    answer = post_form(client, "/account/billing", {}, token_from="/account")
    assert answer.status_code == 303 and "/portal/bps_" in answer.location
    portal = sandbox.http.get(answer.location).text
    assert "member@example.org" in portal
    assert client.post("/account/billing").status_code == 400, "CSRF"


def test_cancel_asks_first_then_cancels_at_period_end_and_can_be_undone(client, db_session, paid, gateway):
    sub = paid.subscriptions[0]
    end = day(sub.current_period_end)
    confirm = html.unescape(client.get("/account/cancel").get_data(as_text=True))
    assert "Cancel your membership?" in confirm and end in confirm
    assert gateway.retrieve_subscription(sub.stripe_subscription_id)["cancel_at_period_end"] is False

    cancelled = post_form(client, "/account/cancel", {"reason": "coverage"}, token_from="/account/cancel")
    assert cancelled.status_code == 303
    text = page(client)
    assert f"Member until {end} (cancelled)" in text and "Undo cancellation" in text
    assert gateway.retrieve_subscription(sub.stripe_subscription_id)["cancel_at_period_end"] is True
    assert paid.status is MemberStatus.ACTIVE, "access stays until the period ends"

    undone = post_form(client, "/account/cancel/undo", {}, token_from="/account")
    assert undone.status_code == 303
    assert f"Member, renews on {end}" in page(client)
    assert gateway.retrieve_subscription(sub.stripe_subscription_id)["cancel_at_period_end"] is False


def test_nothing_to_cancel_is_a_clear_conflict(client, db_session):
    someone = make_member()
    db_session.commit()
    sign_in_as(client, someone)
    answer = post_form(client, "/account/cancel", {"reason": "coverage"}, token_from="/account")
    assert answer.status_code == 409 and "no membership to cancel" in answer.get_data(as_text=True)
    undo = post_form(client, "/account/cancel/undo", {}, token_from="/account")
    assert undo.status_code == 409


def test_newsletter_choices_are_recorded_as_the_members_consent(client, db_session, paid):
    text = page(client)
    assert "Members' daily digest" in text and "You get this." in text
    answer = post_form(client, "/account/newsletters", {"list": "members-digest", "action": "unsubscribe"},
                       token_from="/account")
    assert answer.status_code == 303
    text = page(client)
    digest = text.split("Members' daily digest", 1)[1]
    assert digest.split("</li>")[0].count("You don't get this.") == 1
    post_form(client, "/account/newsletters", {"list": "daily-headlines", "action": "subscribe"}, token_from="/account")
    records = db_session.scalars(select(ConsentRecord).where(ConsentRecord.email == "member@example.org")
                                 .order_by(ConsentRecord.id)).all()
    mine = [r for r in records if r.source is ConsentSource.MEMBER]
    assert [str(r.action) for r in mine] == ["unsubscribe", "subscribe"]
    assert all(r.ip_address == "127.0.0.1" and r.user_agent.startswith("Werkzeug") for r in mine)
    assert mine[1].member_id == paid.id
    assert any(s.status is ListStatus.SUBSCRIBED and s.newsletter.slug == "daily-headlines"
               for s in paid.list_subscriptions)


def test_an_unknown_list_is_a_404(client, db_session, paid):
    answer = post_form(client, "/account/newsletters", {"list": "nope", "action": "subscribe"}, token_from="/account")
    assert answer.status_code == 404


def test_download_my_data(client, db_session, paid):
    answer = client.get("/account/data")
    assert answer.status_code == 200 and answer.mimetype == "application/json"
    assert answer.headers["Content-Disposition"] == 'attachment; filename="my-membership-data.json"'
    data = json.loads(answer.data)
    assert data["member"]["email"] == "member@example.org" and data["member"]["status"] == "active"
    assert data["subscriptions"][0]["status"] == "active"
    assert {a["kind"] for a in data["activity"]} >= {"joined", "status_changed"}
    assert {n["list"] for n in data["newsletters"]} == {"members-digest", "daily-headlines"}
    assert any(c["source"] == "membership" for c in data["consent_records"])
    assert len(data["checkout_attempts"]) == 1
    assert "code_hash" not in answer.get_data(as_text=True)
    assert set(data) >= {"invoices", "signin_tokens", "contributions", "statements", "email_changes"}

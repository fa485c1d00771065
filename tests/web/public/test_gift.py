"""Gift memberships at /gift, end to end against the Stripe sandbox: the form, Checkout in
`mode=payment`, the purchaser's receipt and confirmation, delivery on the chosen day by the
worker, the redemption link (opened by a scanner, used once), a term for a new reader, a credit
on the Stripe balance of a reader who already pays, and a gift revoked with a refund.

Stripe behaviour relied on, with its source:
- A one-time Checkout Session completes with `payment_status=paid`; `checkout.session.completed`
  is the event to fulfil on (https://docs.stripe.com/checkout/fulfillment).
- A negative customer balance transaction is a credit, which Stripe applies to the customer's
  next invoices before charging them (https://docs.stripe.com/billing/customer/balance,
  https://docs.stripe.com/api/customer_balance_transactions/create).
- A refund emits `charge.refunded` (https://docs.stripe.com/api/events/types#event_types-charge.refunded).
"""
from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from service.db import utcnow
from service.domain.giving import gifts
from service.domain.members.access import access_source, has_access
from service.domain.members.expiry import expire_ended_access, remind_terms_ending
from service.domain.members.terms import add_months
from service.domain.newsletter.lists import MEMBERS_LIST, find_subscription, get_list
from service.models import (
    ConsentRecord,
    Contribution,
    ContributionKind,
    Gift,
    GiftRedemption,
    GiftStatus,
    ListStatus,
    MemberStatus,
    WebhookEndpoint,
    WebhookEvent,
)
from tests.billing import deliver_all
from tests.sandbox.harness import pay
from tests.web.readers import csrf, emails_to, join_and_pay, member, sign_in_as

REDEEM = re.compile(r"(http://localhost/gift/redeem/\S+)")


@pytest.fixture(scope="module")
def app(sandbox_app):
    return sandbox_app


def buy(client, **fields):
    data = {"purchaser_name": "Grace Giver", "purchaser_email": "grace@example.org", "recipient_name": "Rosa Reader",
            "recipient_email": "rosa@example.org", "months": "12", "message": "Happy birthday, Rosa!", **fields}
    return client.post("/gift", data={"csrf_token": csrf(client, "/gift"), **data})


def buy_and_pay(client, sandbox, tap, **fields):
    """Buy through the form, pay on the hosted page, and post Stripe's events (not the success page)."""
    answer = buy(client, **fields)
    assert answer.status_code == 303, answer.get_data(as_text=True)
    paid = pay(sandbox, answer.location, email=fields.get("purchaser_email", "grace@example.org"))
    assert paid.status_code == 303, paid.text
    events = tap.new()
    assert deliver_all(client, events) == [200] * len(events)
    return events


def the_gift(db_session, recipient="rosa@example.org") -> Gift:
    found = db_session.scalars(select(Gift).where(Gift.recipient_email == recipient).order_by(Gift.id.desc())).first()
    assert found is not None
    return found


def redeem_link(address):
    [link] = [m for e in emails_to(address) for m in REDEEM.findall(e["text"])]
    return link.replace("http://localhost", "")


def test_the_gift_page_offers_three_lengths_priced_from_the_plans_and_labels_every_field(client):
    before = utcnow().date()
    page = client.get("/gift").get_data(as_text=True)
    # 3 and 6 months at the monthly plan's $5; a year at the yearly plan's $50 (its saving passes on).
    for months, price in (("3", "$15.00"), ("6", "$30.00"), ("12", "$50.00")):
        assert f'id="months-{months}"' in page and price in page
    for field in ("recipient_name", "recipient_email", "message", "deliver_on", "purchaser_name", "purchaser_email"):
        assert f'<label for="{field}"' in page, field
    # Today (UTC) is the earliest delivery day: the day the page was asked for (midnight may pass).
    assert any(f'min="{day.isoformat()}"' in page for day in {before, utcnow().date()})


@pytest.mark.parametrize(("fields", "field", "message"), [
    ({"months": "5"}, "months", "Choose 3, 6 or 12 months."),
    ({"deliver_on": "2001-01-01"}, "deliver_on", "Choose today or a day to come."),
    ({"deliver_on": "someday"}, "deliver_on", "Enter a date like"),
    ({"recipient_email": "grace@example.org"}, "recipient_email", "not your own"),
    ({"recipient_email": "rosa"}, "recipient_email", "Enter an email address like name@example.org."),
    ({"message": "x" * 1001}, "message", "Keep the message under 1,000 characters."),
])
def test_a_bad_gift_form_says_what_to_fix_beside_the_field_and_opens_no_checkout(client, db_session, fields, field, message):
    answer = buy(client, **fields)
    assert answer.status_code == 422
    page = answer.get_data(as_text=True)
    assert re.search(rf'<p class="field-error" id="{field}-error">[^<]*{re.escape(message)}', page), page
    assert db_session.scalar(select(Gift).where(Gift.purchaser_name == "Grace Giver")) is None


def test_a_delivery_more_than_a_year_ahead_is_refused(client):
    answer = buy(client, deliver_on=(utcnow().date() + timedelta(days=366)).isoformat())
    assert answer.status_code == 422 and "Choose a day within a year from today." in answer.get_data(as_text=True)


def test_a_gift_for_today_is_receipted_delivered_and_redeemed_once_into_a_term_with_the_digest(
        client, db_session, sandbox, tap):
    events = buy_and_pay(client, sandbox, tap)
    assert events[-1]["type"] == "checkout.session.completed"
    gift = the_gift(db_session)
    purchaser = member("grace@example.org")
    contribution = db_session.get(Contribution, gift.contribution_id)
    # The purchaser's payment is their contribution, receipted; they get no membership from it.
    assert (contribution.member_id, contribution.kind, contribution.amount, contribution.currency) == (
        purchaser.id, ContributionKind.GIFT_PURCHASE, 5000, "usd")
    assert contribution.term_months is None and purchaser.status is MemberStatus.PENDING
    assert any(contribution.receipt_number in s["subject"] for s in emails_to("grace@example.org"))
    confirmation = next(e for e in emails_to("grace@example.org") if "gift membership" in e["subject"])
    assert "We have just emailed it to rosa@example.org" in confirmation["text"]
    # Delivered at once (its day is today), in the purchaser's words.
    assert gift.status is GiftStatus.DELIVERED
    [delivery] = emails_to("rosa@example.org")
    assert "Grace Giver has given you 12 months" in delivery["text"] and "Happy birthday, Rosa!" in delivery["text"]

    link = redeem_link("rosa@example.org")
    # A mail scanner opens the link: it sees the gift and a button, and redeems nothing.
    for _ in range(3):
        opened = client.get(link)
        assert opened.status_code == 200 and "Start my membership" in opened.get_data(as_text=True)
    assert gift.status is GiftStatus.DELIVERED and db_session.scalar(
        select(ConsentRecord).where(ConsentRecord.email == "rosa@example.org")) is None

    redeemed = client.post(link, data={"csrf_token": csrf(client, link)})
    assert redeemed.status_code == 200, redeemed.get_data(as_text=True)
    rosa = member("rosa@example.org")
    assert (gift.status, gift.redeemed_as, gift.recipient_id) == (GiftStatus.REDEEMED, GiftRedemption.TERM, rosa.id)
    assert rosa.status is MemberStatus.ACTIVE and access_source(rosa, utcnow()) == "term"
    assert rosa.term_until.date() in {(utcnow() + timedelta(days=d)).date() for d in range(364, 367)}
    assert "you are a member until" in redeemed.get_data(as_text=True)
    digest = find_subscription(get_list(MEMBERS_LIST), "rosa@example.org")
    assert digest is not None and digest.status is ListStatus.SUBSCRIBED
    # The recipient's enrolment is their own consent record, not the purchaser's.
    assert db_session.scalar(select(ConsentRecord).where(ConsentRecord.email == "rosa@example.org")) is not None
    # Signed in by redeeming: their account page shows the membership.
    assert "rosa@example.org" in client.get("/account").get_data(as_text=True)

    # The link is spent: a second press, or opening it again, says so and changes nothing.
    again = client.post(link, data={"csrf_token": csrf(client, "/gift")})
    assert again.status_code == 410 and "already been redeemed" in again.get_data(as_text=True)
    assert client.get(link).status_code == 410
    assert rosa.term_until.date() < (utcnow() + timedelta(days=367)).date()


def test_a_gift_for_next_month_waits_for_its_day_and_the_worker_delivers_it(client, db_session, sandbox, tap):
    day = utcnow().date() + timedelta(days=30)
    buy_and_pay(client, sandbox, tap, recipient_email="later@example.org", months="3", deliver_on=day.isoformat())
    gift = the_gift(db_session, "later@example.org")
    assert (gift.status, gift.amount) == (GiftStatus.SCHEDULED, 1500)
    confirmation = next(e for e in emails_to("grace@example.org") if "gift membership" in e["subject"])
    assert f"We will email it to later@example.org on {day.isoformat()}" in confirmation["text"]
    assert gifts.deliver_due(utcnow() + timedelta(days=29)) == 0
    assert emails_to("later@example.org") == []
    # The worker's run on the day (the clock moved on a month).
    assert gifts.deliver_due(utcnow() + timedelta(days=30, hours=1)) == 1
    assert gift.status is GiftStatus.DELIVERED
    assert [e["subject"] for e in emails_to("later@example.org")] == ["Grace Giver has given you a membership of The Newsroom"]
    # A year on, unredeemed, it expires and its link says so.
    link = redeem_link("later@example.org")
    assert gifts.deliver_due(utcnow() + timedelta(days=30 + 366)) == 1
    assert gift.status is GiftStatus.EXPIRED
    assert client.get(link).status_code == 410


def test_a_paying_member_redeems_a_gift_as_credit_that_pays_their_next_invoice(client, db_session, sandbox, tap, gateway):
    payer = join_and_pay(client, sandbox, "payer@example.org")
    deliver_all(client, tap.new())
    assert payer.status is MemberStatus.ACTIVE
    client.post("/signout", data={"csrf_token": csrf(client)})
    buy_and_pay(client, sandbox, tap, recipient_email="payer@example.org", recipient_name="Pat Payer", months="3")
    gift = the_gift(db_session, "payer@example.org")
    link = redeem_link("payer@example.org")
    redeemed = client.post(link, data={"csrf_token": csrf(client, link)})
    assert redeemed.status_code == 200
    text = redeemed.get_data(as_text=True)
    assert "is now credit on your account" in text and "That covers about 3 months." in text
    assert (gift.redeemed_as, gift.credited_amount, gift.credited_currency) == (GiftRedemption.CREDIT, 1500, "usd")
    customer = gateway.retrieve_customer(payer.stripe_customer_id)
    assert customer["balance"] == -1500  # a credit: negative, as Stripe counts it
    sign_in_as(client, payer)  # an existing member is not signed in by a gift link (it may have been forwarded)
    account = client.get("/account").get_data(as_text=True)
    assert "You have $15.00 of gift credit" in account and "That covers about 3 months." in account
    assert payer.term_until is None  # no second membership on top of the one they pay for
    # A second redemption cannot credit twice.
    client.post(link, data={"csrf_token": csrf(client, "/gift")})
    assert gateway.retrieve_customer(payer.stripe_customer_id)["balance"] == -1500

    # The next renewal is paid from the credit: nothing is charged to the card.
    sandbox.advance(days=32)
    events = tap.new()
    deliver_all(client, events)
    paid = [e["data"]["object"] for e in events if e["type"] == "invoice.paid"]
    assert paid and paid[-1]["amount_paid"] == 0 and paid[-1]["starting_balance"] == -1500
    assert gateway.retrieve_customer(payer.stripe_customer_id)["balance"] == -1000
    assert has_access(payer, utcnow())


def test_a_revoked_gift_is_refunded_and_its_link_stops_working(client, db_session, sandbox, tap, gateway):
    buy_and_pay(client, sandbox, tap, recipient_email="nope@example.org", months="6")
    gift = the_gift(db_session, "nope@example.org")
    link = redeem_link("nope@example.org")
    assert gifts.revoke(gift, gateway, utcnow())
    assert gift.status is GiftStatus.REVOKED
    answer = client.get(link)
    # A revoke replaces the link's secret: the old link names no current gift.
    assert answer.status_code == 404
    contribution = db_session.get(Contribution, gift.contribution_id)
    events = tap.new()
    assert "charge.refunded" in [e["type"] for e in events]
    deliver_all(client, events)
    assert contribution.refunded_amount == contribution.amount == 3000
    charge = gateway.retrieve_charge(contribution.stripe_charge_id)
    assert (charge["refunded"], charge["amount_refunded"]) == (True, 3000)
    # Revoking again refunds nothing more.
    assert not gifts.revoke(gift, gateway, utcnow())


def test_the_newsrooms_other_systems_hear_of_a_gift_bought_and_redeemed(client, db_session, sandbox, tap):
    db_session.add(WebhookEndpoint(url="https://crm.example.org/hooks", event_types=["gift.purchased", "gift.redeemed"],
                                   secret="whsec_test"))
    db_session.commit()
    buy_and_pay(client, sandbox, tap, recipient_email="hooked@example.org", months="6")
    gift = the_gift(db_session, "hooked@example.org")
    link = redeem_link("hooked@example.org")
    client.post(link, data={"csrf_token": csrf(client, link)})
    events = db_session.scalars(select(WebhookEvent).order_by(WebhookEvent.id)).all()
    assert [e.type for e in events] == ["gift.purchased", "gift.redeemed"]
    purchased, redeemed = (json.loads(e.body)["data"]["gift"] for e in events)
    assert (purchased["id"], purchased["status"], purchased["months"], purchased["amount"]) == (gift.id, "scheduled", 6, 3000)
    assert (redeemed["status"], redeemed["redeemed_as"], redeemed["recipient"]["member_id"]) == (
        "redeemed", "term", member("hooked@example.org").id)


def test_a_double_submit_reuses_the_open_checkout_so_the_gift_cannot_be_paid_twice(client, db_session):
    """The second press of "Continue to payment" gets the same Checkout Session (still open at
    Stripe), so there is one gift and one page to pay on; a different gift gets its own."""
    first = buy(client, recipient_email="twice@example.org")
    second = buy(client, recipient_email="twice@example.org")
    assert first.status_code == second.status_code == 303
    assert first.location == second.location
    assert len(db_session.scalars(select(Gift).where(Gift.recipient_email == "twice@example.org")).all()) == 1
    other = buy(client, recipient_email="twice@example.org", months="3")
    assert other.location != first.location


def test_a_member_who_has_cancelled_gets_the_months_after_their_paid_access_not_a_credit_they_cannot_spend(
        client, db_session, sandbox, tap, gateway):
    leaving = join_and_pay(client, sandbox, "leaving@example.org")
    deliver_all(client, tap.new())
    sub = leaving.subscriptions[0]
    gateway.set_cancel_at_period_end(sub.stripe_subscription_id, True, key="test-cancel")
    deliver_all(client, tap.new())
    assert sub.cancel_at_period_end
    client.post("/signout", data={"csrf_token": csrf(client)})
    buy_and_pay(client, sandbox, tap, recipient_email="leaving@example.org", recipient_name="Lee", months="3")
    gift = the_gift(db_session, "leaving@example.org")
    link = redeem_link("leaving@example.org")
    assert client.post(link, data={"csrf_token": csrf(client, link)}).status_code == 200
    assert gift.redeemed_as is GiftRedemption.TERM
    assert gateway.retrieve_customer(leaving.stripe_customer_id)["balance"] == 0
    # Three months from the end of what they paid for.
    assert leaving.term_until == add_months(sub.current_period_end, 3)


def test_a_gift_refunded_in_stripe_is_cancelled_and_its_link_stops_working(client, db_session, sandbox, tap, gateway):
    buy_and_pay(client, sandbox, tap, recipient_email="dashboard@example.org", months="3")
    gift = the_gift(db_session, "dashboard@example.org")
    link = redeem_link("dashboard@example.org")
    contribution = db_session.get(Contribution, gift.contribution_id)
    gateway.refund_payment_intent(contribution.stripe_payment_intent_id)  # as if from Stripe's Dashboard
    deliver_all(client, tap.new())
    assert gift.status is GiftStatus.REVOKED
    assert client.get(link).status_code == 404
    # Revoking it in the console now refunds nothing more.
    assert not gifts.revoke(gift, gateway, utcnow())


def test_the_first_field_to_fix_takes_the_focus_and_names_its_error(client):
    page = buy(client, recipient_name="", deliver_on="someday").get_data(as_text=True)
    assert re.search(r'<input id="recipient_name"[^>]*aria-invalid="true"[^>]*aria-describedby="recipient_name-error"[^>]*autofocus', page)
    assert not re.search(r'<input id="deliver_on"[^>]*autofocus', page)  # only the first


def test_before_a_gift_membership_ends_the_recipient_is_invited_to_continue_and_then_lapses(client, db_session, sandbox, tap):
    buy_and_pay(client, sandbox, tap, recipient_email="ending@example.org", months="3")
    link = redeem_link("ending@example.org")
    client.post(link, data={"csrf_token": csrf(client, link)})
    recipient = member("ending@example.org")
    assert remind_terms_ending(recipient.term_until - timedelta(days=13)) == 1
    [reminder] = [e for e in emails_to("ending@example.org") if e["subject"] == "Your membership ends soon"]
    assert "Your membership, a gift from Grace Giver, ends on" in reminder["text"]
    assert "/?plan=monthly-5" in reminder["text"] and "/?plan=yearly-50" in reminder["text"]
    expire_ended_access(recipient.term_until + timedelta(minutes=1))
    assert recipient.status is MemberStatus.LAPSED


def test_a_credit_made_by_an_earlier_try_that_did_not_commit_is_found_not_made_again(client, db_session, sandbox, tap, gateway):
    """Stripe keeps an idempotency key for 24 hours (https://docs.stripe.com/api/idempotent_requests);
    a redemption retried later finds the earlier credit by its gift_id metadata instead."""
    payer = join_and_pay(client, sandbox, "retried@example.org")
    deliver_all(client, tap.new())
    client.post("/signout", data={"csrf_token": csrf(client)})
    buy_and_pay(client, sandbox, tap, recipient_email="retried@example.org", months="3")
    gift = the_gift(db_session, "retried@example.org")
    earlier = gateway.credit_balance(payer.stripe_customer_id, amount=1500, currency="usd", description="an earlier try",
                                     key="a-key-long-expired", metadata={"gift_id": str(gift.id)})
    link = redeem_link("retried@example.org")
    assert client.post(link, data={"csrf_token": csrf(client, link)}).status_code == 200
    assert gateway.retrieve_customer(payer.stripe_customer_id)["balance"] == -1500
    assert (gift.stripe_credit_id, gift.credited_amount) == (earlier["id"], 1500)


def test_both_sides_of_a_gift_find_it_in_their_data_download_without_the_links_secret(client, db_session, sandbox, tap):
    buy_and_pay(client, sandbox, tap, recipient_email="exported@example.org", months="6")
    gift = the_gift(db_session, "exported@example.org")
    link = redeem_link("exported@example.org")
    client.post(link, data={"csrf_token": csrf(client, link)})  # signs the new member in
    mine = json.loads(client.get("/account/data").data)
    assert [(g["id"], g["months"], g["deliver_on"]) for g in mine["gifts_received"]] == [(gift.id, 6, gift.deliver_on.isoformat())]
    assert "token_nonce" not in json.dumps(mine) and gift.token_nonce not in json.dumps(mine)
    sign_in_as(client, member("grace@example.org"))
    theirs = json.loads(client.get("/account/data").data)
    assert gift.id in [g["id"] for g in theirs["gifts_given"]]

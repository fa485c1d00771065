"""One-time gifts at /give, end to end against the Stripe sandbox: the form, Checkout in
`mode=payment`, the events Stripe sends (posted signed, in its order), the contribution, the
receipt, the term membership it buys, refunds, and attribution from the landing link.

Stripe behaviour relied on, with its source:
- A one-time Checkout Session completes with `payment_status=paid` and names its PaymentIntent;
  `checkout.session.completed` is the event to fulfil on
  (https://docs.stripe.com/checkout/fulfillment).
- A charge's balance transaction carries Stripe's fee and the net amount
  (https://docs.stripe.com/api/balance_transactions/object).
- A refund emits `charge.refunded` with the charge's `amount_refunded`
  (https://docs.stripe.com/api/events/types#event_types-charge.refunded).
"""
from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

import pytest
import stripe
from sqlalchemy import func, select

from service.db import utcnow
from service.domain.giving.amounts import gross_up
from service.domain.members.access import access_source, has_access
from service.domain.members.expiry import expire_ended_access, remind_terms_ending
from service.domain.newsletter.lists import MEMBERS_LIST, find_subscription, get_list
from service.models import (
    CheckoutAttempt,
    Contribution,
    ContributionKind,
    DedicationType,
    ListStatus,
    MemberStatus,
    Subscription,
)
from tests.billing import deliver_all
from tests.sandbox.harness import pay
from tests.web.readers import csrf, emails_to, join_and_pay, member, sign_in_as

CARD_FEE = (Decimal("2.9"), 30)  # the sandbox's card pricing: Stripe's US list price, 2.9% + 30 cents


@pytest.fixture(scope="module")
def app(sandbox_app):
    return sandbox_app


def give(client, path="/give", **fields):
    data = {"name": "Grace Giver", "email": "grace@example.org", "amount_choice": "2500", **fields}
    return client.post("/give", data={"csrf_token": csrf(client, path), **data})


def give_and_pay(client, sandbox, tap, path="/give", card="4242 4242 4242 4242", **fields):
    """Give through the form, pay on the hosted page, and post Stripe's events (not the success page)."""
    answer = give(client, path, **fields)
    assert answer.status_code == 303, answer.get_data(as_text=True)
    paid = pay(sandbox, answer.location, card=card, email=fields.get("email", "grace@example.org"))
    assert paid.status_code == 303, paid.text
    events = tap.new()
    assert deliver_all(client, events) == [200] * len(events)
    return events


def contributions_of(db_session, someone):
    return db_session.scalars(select(Contribution).where(Contribution.member_id == someone.id).order_by(Contribution.id)).all()


def subjects(address):
    return [e["subject"] for e in emails_to(address)]


def test_the_give_page_offers_amounts_fee_cover_dedication_and_is_linked_from_the_front_page(client):
    assert 'href="/give"' in client.get("/").get_data(as_text=True)
    page = client.get("/give").get_data(as_text=True)
    for cents, label in ((1000, "$10.00"), (2500, "$25.00"), (5000, "$50.00"), (10000, "$100.00")):
        assert f'value="{cents}"' in page and label in page
    for field in ("other_amount", "cover_fees", "name", "email", "anonymous", "dedicate", "dedication_type",
                  "dedication_name", "dedication_notify_email"):
        assert f'<label for="{field}"' in page, field
    assert "2.9% + $0.30" in page and 'src="/static/give.js"' in page


def test_a_prefilled_link_selects_its_amount_and_keeps_the_campaign_and_a_bad_value_is_ignored(client):
    page = client.get("/give?amount=25&campaign=spring&utm_source=newsletter").get_data(as_text=True)
    assert re.search(r'id="amount-2500"[^>]*\bchecked\b', page)
    assert '<input type="hidden" name="campaign" value="spring">' in page
    assert '<input type="hidden" name="utm_source" value="newsletter">' in page
    odd = client.get("/give?amount=33").get_data(as_text=True)
    assert re.search(r'id="amount-other"[^>]*\bchecked\b', odd) and 'value="33"' in odd
    bad = client.get("/give?amount=lots&campaign=%3Cscript%3E")
    assert bad.status_code == 200
    text = bad.get_data(as_text=True)
    assert 'name="campaign"' not in text and "<script>" not in text


def test_a_gift_with_fees_covered_and_a_dedication_buys_a_term_with_receipt_digest_and_notice(
        client, db_session, sandbox, tap, gateway):
    events = give_and_pay(client, sandbox, tap, **{
        "email": "grace@example.org", "amount_choice": "2500", "cover_fees": "on", "dedicate": "on",
        "dedication_type": "memory", "dedication_name": "Ida B. Wells", "dedication_notify_email": "family@example.org"})
    assert [e["type"] for e in events][-1] == "checkout.session.completed"
    giver = member("grace@example.org")
    [gift] = contributions_of(db_session, giver)
    total = gross_up(2500, *CARD_FEE)
    assert (gift.kind, gift.amount, gift.fee_covered, gift.gift_amount, gift.currency) == (
        ContributionKind.ONE_TIME, total, total - 2500, 2500, "usd")
    # Stripe's own figures for the charge: its fee, and the net the newsroom receives, which is at
    # least what the reader chose to give (that is what covering the fees promises).
    intent = stripe.StripeClient("sk_test_x", base_addresses={"api": sandbox.url}).v1.payment_intents.retrieve(
        gift.stripe_payment_intent_id, {"expand": ["latest_charge.balance_transaction"]})
    txn = intent.latest_charge.balance_transaction
    assert (gift.stripe_fee, gift.stripe_net, gift.stripe_charge_id) == (txn.fee, txn.net, intent.latest_charge.id)
    assert txn.amount == total and txn.net >= 2500 > txn.net - 2
    assert (gift.dedication_type, gift.dedication_name, gift.dedication_notify_email) == (
        DedicationType.MEMORY, "Ida B. Wells", "family@example.org")
    assert re.fullmatch(r"\d{4}-\d{6}", gift.receipt_number)

    # $25 at $5 a month buys five months: a member now, by term, with the digest.
    now = utcnow()
    assert gift.term_months == 5 and giver.status is MemberStatus.ACTIVE
    assert has_access(giver, now) and access_source(giver, now) == "term"
    assert giver.term_until.date() in {(now + timedelta(days=d)).date() for d in range(150, 154)}
    assert find_subscription(get_list(MEMBERS_LIST), giver.email).status is ListStatus.SUBSCRIBED
    assert db_session.scalar(select(func.count(Subscription.id)).where(Subscription.member_id == giver.id)) == 0

    receipt = next(e for e in emails_to("grace@example.org") if e["subject"].startswith("Your receipt"))
    assert gift.receipt_number in receipt["subject"]
    assert f"Amount paid: ${total / 100:.2f}" in receipt["text"] and "covers the payment fees" in receipt["text"]
    assert "No goods or services were provided" in receipt["text"] and "5 months of membership" in receipt["text"]
    assert "Welcome, and thank you for becoming a member" in subjects("grace@example.org")
    [notice] = emails_to("family@example.org")
    assert "in memory of Ida B. Wells" in notice["subject"]
    assert "Grace Giver" in notice["text"] and "$" not in notice["text"], "the notice never says the amount"


def test_an_anonymous_gift_below_a_month_is_recorded_without_a_term(client, db_session, sandbox, tap):
    give_and_pay(client, sandbox, tap, email="small@example.org", amount_choice="other", other_amount="3",
                 anonymous="on", dedicate="on", dedication_type="honour", dedication_name="My teacher",
                 dedication_notify_email="teacher@example.org")
    giver = member("small@example.org")
    [gift] = contributions_of(db_session, giver)
    assert (gift.amount, gift.fee_covered, gift.term_months, gift.anonymous) == (300, 0, None, True)
    assert giver.status is MemberStatus.PENDING and not has_access(giver, utcnow())
    [notice] = emails_to("teacher@example.org")
    assert notice["text"].startswith("Hello,\n\nSomeone has made a gift") and "Grace" not in notice["text"]


def test_the_success_page_records_the_gift_and_the_webhook_after_it_changes_nothing(client, db_session, sandbox, tap):
    """Why a gift cannot be recorded or charged twice: one contribution per Checkout Session (a
    unique column), the success page and every replay of the webhook find it; a double submit of
    the form reuses the open session, so the reader cannot be sent to pay twice."""
    first = give(client, email="twice@example.org", amount_choice="5000")
    again = give(client, email="twice@example.org", amount_choice="5000")
    assert first.location == again.location
    paid = pay(sandbox, first.location, email="twice@example.org")
    page = client.get(paid.headers["Location"].replace("http://localhost", ""))
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and "Thank you for your gift" in text and "$50.00" in text
    assert "member for 10 months" in text
    events = tap.new()
    deliver_all(client, events)
    deliver_all(client, events)
    giver = member("twice@example.org")
    assert len(contributions_of(db_session, giver)) == 1
    assert len([s for s in subjects("twice@example.org") if s.startswith("Your receipt")]) == 1
    assert db_session.scalar(select(func.count(CheckoutAttempt.id)).where(CheckoutAttempt.member_id == giver.id)) == 1
    charges = stripe.StripeClient("sk_test_x", base_addresses={"api": sandbox.url}).v1.charges.list(
        {"customer": giver.stripe_customer_id}).data
    assert len(charges) == 1


def test_another_browser_sees_only_that_the_gift_is_confirmed(client, app, db_session, sandbox, tap):
    answer = give(client, email="private@example.org", amount_choice="1000")
    paid = pay(sandbox, answer.location, email="private@example.org")
    other = app.test_client().get(paid.headers["Location"].replace("http://localhost", "")).get_data(as_text=True)
    assert "Your gift is confirmed" in other and "private@example.org" not in other


def test_a_refund_sends_a_corrected_receipt_and_takes_back_the_months(client, db_session, sandbox, tap):
    give_and_pay(client, sandbox, tap, email="refund@example.org", amount_choice="2500")
    giver = member("refund@example.org")
    [gift] = contributions_of(db_session, giver)
    sdk = stripe.StripeClient("sk_test_x", base_addresses={"api": sandbox.url})
    sdk.v1.refunds.create({"payment_intent": gift.stripe_payment_intent_id, "amount": 1000})
    deliver_all(client, tap.new())
    assert (gift.refunded_amount, gift.net_amount, gift.term_months) == (1000, 1500, 3)
    corrected = [e for e in emails_to("refund@example.org") if e["subject"].startswith("Corrected receipt")]
    assert len(corrected) == 1 and "Refunded: $10.00" in corrected[0]["text"]
    assert "after the refund: $15.00" in corrected[0]["text"]
    assert giver.status is MemberStatus.ACTIVE  # three months are still paid for

    sdk.v1.refunds.create({"payment_intent": gift.stripe_payment_intent_id})
    events = tap.new()
    deliver_all(client, events)
    deliver_all(client, events)
    assert (gift.refunded_amount, gift.net_amount, gift.term_months) == (2500, 0, None)
    assert giver.status is MemberStatus.LAPSED and not has_access(giver, utcnow())
    assert len([e for e in emails_to("refund@example.org") if e["subject"].startswith("Corrected receipt")]) == 2


def test_a_paying_member_who_gives_gets_the_gift_recorded_not_a_second_membership(client, db_session, sandbox, tap):
    payer = join_and_pay(client, sandbox, "payer@example.org")
    deliver_all(client, tap.new())
    assert payer.status is MemberStatus.ACTIVE
    until = payer.term_until
    sign_in_as(client, payer)
    assert 'href="/give"' in client.get("/account").get_data(as_text=True)
    give_and_pay(client, sandbox, tap, email="payer@example.org", amount_choice="5000")
    gifts = [c for c in contributions_of(db_session, payer) if c.kind is ContributionKind.ONE_TIME]
    assert len(gifts) == 1 and gifts[0].term_months is None and payer.term_until == until
    assert access_source(payer, utcnow()) == "subscription"
    assert db_session.scalar(select(func.count(Subscription.id)).where(Subscription.member_id == payer.id)) == 1
    kinds = sorted(c.kind for c in contributions_of(db_session, payer))
    assert kinds == [ContributionKind.MEMBERSHIP, ContributionKind.ONE_TIME]


def test_a_campaign_link_travels_to_the_contribution_the_member_and_the_dashboard(client, db_session, sandbox, tap,
                                                                                   staff_login):
    give_and_pay(client, sandbox, tap, path="/give?amount=25&campaign=spring&utm_source=newsletter&utm_medium=email",
                 email="spring@example.org", amount_choice="2500", campaign="spring", utm_source="newsletter",
                 utm_medium="email")
    giver = member("spring@example.org")
    [gift] = contributions_of(db_session, giver)
    assert gift.campaign == "spring"
    assert gift.attribution == {"campaign": "spring", "utm_source": "newsletter", "utm_medium": "email"}
    assert giver.first_touch["campaign"] == giver.latest_touch["campaign"] == "spring"
    dashboard = staff_login("viewer").get("/staff/dashboard").get_data(as_text=True)
    campaigns = dashboard[dashboard.index('id="h-campaigns"'):]
    assert re.search(r">spring</a></th>\s*<td>1</td><td>\$25\.00</td>", campaigns), campaigns[:1500]  # by revenue
    assert '<th scope="row">spring</th><td>1</td>' in campaigns  # by joins: the reader was new


def test_a_join_from_a_campaign_link_attributes_every_invoice_of_the_subscription(client, db_session, sandbox, tap):
    landing = client.get("/?plan=yearly-50&utm_campaign=fall-drive&referral=friend42").get_data(as_text=True)
    assert re.search(r'id="plan-yearly-50"[^>]*\bchecked\b', landing)
    assert '<input type="hidden" name="utm_campaign" value="fall-drive">' in landing
    joined = join_and_pay(client, sandbox, "fall@example.org", plan="yearly-50", utm_campaign="fall-drive",
                          referral="friend42")
    deliver_all(client, tap.new())
    [paid] = contributions_of(db_session, joined)
    assert (paid.kind, paid.amount, paid.campaign) == (ContributionKind.MEMBERSHIP, 5000, "fall-drive")
    assert paid.attribution == {"utm_campaign": "fall-drive", "referral": "friend42"}
    # Stripe's payment behind the invoice (its invoice payment), with the fee of its balance transaction.
    assert paid.stripe_payment_intent_id.startswith("pi_") and paid.stripe_charge_id.startswith("ch_")
    assert paid.stripe_fee == round(5000 * 0.029) + 30 and paid.stripe_net == 5000 - paid.stripe_fee
    assert joined.first_touch["referral"] == "friend42"


def test_prefilled_join_links_select_what_they_name_and_ignore_the_rest(client):
    amount = client.get("/?amount=10").get_data(as_text=True)
    assert re.search(r'id="plan-monthly-pwyw"[^>]*\bchecked\b', amount) and 'value="10"' in amount
    for odd in ("/?plan=gold", "/?amount=2", "/?amount=ten", "/?plan=yearly-50&amount=10"):
        response = client.get(odd)
        assert response.status_code == 200, odd
    assert re.search(r'id="plan-monthly-5"[^>]*\bchecked\b', client.get("/?plan=gold").get_data(as_text=True))
    assert re.search(r'id="plan-yearly-50"[^>]*\bchecked\b', client.get("/?plan=yearly-50&amount=10").get_data(as_text=True))


@pytest.mark.parametrize(("fields", "field", "message"), [
    ({"amount_choice": "other", "other_amount": ""}, "other_amount", "Choose an amount"),
    ({"amount_choice": "other", "other_amount": "0.50"}, "other_amount", "The smallest gift we can take online is $1"),
    ({"amount_choice": "999"}, "other_amount", "Choose an amount"),
    ({"dedicate": "on", "dedication_type": "honour", "dedication_name": ""}, "dedication_name", "Enter the name"),
    ({"dedicate": "on", "dedication_type": "x", "dedication_name": "A"}, "dedication_type", "in honour of or in memory of"),
    ({"dedicate": "on", "dedication_type": "honour", "dedication_name": "A", "dedication_notify_email": "nope"},
     "dedication_notify_email", "Enter an email address"),
    ({"email": "not-an-email"}, "email", "Enter an email address"),
])
def test_bad_input_is_explained_beside_its_field_and_nothing_is_created(client, db_session, fields, field, message):
    before = db_session.scalar(select(func.count(CheckoutAttempt.id)))
    answer = give(client, **fields)
    page = answer.get_data(as_text=True)
    assert answer.status_code == 422
    assert re.search(rf'id="{field}-error">[^<]*{re.escape(message)}', page), page
    assert re.search(rf'aria-describedby="[^"]*{field}-error', page)
    assert db_session.scalar(select(func.count(CheckoutAttempt.id))) == before


def test_the_fee_preview_matches_what_the_checkout_charges(client):
    assert client.get("/give/fee?amount=25").get_json() == {
        "amount": 2500, "fee_covered": gross_up(2500, *CARD_FEE) - 2500, "total": gross_up(2500, *CARD_FEE), "currency": "usd"}
    assert client.get("/give/fee?amount=abc").status_code == 400


def test_a_term_is_reminded_once_fourteen_days_before_it_ends_then_lapses(client, db_session, sandbox, tap):
    give_and_pay(client, sandbox, tap, email="term@example.org", amount_choice="1000")  # two months
    giver = member("term@example.org")
    end = giver.term_until
    assert remind_terms_ending(end - timedelta(days=15)) == 0
    assert remind_terms_ending(end - timedelta(days=13)) == 1
    assert remind_terms_ending(end - timedelta(days=12)) == 0
    [reminder] = [e for e in emails_to("term@example.org") if e["subject"] == "Your membership ends soon"]
    assert "/?plan=monthly-5" in reminder["text"] and "/give" in reminder["text"]
    assert has_access(giver, end - timedelta(seconds=1))
    expire_ended_access(end + timedelta(seconds=1))
    assert giver.status is MemberStatus.LAPSED and not has_access(giver, end + timedelta(seconds=1))
    assert find_subscription(get_list(MEMBERS_LIST), giver.email).status is ListStatus.LAPSED
    assert "Your membership has ended" in subjects("term@example.org")


def test_a_second_gift_while_a_term_runs_extends_it(client, db_session, sandbox, tap):
    give_and_pay(client, sandbox, tap, email="again@example.org", amount_choice="1000")
    giver = member("again@example.org")
    first_end = giver.term_until
    give_and_pay(client, sandbox, tap, email="again@example.org", amount_choice="2500")
    assert giver.term_until.date() >= (first_end + timedelta(days=150)).date()
    assert len(contributions_of(db_session, giver)) == 2


def test_the_first_field_to_fix_takes_the_focus_and_names_its_error(client):
    page = give(client, name="", email="not-an-address").get_data(as_text=True)
    assert re.search(r'<input id="name"[^>]*aria-invalid="true"[^>]*aria-describedby="name-error"[^>]*autofocus', page)
    assert not re.search(r'<input id="email"[^>]*autofocus', page)  # only the first

"""Readers paying in their own currency (DESIGN.md "Currencies"), end to end against the Stripe
sandbox: the forms offer CURRENCIES (`?currency=`, then the browser's country, then the first
listed), show amounts and minimums in the chosen one, and Checkout, the subscription, the invoice,
the contribution and the receipt keep it.

Stripe behaviour relied on, with its source:
- A Price carries its amounts in other currencies as `currency_options`, and a Checkout Session's
  `currency` picks one (https://docs.stripe.com/api/prices/create,
  https://docs.stripe.com/api/checkout/sessions/create).
- A charge in another currency than the account's settles with an `exchange_rate` on its balance
  transaction (https://docs.stripe.com/api/balance_transactions/object).
"""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from service.domain.billing.plans import active_plans, sync_plan
from service.models import Contribution, ContributionKind, MemberStatus
from tests.billing import deliver_all
from tests.sandbox.harness import pay
from tests.web.readers import csrf, emails_to, join, member


@pytest.fixture(scope="module")
def sandbox_settings(sandbox_settings):
    return {**sandbox_settings, "CURRENCIES": "usd,eur,chf", "FX_RATES": "eur:1.08,chf:1.13"}


@pytest.fixture(scope="module")
def app(sandbox_app):
    return sandbox_app


def test_the_front_page_offers_each_currency_and_a_swiss_browser_sees_francs(client):
    page = client.get("/").get_data(as_text=True)
    assert "$5" in page and 'name="currency" value="usd"' in page
    assert re.search(r'<a href="/\?currency=chf"[^>]*>CHF</a>', page) and re.search(r'<a href="/\?currency=eur"[^>]*>EUR</a>', page)
    swiss = client.get("/", headers={"Accept-Language": "de-CH,de;q=0.9"}).get_data(as_text=True)
    assert 'name="currency" value="chf"' in swiss and "CHF" in swiss
    # The link wins over the browser; a currency not offered falls back.
    assert 'name="currency" value="eur"' in client.get("/?currency=eur", headers={"Accept-Language": "de-CH"}).get_data(as_text=True)
    assert 'name="currency" value="usd"' in client.get("/?currency=gbp").get_data(as_text=True)


def test_a_reader_in_switzerland_joins_in_francs_above_the_franc_minimum(client, db_session, sandbox, tap, gateway):
    for plan in active_plans():
        sync_plan(plan, gateway)  # the Prices gain their currency_options
    too_little = join(client, "heidi@example.ch", plan="monthly-pwyw", amount="4.50", currency="chf")
    assert too_little.status_code == 422
    assert "The smallest amount is CHF5 a month." in too_little.get_data(as_text=True)
    answer = join(client, "heidi@example.ch", plan="monthly-pwyw", amount="7.50", currency="chf")
    assert answer.status_code == 303
    paid = pay(sandbox, answer.location, email="heidi@example.ch")
    assert paid.status_code == 303
    deliver_all(client, tap.new())
    heidi = member("heidi@example.ch")
    assert heidi.status is MemberStatus.ACTIVE
    [sub] = heidi.subscriptions
    assert (sub.amount, sub.currency) == (750, "chf")
    [contribution] = db_session.scalars(select(Contribution).where(Contribution.member_id == heidi.id)).all()
    assert (contribution.kind, contribution.amount, contribution.currency) == (ContributionKind.MEMBERSHIP, 750, "chf")
    # Stripe converted it to the account's dollars at its own rate, which the contribution keeps.
    assert contribution.settlement_currency == "usd" and contribution.exchange_rate
    receipt = next(e for e in emails_to("heidi@example.ch") if "receipt" in e["subject"].lower())
    assert "CHF" in receipt["text"] and "7.50" in receipt["text"]


def test_a_fixed_plan_in_euros_uses_the_prices_currency_option(client, db_session, sandbox, tap, gateway):
    for plan in active_plans():
        sync_plan(plan, gateway)
    answer = join(client, "marie@example.fr", plan="monthly-5", currency="eur")
    assert answer.status_code == 303
    pay(sandbox, answer.location, email="marie@example.fr")
    deliver_all(client, tap.new())
    [sub] = member("marie@example.fr").subscriptions
    assert (sub.amount, sub.currency) == (500, "eur")


def test_a_gift_membership_in_euros(client, db_session, sandbox, tap):
    page = client.get("/gift?currency=eur").get_data(as_text=True)
    assert "€15.00" in page and "€50.00" in page
    answer = client.post("/gift", data={"csrf_token": csrf(client, "/gift?currency=eur"), "currency": "eur",
                                        "purchaser_name": "Jean", "purchaser_email": "jean@example.fr",
                                        "recipient_name": "Amélie", "recipient_email": "amelie@example.fr", "months": "6"})
    assert answer.status_code == 303, answer.get_data(as_text=True)
    pay(sandbox, answer.location, email="jean@example.fr")
    deliver_all(client, tap.new())
    [contribution] = db_session.scalars(select(Contribution).where(Contribution.member_id == member("jean@example.fr").id)).all()
    assert (contribution.kind, contribution.amount, contribution.currency) == (ContributionKind.GIFT_PURCHASE, 3000, "eur")


def test_a_one_time_gift_in_francs_has_franc_amounts_and_minimum(client):
    page = client.get("/give?currency=chf").get_data(as_text=True)
    assert "Amount, in Swiss francs" in page and "CHF" in page
    answer = client.post("/give", data={"csrf_token": csrf(client, "/give?currency=chf"), "currency": "chf",
                                        "name": "Heidi", "email": "heidi2@example.ch", "amount_choice": "other",
                                        "other_amount": "0.40"})
    assert answer.status_code == 422
    assert "The smallest gift we can take online is CHF" in answer.get_data(as_text=True)

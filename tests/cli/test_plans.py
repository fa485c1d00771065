"""`membership plans sync` against the sandbox: creates prices once, then changes nothing."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from service.models import Plan


@pytest.fixture(scope="module")
def app(sandbox_app):
    """`plans sync` creates and finds prices on the sandbox."""
    return sandbox_app


def test_plans_sync_creates_then_finds_prices(cli, db_session):
    first = cli("plans", "sync")
    assert first.exit_code == 0, first.output
    plans = {p.code: p for p in db_session.scalars(select(Plan))}
    assert all(p.stripe_price_id and p.stripe_product_id for p in plans.values())
    assert "updated" in first.output
    ids = {code: p.stripe_price_id for code, p in plans.items()}

    second = cli("plans", "sync")
    assert second.exit_code == 0, second.output
    assert "updated" not in second.output and second.output.count("unchanged") == len(plans)
    db_session.expire_all()
    assert {p.code: p.stripe_price_id for p in db_session.scalars(select(Plan))} == ids


def test_synced_price_matches_the_plan(cli, db_session, gateway):
    assert cli("plans", "sync").exit_code == 0
    monthly = db_session.scalars(select(Plan).where(Plan.code == "monthly-5")).one()
    price = gateway.find_price(monthly.stripe_lookup_key)
    assert price["id"] == monthly.stripe_price_id
    assert (price["unit_amount"], price["currency"], price["recurring"]["interval"]) == (500, "usd", "month")


def test_plans_list_shows_amounts(cli):
    result = cli("plans", "list")
    assert result.exit_code == 0
    assert "monthly-5" in result.output and "5.00 USD/month" in result.output
    assert "pay what you want, from 5.00" in result.output


def test_a_new_currency_is_priced_then_synced_onto_the_same_stripe_price(cli, db_session, gateway, app, monkeypatch):
    """Stripe keeps a price's other currencies as `currency_options`, which may change while its own
    amount never does (https://docs.stripe.com/api/prices/update, `currency_options`)."""
    assert cli("plans", "sync").exit_code == 0
    monthly = db_session.scalars(select(Plan).where(Plan.code == "monthly-5")).one()
    before = monthly.stripe_price_id
    monkeypatch.setitem(app.config, "CURRENCIES", ["usd", "chf", "sek"])
    priced = cli("plans", "price", "monthly-5", "SEK", "5500")
    assert priced.exit_code == 0, priced.output
    assert "monthly-5: SEK" in priced.output and "plans sync" in priced.output
    synced = cli("plans", "sync")
    assert synced.exit_code == 0, synced.output
    # Plans without a SEK amount are named, with the command that fixes it.
    assert "yearly-50" in synced.output and "no amount in SEK" in synced.output
    db_session.expire_all()
    monthly = db_session.scalars(select(Plan).where(Plan.code == "monthly-5")).one()
    assert monthly.stripe_price_id == before
    price = gateway.find_price(monthly.stripe_lookup_key)
    assert price["currency_options"]["sek"]["unit_amount"] == 5500
    assert price["currency_options"]["chf"]["unit_amount"] == 500
    assert "also SEK" in cli("plans", "list").output


@pytest.mark.parametrize(("args", "complaint"), [
    (("nope", "chf", "500"), "no plan 'nope'"),
    (("monthly-5", "francs", "500"), "not an ISO currency code"),
    (("monthly-5", "chf", "0"), "0"),
])
def test_plans_price_refuses_what_it_cannot_set(cli, args, complaint):
    result = cli("plans", "price", *args)
    assert result.exit_code != 0 and complaint in result.output

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

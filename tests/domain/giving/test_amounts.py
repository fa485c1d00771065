"""Gift arithmetic: covering the fees never leaves the newsroom short and never overcharges, and
the months a gift buys follow DESIGN.md (floor(amount / month price), capped, before fee cover)."""
from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from service.domain.giving.amounts import gross_up, term_months
from service.domain.giving.gifts import convert


@given(amount=st.integers(min_value=1, max_value=10_000_000),
       percent=st.decimals(min_value=0, max_value=10, places=2),
       fixed=st.integers(min_value=0, max_value=500))
def test_the_grossed_up_total_leaves_the_gift_after_fees_and_is_the_smallest_that_does(amount, percent, fixed):
    total = gross_up(amount, percent, fixed)
    fee = total * percent / 100 + fixed  # what the processor keeps, before its own rounding
    assert total - fee >= amount
    smaller = total - 1
    assert smaller - (smaller * percent / 100 + fixed) < amount


def test_stripes_us_card_price_on_a_25_dollar_gift():
    # (2500 + 30) / (1 - 0.029) = 2605.56..., rounded up to the cent.
    assert gross_up(2500, Decimal("2.9"), 30) == 2606


@pytest.mark.parametrize(("gift", "months"), [(499, 0), (500, 1), (2500, 5), (2999, 5), (6000, 12), (100_000, 12)])
def test_months_a_gift_buys_at_five_dollars_a_month_capped_at_twelve(app, db_session, gift, months):
    assert term_months(gift) == months


def test_a_configured_month_price_wins_over_the_monthly_plan(app, db_session):
    app.config["ONE_TIME_MONTH_PRICE"] = 1000
    try:
        assert term_months(2500) == 2
    finally:
        app.config["ONE_TIME_MONTH_PRICE"] = None


def test_a_gift_credit_in_another_currency_converts_through_the_reporting_currency(app, monkeypatch):
    monkeypatch.setitem(app.config, "REPORTING_CURRENCY", "usd")
    monkeypatch.setitem(app.config, "FX_RATES", {"eur": Decimal("1.08"), "chf": Decimal("1.13")})
    with app.app_context():
        assert convert(1500, "eur", "usd") == 1620  # 15.00 x 1.08
        assert convert(1500, "eur", "chf") == 1434  # 15.00 x 1.08 / 1.13 = 14.336...
        assert convert(1500, "eur", "eur") == 1500
        assert convert(1500, "eur", "gbp") is None  # no rate: the caller credits the months instead

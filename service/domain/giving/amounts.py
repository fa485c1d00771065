"""Gift arithmetic, in minor units of a currency: covering the fees, the months a one-time gift
buys, the price of a gift membership, and the smallest gift taken."""
from __future__ import annotations

from decimal import ROUND_CEILING, Decimal

from flask import current_app
from sqlalchemy import select

from service.extensions import db
from service.models import Interval, Plan

# The plan whose price one month of a term membership costs when ONE_TIME_MONTH_PRICE is empty.
MONTHLY_PLAN = "monthly-5"
FALLBACK_MONTH_PRICE = 500


def gross_up(amount: int, percent: Decimal, fixed: int) -> int:
    """The total to charge so that, after a fee of `percent`% + `fixed`, `amount` remains.

    total - (total * percent / 100 + fixed) >= amount, so total = (amount + fixed) / (1 - percent/100),
    rounded up to the minor unit (the newsroom never receives less than the reader chose).
    """
    if amount <= 0:
        raise ValueError("amount must be positive")
    total = (Decimal(amount + fixed) / (1 - percent / 100)).to_integral_value(rounding=ROUND_CEILING)
    return int(total)


def fee_cover(amount: int) -> int:
    """What covering the fees adds to a gift of `amount`, with FEE_PERCENT and FEE_FIXED."""
    config = current_app.config
    return gross_up(amount, config["FEE_PERCENT"], config["FEE_FIXED"]) - amount


def _monthly_plan() -> Plan | None:
    plan = db.session.scalar(select(Plan).where(Plan.code == MONTHLY_PLAN))
    if plan is None:
        plan = db.session.scalar(select(Plan).where(Plan.interval == Interval.MONTH, Plan.active,
                                                    ~Plan.pay_what_you_want).order_by(Plan.amount))
    return plan


def month_price(currency: str | None = None) -> int:
    """What a month of membership costs in `currency`: ONE_TIME_MONTH_PRICE in the monthly plan's
    own currency when set, otherwise the monthly plan's amount in `currency`."""
    plan = _monthly_plan()
    configured = current_app.config.get("ONE_TIME_MONTH_PRICE")
    if plan is None:
        return int(configured or FALLBACK_MONTH_PRICE)
    if currency is None or currency == plan.currency:
        return int(configured or plan.amount)
    return plan.amount_in(currency) or int(configured or plan.amount)


def term_months(gift_amount: int, currency: str | None = None) -> int:
    """Months of membership a one-time gift buys: floor(gift / month price), up to
    ONE_TIME_MAX_MONTHS; counted on the amount chosen, before any fee cover. 0 below one month."""
    return min(gift_amount // month_price(currency), current_app.config["ONE_TIME_MAX_MONTHS"])


def give_minimum(currency: str) -> int:
    """The smallest one-time gift in `currency`: GIVE_MIN_AMOUNTS names it per currency, GIVE_MIN_AMOUNT otherwise."""
    config = current_app.config
    return int(config.get("GIVE_MIN_AMOUNTS", {}).get(currency, config["GIVE_MIN_AMOUNT"]))


GIFT_MONTHS = (3, 6, 12)


def gift_prices(currency: str) -> dict[int, int]:
    """What a gift membership of 3, 6 or 12 months costs in `currency`, from the plans: months at
    the monthly plan's price, and a year at the yearly plan's when there is one (its saving passes
    on). Empty when the monthly plan has no price in `currency`."""
    monthly = _monthly_plan()
    month = monthly.amount_in(currency) if monthly is not None else None
    if month is None:
        return {}
    yearly = db.session.scalar(select(Plan).where(Plan.interval == Interval.YEAR, Plan.active,
                                                  ~Plan.pay_what_you_want).order_by(Plan.sort_order, Plan.id))
    year = yearly.amount_in(currency) if yearly is not None else None
    return {months: year if months == 12 and year else months * month for months in GIFT_MONTHS}

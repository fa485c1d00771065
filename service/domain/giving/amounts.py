"""Gift arithmetic, in minor units: covering the fees, and the months a one-time gift buys."""
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


def month_price() -> int:
    """ONE_TIME_MONTH_PRICE, or the monthly plan's amount when it is not set."""
    configured = current_app.config.get("ONE_TIME_MONTH_PRICE")
    if configured:
        return int(configured)
    plan = db.session.scalar(select(Plan).where(Plan.code == MONTHLY_PLAN))
    if plan is None:
        plan = db.session.scalar(select(Plan).where(Plan.interval == Interval.MONTH, Plan.active,
                                                    ~Plan.pay_what_you_want).order_by(Plan.amount))
    return plan.amount if plan is not None else FALLBACK_MONTH_PRICE


def term_months(gift_amount: int) -> int:
    """Months of membership a one-time gift buys: floor(gift / month price), up to
    ONE_TIME_MAX_MONTHS; counted on the amount chosen, before any fee cover. 0 below one month."""
    return min(gift_amount // month_price(), current_app.config["ONE_TIME_MAX_MONTHS"])

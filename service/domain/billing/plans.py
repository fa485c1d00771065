"""Plans: what readers can choose, and their Products and Prices in Stripe."""
from __future__ import annotations

import logging

from flask import current_app
from sqlalchemy import select

from service.extensions import db
from service.gateways.stripe_gateway import StripeGateway
from service.logs import log_event
from service.models import Plan

logger = logging.getLogger(__name__)


def active_plans() -> list[Plan]:
    return list(db.session.scalars(select(Plan).where(Plan.active).order_by(Plan.sort_order, Plan.id)))


def offered_amounts(plan: Plan) -> dict[str, int]:
    """The plan's amounts in the offered currencies (CURRENCIES) other than its own."""
    amounts = {cur: plan.amount_in(cur) for cur in current_app.config["CURRENCIES"] if cur != plan.currency}
    return {cur: amount for cur, amount in amounts.items() if amount is not None}


def missing_currencies(plan: Plan) -> list[str]:
    """Offered currencies the plan has no amount in: readers paying in those do not see it."""
    return [cur for cur in current_app.config["CURRENCIES"] if plan.amount_in(cur) is None]


def set_currency_amount(plan: Plan, currency: str, amount: int, min_amount: int | None = None) -> None:
    """Give the plan an amount (and, for pay what you want, a minimum) in `currency`; `plans sync`
    then adds it to the plan's Stripe Price."""
    if currency == plan.currency:
        plan.amount = amount
        if min_amount is not None:
            plan.min_amount = min_amount
    else:
        option: dict[str, int] = {"amount": amount}
        if plan.pay_what_you_want:
            option["min_amount"] = min_amount if min_amount is not None else (plan.min_amount_in(currency) or amount)
        plan.currency_options = {**(plan.currency_options or {}), currency: option}
    db.session.flush()
    log_event(logger, "plan.currency_amount_set", plan=plan.code, currency=currency, amount=amount, min_amount=min_amount)


def sync_plan(plan: Plan, gateway: StripeGateway) -> bool:
    """Find or create the plan's Product and Price by lookup key; store their ids.

    Returns whether the stored ids changed. Running it again changes nothing.
    """
    price = gateway.ensure_price(
        lookup_key=plan.stripe_lookup_key,
        product_name=f"Membership: {plan.name}",
        amount=plan.amount,
        currency=plan.currency,
        interval=str(plan.interval),
        currency_options=offered_amounts(plan),
    )
    product_id = price["product"] if isinstance(price["product"], str) else price["product"]["id"]
    changed = (plan.stripe_price_id, plan.stripe_product_id) != (price["id"], product_id)
    plan.stripe_price_id, plan.stripe_product_id = price["id"], product_id
    db.session.flush()
    if changed:
        log_event(logger, "plan.synced", plan=plan.code, stripe_price_id=price["id"])
    return changed

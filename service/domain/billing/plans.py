"""Plans: what readers can choose, and their Products and Prices in Stripe."""
from __future__ import annotations

import logging

from sqlalchemy import select

from service.extensions import db
from service.gateways.stripe_gateway import StripeGateway
from service.logs import log_event
from service.models import Plan

logger = logging.getLogger(__name__)


def active_plans() -> list[Plan]:
    return list(db.session.scalars(select(Plan).where(Plan.active).order_by(Plan.sort_order, Plan.id)))


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
    )
    product_id = price["product"] if isinstance(price["product"], str) else price["product"]["id"]
    changed = (plan.stripe_price_id, plan.stripe_product_id) != (price["id"], product_id)
    plan.stripe_price_id, plan.stripe_product_id = price["id"], product_id
    db.session.flush()
    if changed:
        log_event(logger, "plan.synced", plan=plan.code, stripe_price_id=price["id"])
    return changed

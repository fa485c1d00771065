"""`membership plans`: membership plans and their Stripe prices."""
from __future__ import annotations

import click

from service.cli.base import in_transaction
from service.domain.billing.plans import active_plans, sync_plan
from service.gateways import payments


@click.group("plans")
def plans_group() -> None:
    """Membership plans and their Stripe prices."""


@plans_group.command("sync")
@in_transaction
def plans_sync() -> None:
    """Create or find each plan's Stripe Product and Price by lookup key. Safe to run again."""
    for plan in active_plans():
        changed = sync_plan(plan, payments())
        click.echo(f"{plan.code:14} {plan.stripe_price_id}  {'updated' if changed else 'unchanged'}")


@plans_group.command("list")
@in_transaction
def plans_list() -> None:
    """Show the plans, their amounts and Stripe prices."""
    for plan in active_plans():
        amount = f"{plan.amount / 100:.2f} {plan.currency.upper()}/{plan.interval}"
        extra = f" (pay what you want, from {plan.min_amount / 100:.2f})" if plan.pay_what_you_want else ""
        click.echo(f"{plan.code:14} {amount}{extra}  {plan.stripe_price_id or 'not synced'}")

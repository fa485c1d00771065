"""`membership plans`: membership plans and their Stripe prices."""
from __future__ import annotations

import click
from flask import current_app
from sqlalchemy import select

from service.cli.base import in_transaction
from service.domain.billing.plans import active_plans, missing_currencies, set_currency_amount, sync_plan
from service.extensions import db
from service.gateways import payments
from service.models import Plan
from service.money import format_money


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
        if missing := missing_currencies(plan):
            click.echo(f"  warning: no amount in {', '.join(c.upper() for c in missing)}: readers paying in it do not see "
                       f"this plan (set one with `membership plans price {plan.code} CURRENCY AMOUNT`)", err=True)


@plans_group.command("list")
@in_transaction
def plans_list() -> None:
    """Show the plans, their amounts and Stripe prices."""
    offered = current_app.config["CURRENCIES"]
    for plan in active_plans():
        amount = f"{plan.amount / 100:.2f} {plan.currency.upper()}/{plan.interval}"
        extra = f" (pay what you want, from {plan.min_amount / 100:.2f})" if plan.pay_what_you_want else ""
        click.echo(f"{plan.code:14} {amount}{extra}  {plan.stripe_price_id or 'not synced'}")
        for cur in plan.currencies[1:]:
            minimum = f", from {format_money(plan.min_amount_in(cur) or 0, cur, 'en_US')}" if plan.pay_what_you_want else ""
            click.echo(f"{'':14} also {format_money(plan.amount_in(cur) or 0, cur, 'en_US')}{minimum}"
                       f"{'' if cur in offered else f' (offered once CURRENCIES lists {cur})'}")


@plans_group.command("price")
@click.argument("code")
@click.argument("currency")
@click.argument("amount", type=click.IntRange(min=1))
@click.option("--min-amount", type=click.IntRange(min=1), help="For a pay-what-you-want plan: the smallest amount in CURRENCY.")
@in_transaction
def plans_price(code: str, currency: str, amount: int, min_amount: int | None) -> None:
    """Set a plan's AMOUNT (minor units: 500 is 5.00) in CURRENCY (e.g. chf), then run `plans sync`.

    Example: `membership plans price monthly-5 chf 500`. Readers are offered the currencies in
    CURRENCIES; a plan shows in each one it has an amount in."""
    currency = currency.strip().lower()
    if len(currency) != 3 or not currency.isalpha():
        raise click.BadParameter(f"{currency!r} is not an ISO currency code like chf", param_hint="CURRENCY")
    plan = db.session.scalar(select(Plan).where(Plan.code == code))
    if plan is None:
        raise click.BadParameter(f"no plan {code!r}; `membership plans list` shows them", param_hint="CODE")
    set_currency_amount(plan, currency, amount, min_amount)
    click.echo(f"{plan.code}: {format_money(amount, currency, 'en_US')} in {currency.upper()}; "
               "run `membership plans sync` to add it to the Stripe price")

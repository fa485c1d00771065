"""Price and quantity changes on a subscription item, prorated as Stripe documents.

https://docs.stripe.com/billing/subscriptions/prorations : "If a customer
upgrades from a 10 USD monthly plan to a 20 USD option halfway through the
billing period, the customer is billed an additional 5 USD": a credit for the
unused time on the old price and a debit for the remaining time on the new
one, computed from "the current billing period's start and end times", to the
second. `proration_behavior`: `create_prorations` (default) leaves them as
pending invoice items added to the next invoice, `always_invoice` invoices
them at once (billing_reason `subscription_update`), `none` creates none.
https://docs.stripe.com/billing/subscriptions/billing-cycle#changing : moving
to a price with a different interval (monthly -> yearly) resets the billing
cycle anchor to the time of the change and invoices the new period at once.
"""
import copy
from datetime import UTC, datetime

from . import invoicing
from .currencies import unit_amount_in
from .events import emit, save_updated
from .ids import new_id
from .periods import add_interval

PRORATION_BEHAVIORS = ("create_prorations", "always_invoice", "none")


def change_item(sb, new: dict, item_id: str, price: dict, quantity: int, behavior: str, now: int):
    """Apply a price/quantity change to `new` (in place) and create its prorations.

    Returns None, "items" (invoice the pending prorations now) or "cycle" (the
    billing period was reset: invoice the new period and the credit now).
    """
    item = next(i for i in new["items"]["data"] if i["id"] == item_id)
    old_price, old_quantity = item["price"], item["quantity"]
    if old_price["id"] == price["id"] and old_quantity == quantity:
        return None
    item.update(price=price, quantity=quantity)
    if new["status"] == "trialing":  # nothing was paid for the trial, so nothing to prorate
        return None
    start, end = item["current_period_start"], item["current_period_end"]
    if _interval(old_price) != _interval(price):
        return _reset_cycle(sb, new, item, (old_price, old_quantity), behavior, now)
    if behavior == "none":
        return None
    unused = (end - now) / (end - start)
    _proration(sb, new, item, old_price, old_quantity, (now, end), -unused, now)
    _proration(sb, new, item, price, quantity, (now, end), unused, now)
    return "items" if behavior == "always_invoice" else None


def _reset_cycle(sb, new, item, old, behavior, now) -> str:
    """A new interval: credit the unused old time, start a full new period now."""
    start, end = item["current_period_start"], item["current_period_end"]
    if behavior != "none":
        _proration(sb, new, item, old[0], old[1], (now, end), -(end - now) / (end - start), now)
    item.update(current_period_start=now, current_period_end=add_interval(now, item["price"]))
    new["billing_cycle_anchor"] = now
    return "cycle"


def credit_unused(sb, new: dict, now: int) -> None:
    """A credit proration for the unused, paid time of every item (a trial started early)."""
    for item in new["items"]["data"]:
        start, end = item["current_period_start"], item["current_period_end"]
        if start <= now < end:
            _proration(sb, new, item, item["price"], item["quantity"], (now, end),
                       -(end - now) / (end - start), now)


def _interval(price: dict) -> tuple[str, int]:
    return price["recurring"]["interval"], price["recurring"]["interval_count"]


def _proration(sb, sub, item, price, quantity, period, fraction: float, now: int) -> dict:
    """A pending proration invoice item: `fraction` of a full period (negative: a credit), in the
    subscription's currency."""
    unit = unit_amount_in(price, sub["currency"])
    amount = round(unit * quantity * fraction)
    product = sb.store.get(price["product"], "product") or {"name": "Subscription"}
    what = "Unused time on" if fraction < 0 else "Remaining time on"
    ii = {
        "id": new_id("ii_"), "object": "invoiceitem", "amount": amount, "currency": sub["currency"],
        "customer": sub["customer"], "customer_account": None, "date": now,
        "description": f"{what} {quantity} × {product['name']} after {_day(period[0])}",
        "discountable": False, "discounts": [], "invoice": None, "livemode": False, "metadata": {},
        "net_amount": amount,
        "parent": {"type": "subscription_details", "subscription_details": {
            "subscription": sub["id"], "subscription_item": item["id"]}},
        "period": {"start": period[0], "end": period[1]},
        "pricing": {"type": "price_details", "unit_amount_decimal": str(unit),
                    "price_details": {"price": price["id"], "product": price["product"]}},
        "proration": True, "proration_details": {"credited_items": None, "discount_amounts": []},
        "quantity": quantity, "quantity_decimal": str(quantity), "tax_rates": [], "test_clock": sub["test_clock"],
        "_price": price["id"],
    }
    sb.store.put(ii)
    emit(sb, "invoiceitem.created", ii, at=now)
    return ii


def _day(ts: int) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%d %b %Y")


def bill_now(sb, sub: dict, kind: str, now: int) -> dict:
    """Invoice a change at once (billing_reason subscription_update), finalize and pay it.

    `off_session` defaults to false on subscription updates (SubscriptionUpdateParams),
    so a card that needs authentication on-session needs it here too.
    """
    item = sub["items"]["data"][0]
    line_period = (item["current_period_start"], item["current_period_end"]) if kind == "cycle" else None
    invoice = invoicing.create_draft(sb, sub, reason="subscription_update", period=(now, now),
                                     line_period=line_period, at=now)
    opened = invoicing.finalize(sb, invoice, now)
    if opened["status"] != "open":
        return opened
    return invoicing.attempt(sb, opened, sub, now, off_session=False)


def bill_change(sb, new: dict, bill: str | None, now: int) -> dict | None:
    """Invoice what change_item asked for (in place): latest_invoice, and past_due if unpaid.
    Returns the invoice, if one was made."""
    if bill is None:
        return None
    invoice = bill_now(sb, new, bill, now)
    new["latest_invoice"] = invoice["id"]
    if invoice["status"] == "open" and new["status"] == "active":
        new["status"] = "past_due"
    return invoice


def switch_price(sb, sub: dict, price: dict, now: int, behavior: str = "create_prorations") -> dict:
    """Move the subscription's item to `price` (the portal's "Switch plan")."""
    new = copy.deepcopy(sub)
    item = new["items"]["data"][0]
    bill_change(sb, new, change_item(sb, new, item["id"], price, item["quantity"], behavior, now), now)
    return save_updated(sb, "customer.subscription.updated", sub, new, now)

"""Subscriptions: built by Checkout, changed by the API, the portal and the clock.

Shaped for API version 2026-10-28: period dates live on each subscription
item (`current_period_start`/`current_period_end`), not on the subscription.
"""
import copy

from ..api import endpoint
from ..events import emit, save_updated
from ..ids import new_id
from ..listing import PAGING, created_filter, page, render
from ..periods import add_interval
from ..wire import StripeError, boolean, choice, fetch, metadata, no_such, reject_unknown, string

STATUSES = ("active", "canceled", "incomplete", "incomplete_expired", "past_due", "paused",
            "trialing", "unpaid")
# Stripe's list default leaves out canceled subscriptions (status=all shows them).
LIST_STATUSES = STATUSES + ("all", "ended")
UPDATE = {"cancel_at_period_end", "metadata", "default_payment_method", "cancellation_details",
          "description"}


def new_subscription(sb, *, customer: str, price: dict, quantity: int, meta: dict,
                     payment_method: str | None, at: int) -> dict:
    """An active subscription whose one item covers [at, at + interval); not yet stored."""
    sub_id = new_id("sub_")
    item = {
        "id": new_id("si_"), "object": "subscription_item", "billing_thresholds": None,
        "created": at, "current_period_start": at, "current_period_end": add_interval(at, price),
        "discounts": [], "metadata": {}, "price": copy.deepcopy(price), "quantity": quantity,
        "subscription": sub_id, "tax_rates": [],
    }
    return {
        "id": sub_id, "object": "subscription", "application": None,
        "application_fee_percent": None,
        "automatic_tax": {"enabled": False, "liability": None, "disabled_reason": None},
        "billing_cycle_anchor": at, "billing_cycle_anchor_config": None,
        "billing_mode": {"type": "classic", "flexible": None}, "billing_schedules": [],
        "billing_thresholds": None, "cancel_at": None, "cancel_at_period_end": False,
        "canceled_at": None,
        "cancellation_details": {"comment": None, "feedback": None, "reason": None},
        "collection_method": "charge_automatically", "created": at, "currency": price["currency"],
        "customer": customer, "customer_account": None, "days_until_due": None,
        "default_payment_method": payment_method, "default_source": None, "default_tax_rates": [],
        "description": None, "discounts": [], "ended_at": None,
        "invoice_settings": {"account_tax_ids": None, "issuer": {"type": "self"}},
        "items": {"object": "list", "data": [item], "has_more": False,
                  "url": f"/v1/subscription_items?subscription={sub_id}"},
        "latest_invoice": None, "livemode": False, "managed_payments": {"enabled": False},
        "metadata": meta, "next_pending_invoice_item_invoice": None, "on_behalf_of": None,
        "pause_collection": None,
        "payment_settings": {"payment_method_options": None, "payment_method_types": None,
                             "save_default_payment_method": "off"},
        "pending_invoice_item_interval": None, "pending_setup_intent": None,
        "pending_update": None, "schedule": None, "start_date": at, "status": "active",
        "test_clock": None, "transfer_data": None, "trial_end": None,
        "trial_settings": {"end_behavior": {"missing_payment_method": "create_invoice"}},
        "trial_start": None,
    }


def period_end(sub: dict) -> int:
    return min(item["current_period_end"] for item in sub["items"]["data"])


def get_subscription(sb, sub_id, param="id", status=404) -> dict:
    return fetch(sb, "subscription", sub_id, param, status)


def set_cancel_at_period_end(sb, sub: dict, flag: bool, at: int) -> dict:
    """Schedule (or undo) the end of `sub` at its period end; emits customer.subscription.updated."""
    if flag == sub["cancel_at_period_end"]:
        return sub
    new = copy.deepcopy(sub)
    new["cancel_at_period_end"] = flag
    new["cancel_at"] = period_end(sub) if flag else None
    new["canceled_at"] = at if flag else None
    new["cancellation_details"] = {**sub["cancellation_details"],
                                   "reason": "cancellation_requested" if flag else None}
    return save_updated(sb, "customer.subscription.updated", sub, new, at)


def end_subscription(sb, sub: dict, at: int, reason: str = "cancellation_requested") -> dict:
    """Cancel now: status canceled, canceled_at/ended_at set; emits customer.subscription.deleted."""
    new = copy.deepcopy(sub)
    new.update(status="canceled", ended_at=at, canceled_at=sub["canceled_at"] or at)
    new["cancellation_details"] = {**sub["cancellation_details"], "reason": reason}
    sb.store.put(new)
    emit(sb, "customer.subscription.deleted", new, at=at)
    return new


@endpoint("/subscriptions/<sub_id>")
def retrieve(sb, params, sub_id):
    reject_unknown(params, set())
    return render(sb, get_subscription(sb, sub_id), params)


@endpoint("/subscriptions/<sub_id>", methods=["POST"])
def update(sb, params, sub_id):
    reject_unknown(params, UPDATE)
    sub, now = get_subscription(sb, sub_id), sb.now()
    if sub["status"] in ("canceled", "incomplete_expired"):
        raise StripeError("A canceled subscription can only update its cancellation_details and metadata.",
                          param="cancel_at_period_end" if "cancel_at_period_end" in params else None)
    flag = boolean(params, "cancel_at_period_end")
    if flag is not None:
        sub = set_cancel_at_period_end(sb, sub, flag, now)
    new = copy.deepcopy(sub)
    new["metadata"] = metadata(params, current=sub["metadata"])
    if "default_payment_method" in params:
        new["default_payment_method"] = _payment_method(sb, params, sub)
    if "description" in params:
        new["description"] = string(params, "description") or None
    return render(sb, save_updated(sb, "customer.subscription.updated", sub, new, now), params)


def _payment_method(sb, params, sub) -> str | None:
    pm_id = string(params, "default_payment_method") or None
    pm = sb.store.get(pm_id, "payment_method") if pm_id else None
    if pm_id and (pm is None or pm["customer"] != sub["customer"]):
        raise no_such("PaymentMethod", pm_id, "default_payment_method", 400)
    return pm_id


@endpoint("/subscriptions/<sub_id>", methods=["DELETE"])
def cancel(sb, params, sub_id):
    reject_unknown(params, {"invoice_now", "prorate", "cancellation_details"})
    sub = get_subscription(sb, sub_id)
    if sub["status"] == "canceled":
        raise StripeError(f"No such subscription: '{sub_id}'", status=404,
                          code="resource_missing", param="id")
    return render(sb, end_subscription(sb, sub, sb.now()), params)


@endpoint("/subscriptions")
def list_(sb, params):
    reject_unknown(params, PAGING | {"customer", "status", "price", "created"})
    customer, price = string(params, "customer"), string(params, "price")
    status, in_range = choice(params, "status", LIST_STATUSES), created_filter(params)
    found = [s for s in sb.store.all("subscription", customer)
             if _status_matches(s["status"], status) and in_range(s["created"])
             and (price is None or any(i["price"]["id"] == price for i in s["items"]["data"]))]
    return render(sb, page(found, params, "/v1/subscriptions"), params)


def _status_matches(actual: str, wanted: str | None) -> bool:
    if wanted is None:
        return actual not in ("canceled", "incomplete_expired")
    if wanted == "all":
        return True
    if wanted == "ended":
        return actual in ("canceled", "incomplete_expired")
    return actual == wanted

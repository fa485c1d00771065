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
from ..wire import StripeError, choice, fetch, no_such, reject_unknown, string

STATUSES = ("active", "canceled", "incomplete", "incomplete_expired", "past_due", "paused",
            "trialing", "unpaid")
# Stripe's list default leaves out canceled subscriptions (status=all shows them).
LIST_STATUSES = STATUSES + ("all", "ended")
LIVE = ("active", "past_due", "trialing", "unpaid", "incomplete", "paused")
ENDED = ("canceled", "incomplete_expired")
CANCEL = {"invoice_now", "prorate", "cancellation_details"}


def new_subscription(sb, *, customer: str, price: dict, quantity: int, meta: dict,
                     payment_method: str | None, at: int, status: str = "incomplete",
                     trial_end: int | None = None, missing_payment_method: str = "create_invoice",
                     currency: str | None = None) -> dict:
    """A subscription whose one item covers [at, at + interval), or [at, trial_end) on a trial;
    not yet stored. Checkout creates it `incomplete` until the first invoice is paid
    (https://docs.stripe.com/billing/subscriptions/overview#subscription-statuses).
    `currency` (default: the price's) is one of the price's currencies; the item's `price`
    is the Price itself, so its `currency` may differ from the subscription's."""
    sub_id = new_id("sub_")
    end = trial_end or add_interval(at, price)
    item = {
        "id": new_id("si_"), "object": "subscription_item", "billing_thresholds": None,
        "created": at, "current_period_start": at, "current_period_end": end,
        "discounts": [], "metadata": {}, "price": copy.deepcopy(price), "quantity": quantity,
        "subscription": sub_id, "tax_rates": [],
    }
    return {
        "id": sub_id, "object": "subscription", "application": None,
        "application_fee_percent": None,
        "automatic_tax": {"enabled": False, "liability": None, "disabled_reason": None},
        "billing_cycle_anchor": end if trial_end else at, "billing_cycle_anchor_config": None,
        "billing_mode": {"type": "classic", "flexible": None}, "billing_schedules": [],
        "billing_thresholds": None, "cancel_at": None, "cancel_at_period_end": False,
        "canceled_at": None,
        "cancellation_details": {"comment": None, "feedback": None, "reason": None},
        "collection_method": "charge_automatically", "created": at, "currency": currency or price["currency"],
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
        "pending_update": None, "schedule": None, "start_date": at, "status": status,
        "test_clock": _clock_of(sb, customer), "transfer_data": None, "trial_end": trial_end,
        "trial_settings": {"end_behavior": {"missing_payment_method": missing_payment_method}},
        "trial_start": at if trial_end else None,
    }


def _clock_of(sb, customer_id: str) -> str | None:
    """A subscription shows its customer's test clock
    (https://docs.stripe.com/billing/testing/test-clocks)."""
    return (sb.store.get(customer_id, "customer") or {}).get("test_clock")


def period_end(sub: dict) -> int:
    return min(item["current_period_end"] for item in sub["items"]["data"])


def get_subscription(sb, sub_id, param="id", status=404) -> dict:
    return fetch(sb, "subscription", sub_id, param, status)


def set_cancel_at_period_end(sb, sub: dict, flag: bool, at: int) -> dict:
    """Schedule (or undo) the end of `sub` at its period end; emits customer.subscription.updated."""
    new = copy.deepcopy(sub)
    schedule_cancel(new, period_end(sub) if flag else None, at, at_period_end=flag)
    return save_updated(sb, "customer.subscription.updated", sub, new, at)


def schedule_cancel(new: dict, cancel_at: int | None, at: int, at_period_end: bool = False) -> None:
    """Set (or clear, with None) the date `new` ends, in place.

    https://docs.stripe.com/billing/subscriptions/cancel : `cancel_at_period_end`
    sets `cancel_at` to the period end; a `cancel_at` date ends the subscription
    then, after any renewals before it. `canceled_at` is the time of the request.
    """
    if cancel_at == new["cancel_at"] and at_period_end == new["cancel_at_period_end"]:
        return
    new["cancel_at_period_end"] = at_period_end
    new["cancel_at"] = cancel_at
    new["canceled_at"] = at if cancel_at is not None else None
    new["cancellation_details"] = {**new["cancellation_details"],
                                   "reason": "cancellation_requested" if cancel_at is not None else None}


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


def payment_method_param(sb, params, sub) -> str | None:
    pm_id = string(params, "default_payment_method") or None
    pm = sb.store.get(pm_id, "payment_method") if pm_id else None
    if pm_id and (pm is None or pm["customer"] != sub["customer"]):
        raise no_such("PaymentMethod", pm_id, "default_payment_method", 400)
    return pm_id


@endpoint("/subscriptions/<sub_id>", methods=["DELETE"])
def cancel(sb, params, sub_id):
    reject_unknown(params, CANCEL)
    sub = get_subscription(sb, sub_id)
    if sub["status"] in ENDED:
        raise StripeError(f"No such subscription: '{sub_id}'", status=404,
                          code="resource_missing", param="id")
    return render(sb, end_subscription(sb, sub, sb.now_for(sub["customer"])), params)


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

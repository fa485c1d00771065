"""POST /v1/subscriptions/:id: cancel dates, paused collection, trials, price and quantity.

Every parameter accepted here is one `stripe.params.SubscriptionUpdateParams`
names; the whole request is validated before anything changes and emits one
customer.subscription.updated with the previous values.
- `cancel_at` / `cancel_at_period_end`: https://docs.stripe.com/billing/subscriptions/cancel
- `pause_collection`: https://docs.stripe.com/billing/subscriptions/pause-payment
  ("the subscription remains `active`")
- `items`, `proration_behavior`: https://docs.stripe.com/billing/subscriptions/change-price
  and prorations.py; `items[0][price_data]` makes a new Price inline ("Data used to generate a new
  Price object inline. You can use either `price` or `price_data`, but not both", the SDK's
  SubscriptionUpdateParamsItem), as Checkout's does: archived, so it never shows in price lists
- `trial_end`: https://docs.stripe.com/billing/subscriptions/trials ("The
  `billing_cycle_anchor` will be updated to the `trial_end` value", SDK docstring)
- `payment_behavior`, for an update that invoices at once: `allow_incomplete` (the default) applies
  the change "regardless of whether payment on the new invoice succeeds"
  (https://docs.stripe.com/billing/subscriptions/pending-updates), leaving the subscription
  past_due; `error_if_incomplete` answers 402 when the invoice "cannot be paid" and "does not update
  the subscription" (https://docs.stripe.com/api/subscriptions/update). The sandbox then discards
  the whole attempt (invoice, prorations, failed charge), like any refused request. `default_incomplete`
  and `pending_if_incomplete` (pending updates) are not supported here.
- A subscription managed by a schedule refuses `cancel_at_period_end` / `cancel_at`: "The subscription
  is managed by the subscription schedule `sub_sched_...`, and updating any cancelation behavior
  directly is not allowed. Please update the schedule instead." (Stripe's answer, as reported in
  https://github.com/laravel/cashier-stripe/issues/1748); release the schedule first.
"""
import copy

from .. import prorations
from ..api import endpoint
from ..currencies import currency_code, supports
from ..events import save_updated
from ..listing import render
from ..periods import add_interval
from ..wire import StripeError, boolean, choice, integer, metadata, reject_unknown, required, string
from .catalog import get_price, get_product, new_price, recurring_params
from .subscriptions import ENDED, get_subscription, payment_method_param, period_end, schedule_cancel

UPDATE = {"cancel_at_period_end", "cancel_at", "metadata", "default_payment_method",
          "cancellation_details", "description", "pause_collection", "items",
          "proration_behavior", "trial_end", "payment_behavior"}
PAYMENT_BEHAVIORS = ("allow_incomplete", "error_if_incomplete")
PAUSE_BEHAVIORS = ("keep_as_draft", "mark_uncollectible", "void")
PAUSE_KEYS = {"behavior", "resumes_at"}
ITEM_KEYS = {"id", "price", "price_data", "quantity"}
PRICE_DATA = {"currency", "product", "recurring", "unit_amount"}
CANCELLATION_DETAILS = {"comment", "feedback"}


@endpoint("/subscriptions/<sub_id>", methods=["POST"])
def update(sb, params, sub_id):
    reject_unknown(params, UPDATE)
    sub = get_subscription(sb, sub_id)
    now = sb.now_for(sub["customer"])
    _refuse_if_ended(sub, params)
    _refuse_if_scheduled(sub, params)
    behavior = choice(params, "proration_behavior", prorations.PRORATION_BEHAVIORS, "create_prorations")
    payment = choice(params, "payment_behavior", PAYMENT_BEHAVIORS, "allow_incomplete")
    change = _item_change(sb, params, sub) if "items" in params else None
    trial_end = _trial_end(params, now) if "trial_end" in params else None
    new = copy.deepcopy(sub)
    _cancellation(params, new, now)
    _pause(params, new, now)
    _simple_fields(sb, params, sub, new)
    bill = _apply_trial(sb, new, trial_end, behavior, now) if trial_end is not None else None
    if change is not None:
        bill = prorations.change_item(sb, new, *change, behavior, now) or bill
    invoice = prorations.bill_change(sb, new, bill, now)
    if payment == "error_if_incomplete" and invoice is not None:
        _refuse_if_unpaid(sb, invoice)
    return render(sb, save_updated(sb, "customer.subscription.updated", sub, new, now), params)


def _refuse_if_scheduled(sub, params) -> None:
    if sub["schedule"] and ({"cancel_at_period_end", "cancel_at"} & set(params)):
        raise StripeError(f"The subscription is managed by the subscription schedule `{sub['schedule']}`, and "
                          "updating any cancelation behavior directly is not allowed. Please update the "
                          "schedule instead.")


def _refuse_if_unpaid(sb, invoice) -> None:
    """`error_if_incomplete`: an invoice left open (declined, or waiting for authentication) is a 402
    card error; raising rolls the whole request back. A bank debit still processing is not refused."""
    if invoice["status"] != "open" or invoice.get("_intent_status") == "processing":
        return
    intent = sb.store.get(invoice["_payment_intent"], "payment_intent") if invoice.get("_payment_intent") else None
    error = (intent or {}).get("last_payment_error") or {}
    if invoice.get("_intent_status") == "requires_action":
        error = {"code": "authentication_required", "decline_code": "authentication_required",
                 "message": "Your card was declined. This transaction requires authentication."}
    raise StripeError(error.get("message") or "Your card was declined.", status=402, type_="card_error",
                      code=error.get("code") or "card_declined", decline_code=error.get("decline_code"))


def _refuse_if_ended(sub, params) -> None:
    changing = set(params) - {"metadata", "cancellation_details", "expand"}
    if sub["status"] in ENDED and changing:
        raise StripeError("A canceled subscription can only update its cancellation_details and metadata.",
                          param=sorted(changing)[0])


def _simple_fields(sb, params, sub, new) -> None:
    new["metadata"] = metadata(params, current=sub["metadata"])
    if "default_payment_method" in params:
        new["default_payment_method"] = payment_method_param(sb, params, sub)
    if "description" in params:
        new["description"] = string(params, "description") or None
    details = params.get("cancellation_details")
    if isinstance(details, dict):
        reject_unknown(details, CANCELLATION_DETAILS, "cancellation_details")
        new["cancellation_details"] = {**new["cancellation_details"],
                                       **{k: (v or None) for k, v in details.items()}}


def _cancellation(params, new, now) -> None:
    """`cancel_at_period_end=true` sets cancel_at to the period end; `cancel_at` is any later
    date (or min/max_period_end); `cancel_at=""` clears a scheduled cancellation."""
    flag = boolean(params, "cancel_at_period_end")
    value = params.get("cancel_at")
    if flag and value not in (None, ""):
        raise StripeError("You may only specify one of these parameters: cancel_at, cancel_at_period_end.",
                          code="parameters_exclusive", param="cancel_at")
    if flag is not None and (flag or new["cancel_at_period_end"]):
        schedule_cancel(new, period_end(new) if flag else None, now, at_period_end=flag)
    if value == "":
        schedule_cancel(new, None, now)
    elif value is not None:
        schedule_cancel(new, _cancel_at(params, new, now), now)


def _cancel_at(params, new, now) -> int:
    if params["cancel_at"] in ("min_period_end", "max_period_end"):
        ends = [item["current_period_end"] for item in new["items"]["data"]]
        return min(ends) if params["cancel_at"] == "min_period_end" else max(ends)
    when = integer(params, "cancel_at")
    if when <= now:
        raise StripeError("The cancel_at timestamp must be in the future.", param="cancel_at")
    return when


def _pause(params, new, now) -> None:
    if "pause_collection" not in params:
        return
    value = params["pause_collection"]
    if value == "":
        new["pause_collection"] = None
        return
    if not isinstance(value, dict):
        raise StripeError("Invalid pause_collection: must be a hash", param="pause_collection")
    reject_unknown(value, PAUSE_KEYS, "pause_collection")
    required(value, "behavior", "pause_collection[behavior]")
    behavior = choice(value, "behavior", PAUSE_BEHAVIORS, label="pause_collection[behavior]")
    resumes_at = integer(value, "resumes_at", label="pause_collection[resumes_at]")
    if resumes_at is not None and resumes_at <= now:
        raise StripeError("The resumes_at timestamp must be in the future.",
                          param="pause_collection[resumes_at]")
    new["pause_collection"] = {"behavior": behavior, "resumes_at": resumes_at}


def _item_change(sb, params, sub) -> tuple[str, dict, int]:
    """(item id, price, quantity) from `items[0][id|price|quantity]`."""
    items = params["items"]
    if not isinstance(items, list) or len(items) != 1 or not isinstance(items[0], dict):
        raise StripeError("The sandbox supports changing exactly one item: items[0][id] with "
                          "items[0][price] and/or items[0][quantity].", param="items")
    entry = items[0]
    reject_unknown(entry, ITEM_KEYS, "items[0]")
    item_id = required(entry, "id", "items[0][id]")
    item = next((i for i in sub["items"]["data"] if i["id"] == item_id), None)
    if item is None:
        raise StripeError(f"No such subscription item: '{item_id}'", code="resource_missing",
                          param="items[0][id]")
    if entry.get("price") and entry.get("price_data"):
        raise StripeError("You may only specify one of these parameters: price, price_data.",
                          code="parameters_exclusive", param="items[0][price_data]")
    if entry.get("price_data"):
        price = _inline_price(sb, entry["price_data"])
        if price["currency"] != sub["currency"]:
            raise StripeError(f"The price specified uses currency `{price['currency']}`, but the subscription "
                              f"is in `{sub['currency']}`.", param="items[0][price_data][currency]")
    else:
        price = get_price(sb, entry["price"], "items[0][price]", 400) if entry.get("price") else item["price"]
        _check_price(price, sub)
    quantity = integer(entry, "quantity", item["quantity"], "items[0][quantity]", minimum=1)
    return item_id, price, quantity


def _inline_price(sb, data) -> dict:
    """A recurring Price from `items[0][price_data]` (currency, product, recurring and unit_amount
    are all required there), in the subscription's currency."""
    label = "items[0][price_data]"
    if not isinstance(data, dict):
        raise StripeError(f"Invalid {label}: must be a hash", param=label)
    reject_unknown(data, PRICE_DATA, label)
    currency = currency_code(required(data, "currency", f"{label}[currency]"), f"{label}[currency]")
    product = get_product(sb, required(data, "product", f"{label}[product]"), f"{label}[product]", 400)["id"]
    interval, count = recurring_params(required(data, "recurring", f"{label}[recurring]"), f"{label}[recurring]")
    amount = integer(data, "unit_amount", label=f"{label}[unit_amount]", minimum=0)
    if amount is None:
        raise StripeError(f"Missing required param: {label}[unit_amount].", code="parameter_missing",
                          param=f"{label}[unit_amount]")
    return new_price(sb, product=product, currency=currency, unit_amount=amount, interval=interval,
                     interval_count=count, active=False, quiet=True)


def _check_price(price, sub) -> None:
    if not price["active"]:
        raise StripeError("The price specified is inactive. This field only accepts active prices.",
                          param="items[0][price]")
    if price["type"] != "recurring":
        raise StripeError("The price specified is set to `type=one_time` but this field only accepts "
                          "prices with `type=recurring`.", param="items[0][price]")
    if not supports(price, sub["currency"]):  # neither its own currency nor a currency option
        raise StripeError(f"The price specified uses currency `{price['currency']}`, but the subscription "
                          f"is in `{sub['currency']}`.", param="items[0][price]")


def _trial_end(params, now) -> int:
    if params["trial_end"] == "now":
        return now
    when = integer(params, "trial_end")
    if when <= now:
        raise StripeError("Invalid timestamp: must be an integer Unix timestamp in the future.",
                          param="trial_end")
    return when


def _apply_trial(sb, new, trial_end, behavior, now):
    """Start, move or end (`now`) a trial; returns what to invoice at once, if anything."""
    was_trialing = new["status"] == "trialing"
    if trial_end == now:
        if not was_trialing:
            return None
        new.update(status="active", trial_end=now, billing_cycle_anchor=now)
        for item in new["items"]["data"]:
            item.update(current_period_start=now, current_period_end=add_interval(now, item["price"]))
        return "cycle"
    if not was_trialing:
        if behavior != "none":
            prorations.credit_unused(sb, new, now)
        new.update(status="trialing", trial_start=now)
        for item in new["items"]["data"]:
            item["current_period_start"] = now
    new.update(trial_end=trial_end, billing_cycle_anchor=trial_end)
    for item in new["items"]["data"]:
        item["current_period_end"] = trial_end
    return "items" if not was_trialing and behavior == "always_invoice" else None

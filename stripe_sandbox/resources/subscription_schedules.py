"""Subscription schedules: a change that takes effect at a later period boundary.

https://docs.stripe.com/billing/subscriptions/subscription-schedules : a schedule made
`from_subscription` starts with one phase, the subscription's current one; updating its `phases`
(the current phase first, unchanged start) plans the next ones, each running until its `end_date`
or for `iterations` billing periods of its price. At a phase's start the subscription moves to
that phase's price; when the last phase ends, `end_behavior` `release` leaves the subscription
running on its own (the schedule is `released`), `cancel` cancels it. Releasing early
(POST .../release) keeps the subscription as it is now.

The sandbox supports what the service uses: `from_subscription`, `phases[n][items][0][price|quantity]`,
`phases[n][start_date|end_date|iterations|proration_behavior]`, `end_behavior`, `metadata`.
"""
import copy

from .. import prorations
from ..api import endpoint
from ..events import emit, save_updated
from ..ids import new_id
from ..listing import render
from ..periods import add_interval
from ..wire import StripeError, choice, fetch, integer, metadata, reject_unknown, required
from .catalog import get_price
from .subscriptions import ENDED, end_subscription, get_subscription

CREATE = {"from_subscription", "metadata", "expand"}
UPDATE = {"phases", "end_behavior", "metadata", "proration_behavior", "expand"}
PHASE = {"items", "start_date", "end_date", "iterations", "proration_behavior", "metadata"}
PHASE_ITEM = {"price", "quantity"}
END_BEHAVIORS = ("release", "cancel")


def get_schedule(sb, sched_id, param="id", status=404) -> dict:
    return fetch(sb, "subscription_schedule", sched_id, param, status, label="subscription_schedule")


@endpoint("/subscription_schedules", methods=["POST"])
def create(sb, params):
    reject_unknown(params, CREATE)
    sub_id = params.get("from_subscription")
    if not sub_id:
        raise StripeError("The sandbox creates schedules only from_subscription.", code="parameter_missing",
                          param="from_subscription")
    sub = get_subscription(sb, sub_id, "from_subscription", 400)
    if sub["status"] in ENDED:
        raise StripeError("You cannot create a subscription schedule from a canceled subscription.",
                          param="from_subscription")
    if sub["schedule"]:
        raise StripeError(f"You cannot migrate a subscription that is already attached to a schedule: "
                          f"`{sub['schedule']}`.", param="from_subscription")
    now = sb.now_for(sub["customer"])
    item = sub["items"]["data"][0]
    phase = _phase(item["price"], item["quantity"], item["current_period_start"], item["current_period_end"],
                   sub["currency"], "create_prorations")
    schedule = {
        "id": new_id("sub_sched_"), "object": "subscription_schedule", "application": None,
        "billing_mode": sub["billing_mode"], "canceled_at": None, "completed_at": None, "created": now,
        "current_phase": {"start_date": phase["start_date"], "end_date": phase["end_date"]},
        "customer": sub["customer"], "customer_account": None,
        "default_settings": {"billing_cycle_anchor": "automatic", "collection_method": "charge_automatically",
                             "default_payment_method": None, "description": None},
        "end_behavior": "release", "livemode": False, "metadata": metadata(params), "phases": [phase],
        "released_at": None, "released_subscription": None, "status": "active", "subscription": sub["id"],
        "test_clock": sub["test_clock"],
    }
    sb.store.put(schedule)
    emit(sb, "subscription_schedule.created", schedule, at=now)
    save_updated(sb, "customer.subscription.updated", sub, {**sub, "schedule": schedule["id"]}, now)
    return render(sb, schedule, params)


@endpoint("/subscription_schedules/<sched_id>")
def retrieve(sb, params, sched_id):
    return render(sb, get_schedule(sb, sched_id), params)


@endpoint("/subscription_schedules/<sched_id>", methods=["POST"])
def update(sb, params, sched_id):
    reject_unknown(params, UPDATE)
    old = get_schedule(sb, sched_id)
    if old["status"] not in ("active", "not_started"):
        raise StripeError(f"You cannot update a subscription schedule that is currently in the `{old['status']}` "
                          "status. It must be in `not_started` or `active` status.")
    new = copy.deepcopy(old)
    if "phases" in params:
        sub = get_subscription(sb, old["subscription"])
        new["phases"] = _phases(sb, params["phases"], old, sub)
        new["current_phase"] = {"start_date": new["phases"][0]["start_date"], "end_date": new["phases"][0]["end_date"]}
    new["end_behavior"] = choice(params, "end_behavior", END_BEHAVIORS, old["end_behavior"])
    new["metadata"] = metadata(params, current=old["metadata"])
    now = sb.now_for(old["customer"])
    return render(sb, save_updated(sb, "subscription_schedule.updated", old, new, now), params)


@endpoint("/subscription_schedules/<sched_id>/release", methods=["POST"])
def release_endpoint(sb, params, sched_id):
    reject_unknown(params, {"preserve_cancel_date", "expand"})
    schedule = get_schedule(sb, sched_id)
    if schedule["status"] not in ("active", "not_started"):
        raise StripeError(f"You cannot release a subscription schedule that is currently in the "
                          f"`{schedule['status']}` status. It must be in `not_started` or `active` status.")
    return render(sb, release(sb, schedule, sb.now_for(schedule["customer"])), params)


def release(sb, schedule: dict, at: int) -> dict:
    """Detach the subscription, which keeps running as it is (subscription_schedule.released)."""
    sub = sb.store.get(schedule["subscription"], "subscription")
    new = {**schedule, "status": "released", "released_at": at, "released_subscription": schedule["subscription"],
           "subscription": None, "current_phase": None}
    sb.store.put(new)
    emit(sb, "subscription_schedule.released", new, at=at)
    if sub is not None:
        save_updated(sb, "customer.subscription.updated", sub, {**sub, "schedule": None}, at)
    return new


def _phases(sb, value, old: dict, sub: dict) -> list[dict]:
    if not isinstance(value, list) or not value or not all(isinstance(p, dict) for p in value):
        raise StripeError("Invalid array", param="phases")
    current = old["phases"][0]
    phases, start = [], None
    for n, raw in enumerate(value):
        label = f"phases[{n}]"
        reject_unknown(raw, PHASE, label)
        price, quantity = _phase_item(sb, raw, label, sub)
        if n == 0:
            given = integer(raw, "start_date", current["start_date"], f"{label}[start_date]")
            if given != current["start_date"]:
                raise StripeError("You can not modify the start date of the current phase.",
                                  param=f"{label}[start_date]")
            start = given
        elif "start_date" in raw:
            raise StripeError("Only the first phase may have a start_date; the next ones start when the one "
                              "before them ends.", param=f"{label}[start_date]")
        assert start is not None
        end = _phase_end(raw, price, start, label, last=n == len(value) - 1)
        behavior = choice(raw, "proration_behavior", prorations.PRORATION_BEHAVIORS, "create_prorations",
                          label=f"{label}[proration_behavior]")
        phases.append(_phase(price, quantity, start, end, sub["currency"], behavior))
        start = end
    if phases[0]["end_date"] is not None and phases[0]["end_date"] <= sb.now_for(sub["customer"]):
        raise StripeError("The current phase must end in the future.", param="phases[0][end_date]")
    return phases


def _phase_item(sb, raw: dict, label: str, sub: dict) -> tuple[dict, int]:
    items = raw.get("items")
    if not isinstance(items, list) or len(items) != 1 or not isinstance(items[0], dict):
        raise StripeError("The sandbox supports exactly one item per phase: items[0][price].",
                          param=f"{label}[items]")
    reject_unknown(items[0], PHASE_ITEM, f"{label}[items][0]")
    price = get_price(sb, required(items[0], "price", f"{label}[items][0][price]"), f"{label}[items][0][price]", 400)
    if price["type"] != "recurring":
        raise StripeError("The price specified is set to `type=one_time` but this field only accepts prices with "
                          "`type=recurring`.", param=f"{label}[items][0][price]")
    if price["currency"] != sub["currency"] and sub["currency"] not in price.get("_currency_options", {}):
        raise StripeError(f"The price specified uses currency `{price['currency']}`, but the subscription is in "
                          f"`{sub['currency']}`.", param=f"{label}[items][0][price]")
    return price, integer(items[0], "quantity", 1, f"{label}[items][0][quantity]", minimum=1)


def _phase_end(raw: dict, price: dict, start: int, label: str, *, last: bool) -> int | None:
    if "end_date" in raw and "iterations" in raw:
        raise StripeError("You may only specify one of these parameters: end_date, iterations.",
                          code="parameters_exclusive", param=f"{label}[iterations]")
    if "end_date" in raw:
        end = integer(raw, "end_date", label=f"{label}[end_date]")
        if end <= start:
            raise StripeError("A phase's end_date must be after its start.", param=f"{label}[end_date]")
        return end
    if "iterations" in raw:
        return add_interval(start, price, price["recurring"]["interval_count"]
                            * integer(raw, "iterations", label=f"{label}[iterations]", minimum=1))
    if not last:
        raise StripeError("Every phase but the last needs an end_date or iterations.", param=f"{label}[end_date]")
    return None


def _phase(price: dict, quantity: int, start: int, end: int | None, currency: str, behavior: str) -> dict:
    return {"add_invoice_items": [], "application_fee_percent": None, "billing_cycle_anchor": None,
            "collection_method": None, "currency": currency, "default_payment_method": None,
            "description": None, "discounts": [], "end_date": end, "invoice_settings": None,
            "items": [{"discounts": [], "metadata": {}, "price": price["id"], "quantity": quantity,
                       "tax_rates": []}],
            "metadata": {}, "on_behalf_of": None, "proration_behavior": behavior, "start_date": start,
            "transfer_data": None, "trial_end": None}


def at_period_end(sb, sub: dict, at: int) -> dict:
    """Before a renewal at `at`: start the schedule's phase that begins then (the subscription moves
    to its price, nothing prorated: the old period is over), or end the schedule whose last phase
    ended (release, or cancel). Returns the subscription to renew (or the canceled one)."""
    schedule = sb.store.get(sub["schedule"], "subscription_schedule") if sub.get("schedule") else None
    if schedule is None or schedule["status"] != "active":
        return sub
    starting = next((p for p in schedule["phases"][1:] if p["start_date"] == at), None)
    if starting is not None:
        price = get_price(sb, starting["items"][0]["price"])
        new = copy.deepcopy(sub)
        new["items"]["data"][0].update(price=copy.deepcopy(price), quantity=starting["items"][0]["quantity"])
        sb.store.put({**schedule, "current_phase": {"start_date": starting["start_date"],
                                                    "end_date": starting["end_date"]}})
        return save_updated(sb, "customer.subscription.updated", sub, new, at)
    last_end = schedule["phases"][-1]["end_date"]
    if last_end is not None and last_end <= at:
        if schedule["end_behavior"] == "cancel":
            sb.store.put({**schedule, "status": "completed", "completed_at": at, "current_phase": None})
            return end_subscription(sb, sub, at)
        release(sb, schedule, at)
        return sb.store.get(sub["id"], "subscription")
    return sub

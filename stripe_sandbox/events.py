"""Events: the record of every change, shaped as Stripe sends them.

`emit` stores an event with a snapshot of the object and hands it to the
webhook dispatcher in the same transaction, so an event is never delivered
for a change that was rolled back.
"""
import copy

from flask import g, has_request_context

from .ids import new_id
from .listing import public

API_VERSION = "2026-10-28.endive"


def emit(sb, type_: str, obj: dict, previous: dict | None = None, at: int | None = None) -> dict:
    """Record a `type_` event for `obj` (a snapshot), optionally with previous_attributes."""
    data = {"object": copy.deepcopy(public(obj))}
    if previous is not None:
        data["previous_attributes"] = copy.deepcopy(previous)
    event = {
        "id": new_id("evt_"), "object": "event", "api_version": API_VERSION,
        "created": at if at is not None else sb.now_for(_customer_of(obj)), "data": data,
        "livemode": False, "pending_webhooks": 0, "request": _request_info(),
        "type": type_,
    }
    event["pending_webhooks"] = sb.webhooks.enqueue(event)
    sb.store.put(event)
    return event


def _customer_of(obj: dict) -> str | None:
    """The customer whose time stamps an event about `obj` (their test clock's, if any)."""
    if obj.get("object") == "customer":
        return obj["id"]
    customer = obj.get("customer")
    return customer if isinstance(customer, str) else None


def changed(old: dict, new: dict) -> dict:
    """previous_attributes: the old values of the top-level keys that changed."""
    return {k: old.get(k) for k in public(new) if old.get(k) != new.get(k)}


def save_updated(sb, type_: str, old: dict, new: dict, at: int | None = None) -> dict:
    """Store `new` and emit `type_` with what changed since `old`; no-op if nothing did."""
    sb.store.put(new)
    previous = changed(old, new)
    if previous:
        emit(sb, type_, new, previous, at)
    return new


def _request_info() -> dict:
    """The API request behind an event; automatic changes (clock, pages) have none."""
    if has_request_context() and "stripe_request" in g:
        return dict(g.stripe_request)
    return {"id": None, "idempotency_key": None}

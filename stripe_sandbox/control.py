"""Sandbox-only controls under /sandbox: clock, webhook switches and log, triggers.

`/sandbox/clock/advance` moves the global clock only (customers on a test
clock keep their clock's time); `/sandbox/test_clocks/advance` moves every
test clock by the same amount, as the CLI's `advance` does after the global
clock. Being a developer control, it is not held to the API's two-interval
limit on test clock advances.

Not part of Stripe's API and not authenticated: the sandbox is a local
development tool bound to 127.0.0.1.
"""
from flask import Blueprint, jsonify, request

from . import clock, due
from .config import as_bool
from .resources.charges import dispute, get_charge
from .resources.test_clocks import advance_to
from .state import sandbox
from .test_clocks import CLOCK
from .wire import StripeError

bp = Blueprint("sandbox_control", __name__, url_prefix="/sandbox")


def _params() -> dict:
    if request.is_json:
        return request.get_json(silent=True) or {}
    return request.values.to_dict()


def _seconds(params) -> int:
    seconds = _number(params, "days") * 86400 + _number(params, "seconds")
    if seconds < 0:
        raise StripeError("The sandbox clock only moves forward.", param="seconds")
    return int(seconds)


def _number(params, name) -> float:
    try:
        return float(params.get(name) or 0)
    except (TypeError, ValueError):
        raise StripeError(f"Invalid number: {name}", param=name) from None


@bp.errorhandler(StripeError)
def _error(error: StripeError):
    return jsonify(error.body()), error.status


@bp.get("/clock")
def get_clock():
    sb = sandbox()
    with sb.store.transaction():
        return jsonify(now=sb.now(), offset=clock.offset(sb.store))


@bp.post("/clock/advance")
def advance_clock():
    """Move sandbox time forward by `days` and/or `seconds`, then run what fell due."""
    seconds = _seconds(_params())
    sb = sandbox()
    with sb.store.transaction():
        clock.advance(sb.store, seconds)
        processed = due.process_due(sb)
        return jsonify(now=sb.now(), offset=clock.offset(sb.store), processed=processed)


@bp.post("/test_clocks/advance")
def advance_test_clocks():
    """Advance every live test clock by `days` and/or `seconds`, each running its customers'
    due tasks (https://docs.stripe.com/api/test_clocks/advance)."""
    seconds = _seconds(_params())
    sb = sandbox()
    with sb.store.transaction():
        moved = []
        for found in sb.store.all(CLOCK):
            if found.get("deleted") or not seconds:
                continue
            _shown, done = advance_to(sb, found, found["frozen_time"] + seconds)
            moved.append({"id": found["id"], "frozen_time": found["frozen_time"] + seconds,
                          "processed": done})
        return jsonify(test_clocks=moved)


@bp.route("/webhooks/config", methods=["GET", "POST"])
def webhook_config():
    """Read or set the delivery switches: duplicates, shuffle, paused."""
    sb = sandbox()
    with sb.store.transaction():
        if request.method == "POST":
            params = _params()
            sb.webhooks.set_switches(**{k: as_bool(v) for k, v in params.items()})
        return jsonify(**sb.webhooks.switches(), endpoints=[
            {"id": e["id"], "url": e["url"], "enabled_events": e["enabled_events"]}
            for e in sb.webhooks.endpoints()])


@bp.get("/webhooks/deliveries")
def deliveries():
    sb = sandbox()
    return jsonify(data=sb.webhooks.log(), pending=sb.webhooks.pending_count())


@bp.post("/events/<event_id>/resend")
def resend(event_id):
    sb = sandbox()
    with sb.store.transaction():
        event = sb.store.get(event_id, "event")
        if event is None:
            raise StripeError(f"No such event: '{event_id}'", status=404,
                              code="resource_missing", param="id")
        count = sb.webhooks.enqueue(event, _params().get("endpoint"))
    return jsonify(id=event_id, queued=count)


@bp.post("/charges/<charge_id>/dispute")
def dispute_charge(charge_id):
    sb = sandbox()
    with sb.store.transaction():
        charge = get_charge(sb, charge_id)
        return jsonify(dispute(sb, charge, _params().get("reason") or "fraudulent"))

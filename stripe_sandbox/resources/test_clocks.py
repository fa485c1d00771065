"""Test clocks: /v1/test_helpers/test_clocks (create, retrieve, list, delete, advance).

https://docs.stripe.com/api/test_clocks : the object is `{id, object:
"test_helpers.test_clock", created, deletes_after, frozen_time, livemode, name,
status, status_details}`; create takes `frozen_time` (required) and `name`
("The maximum length is 300 characters"); delete answers `{id, object,
deleted: true}`. Events: test_helpers.test_clock.created, .advancing, .ready
and .deleted.
https://docs.stripe.com/billing/testing/test-clocks/api-advanced-usage :
deleting a clock deletes the customers on it (their subscriptions are canceled
as for any deleted customer).
https://docs.stripe.com/api/test_clocks/advance : `frozen_time` "Must be after
the test clock's current frozen time. Cannot be more than two intervals in the
future from the shortest subscription in this test clock. If there are no
subscriptions in this test clock, it cannot be more than two years in the
future." Advancing answers the clock with status `advancing`; here the work is
done within the request, so the clock is already `ready` when next read.
Accepted parameters are a subset of the SDK's TestClockCreateParams /
TestClockAdvanceParams (`customer` on create is not supported).
"""
from .. import due
from ..api import endpoint
from ..events import emit
from ..ids import new_id
from ..listing import PAGING, page, render
from ..periods import add_interval
from ..test_clocks import CLOCK, live_clock
from ..wire import StripeError, integer, no_such, reject_unknown, required, string
from .customers import delete_customer
from .subscriptions import LIVE

DAY = 86400
DELETES_AFTER = 30 * DAY
CREATE = {"frozen_time", "name"}
ADVANCE = {"frozen_time"}
NAME_MAX = 300
_TWO_YEARS = {"recurring": {"interval": "year", "interval_count": 2}}


def get_clock(sb, clock_id, param: str = "id", status: int = 404) -> dict:
    found = live_clock(sb, clock_id)
    if found is None:
        raise no_such("test clock", clock_id, param, status)
    return found


def customers_on(sb, clock_id: str) -> list[dict]:
    return [c for c in sb.store.all("customer") if c.get("test_clock") == clock_id]


def new_clock(sb, frozen_time: int, name: str | None) -> dict:
    """Store a ready clock, deleted automatically `DELETES_AFTER` its creation; emits .created."""
    now = sb.now()
    found = {"id": new_id("clock_"), "object": CLOCK, "created": now,
             "deletes_after": now + DELETES_AFTER, "frozen_time": frozen_time, "livemode": False,
             "name": name, "status": "ready", "status_details": {}}
    sb.store.put(found)
    emit(sb, "test_helpers.test_clock.created", found)
    return found


def delete_clock(sb, found: dict) -> dict:
    """Delete the clock's customers (at the clock's time), then the clock; emits .deleted."""
    for customer in customers_on(sb, found["id"]):
        delete_customer(sb, customer, found["frozen_time"])
    stub = {"id": found["id"], "object": CLOCK, "deleted": True}
    sb.store.put({**stub, "created": found["created"]})
    emit(sb, "test_helpers.test_clock.deleted", found)
    return stub


def advance_limit(sb, found: dict) -> int:
    """Two intervals of the shortest live subscription on the clock, else two years."""
    frozen = found["frozen_time"]
    ends = [add_interval(frozen, item["price"], 2 * item["price"]["recurring"]["interval_count"])
            for customer in customers_on(sb, found["id"])
            for sub in sb.store.all("subscription", customer["id"]) if sub["status"] in LIVE
            for item in sub["items"]["data"]]
    return min(ends, default=add_interval(frozen, _TWO_YEARS))


def check_target(sb, found: dict, target: int) -> None:
    if target <= found["frozen_time"]:
        raise StripeError("The frozen_time must be after the test clock's current frozen_time "
                          f"({found['frozen_time']}).", param="frozen_time")
    limit = advance_limit(sb, found)
    if target > limit:
        raise StripeError("Cannot advance a test clock more than two intervals of the shortest "
                          "subscription on it (two years without subscriptions) at a time; the "
                          f"latest frozen_time allowed now is {limit}.", param="frozen_time")


def advance_to(sb, found: dict, target: int) -> tuple[dict, list[dict]]:
    """Emit .advancing, run every task of the clock's customers due by `target` (each at its
    own time), set frozen_time and `ready`, emit .ready. Returns the `advancing` snapshot that
    Stripe answers with, and the tasks run."""
    advancing = {**found, "status": "advancing",
                 "status_details": {"advancing": {"target_frozen_time": target}}}
    sb.store.put(advancing)
    emit(sb, "test_helpers.test_clock.advancing", advancing)
    done = due.process_due(sb, clock_id=found["id"], until=target)
    ready = {**sb.store.get(found["id"], CLOCK), "frozen_time": target, "status": "ready",
             "status_details": {}}
    sb.store.put(ready)
    emit(sb, "test_helpers.test_clock.ready", ready)
    return advancing, done


def _frozen_time(params) -> int:
    required(params, "frozen_time")
    return integer(params, "frozen_time")


@endpoint("/test_helpers/test_clocks", methods=["POST"])
def create(sb, params):
    reject_unknown(params, CREATE)
    frozen_time, name = _frozen_time(params), string(params, "name")
    if name is not None and len(name) > NAME_MAX:
        raise StripeError(f"Invalid string: name must be at most {NAME_MAX} characters.",
                          param="name", code="string_length_exceeds_maximum")
    return render(sb, new_clock(sb, frozen_time, name or None), params)


@endpoint("/test_helpers/test_clocks/<clock_id>")
def retrieve(sb, params, clock_id):
    reject_unknown(params, set())
    return render(sb, get_clock(sb, clock_id), params)


@endpoint("/test_helpers/test_clocks")
def list_(sb, params):
    reject_unknown(params, PAGING)
    found = [c for c in sb.store.all(CLOCK) if not c.get("deleted")]
    return render(sb, page(found, params, "/v1/test_helpers/test_clocks"), params)


@endpoint("/test_helpers/test_clocks/<clock_id>", methods=["DELETE"])
def delete(sb, params, clock_id):
    reject_unknown(params, set())
    return delete_clock(sb, get_clock(sb, clock_id))


@endpoint("/test_helpers/test_clocks/<clock_id>/advance", methods=["POST"])
def advance(sb, params, clock_id):
    reject_unknown(params, ADVANCE)
    found = get_clock(sb, clock_id)
    target = _frozen_time(params)
    check_target(sb, found, target)
    return render(sb, advance_to(sb, found, target)[0], params)

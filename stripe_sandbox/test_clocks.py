"""Whose time is it: a customer's test clock, or the sandbox's global clock.

https://docs.stripe.com/billing/testing/test-clocks : a customer created with
`test_clock` lives at that clock's `frozen_time`; what happens to them (their
subscriptions, invoices, charges, events) is stamped with it, and time moves
for them only when the clock is advanced
(https://docs.stripe.com/api/test_clocks/advance). Customers without a clock
follow the global clock in clock.py. The API resource is in
resources/test_clocks.py; this module stays free of it so `Sandbox.now_for`
can use it.
"""
from . import clock

CLOCK = "test_helpers.test_clock"


def clock_of_customer(customer: dict | None) -> str | None:
    """The clock a stored customer belongs to; a deleted customer keeps it privately
    (so its leftovers never fall due on the global clock)."""
    customer = customer or {}
    return customer.get("test_clock") or customer.get("_test_clock")


def clock_of(sb, customer_id) -> str | None:
    if not isinstance(customer_id, str):
        return None
    return clock_of_customer(sb.store.get(customer_id, "customer"))


def live_clock(sb, clock_id) -> dict | None:
    found = sb.store.get(clock_id, CLOCK) if isinstance(clock_id, str) else None
    return None if found is None or found.get("deleted") else found


def now_for(sb, customer_id) -> int:
    """The clock's frozen_time for a customer on a (live) test clock, else global time."""
    found = live_clock(sb, clock_of(sb, customer_id))
    return found["frozen_time"] if found else clock.now(sb.store)


def owners(sb) -> dict:
    """customer id -> test clock id (None: on the global clock), for every customer."""
    return {c["id"]: clock_of_customer(c) for c in sb.store.all("customer")}


def move(sb, clock_id: str, at: int) -> None:
    """Set a clock's frozen_time forward to `at` while it advances through due tasks."""
    found = sb.store.get(clock_id, CLOCK)
    if found is not None and at > found["frozen_time"]:
        sb.store.put({**found, "frozen_time": at})

"""Sandbox time: real time plus an offset kept in the store.

Objects and events are stamped with sandbox time, so advancing the clock makes
renewals fall due. Webhook signatures deliberately use real time instead
(see webhooks.py): the receiver checks them against its own wall clock.
"""
import time

_OFFSET_KEY = "clock_offset"


def offset(store) -> int:
    return int(store.get_value(_OFFSET_KEY, 0))


def now(store) -> int:
    """Current sandbox time as a unix timestamp."""
    return int(time.time()) + offset(store)


def advance(store, seconds: int) -> int:
    """Move sandbox time forward (never back) and return the new time."""
    if seconds < 0:
        raise ValueError("the sandbox clock only moves forward")
    store.set_value(_OFFSET_KEY, offset(store) + int(seconds))
    return now(store)

"""Stripe-looking identifiers.

Stripe ids are a type prefix plus a random base62 tail; code that stores them
(the service keeps them in `stripe_<thing>_id` columns) only relies on the
prefix and on uniqueness, so that is all this module promises.
"""
import secrets
import string

_ALPHABET = string.ascii_letters + string.digits

# Tail lengths copied from Stripe's own samples so ids fit the same columns.
_TAIL = {"cs_test_": 58, "whsec_": 32, "req_": 14, "cus_": 14, "evt_": 24}


def new_id(prefix: str) -> str:
    """Return a fresh id such as ``cus_Qx81...`` for the given prefix."""
    length = _TAIL.get(prefix, 24)
    return prefix + "".join(secrets.choice(_ALPHABET) for _ in range(length))

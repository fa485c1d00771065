"""Stripe's test card numbers and what the sandbox does with them.

https://docs.stripe.com/testing#cards : 4242... pays; 4000 0000 0000 0341
attaches to a customer but every charge on it is declined; 4000 0000 0000
0002 is declined outright.
"""
import hashlib

PAYS, FAILS_LATER, DECLINED = "pays", "fails_later", "declined"

TEST_CARDS = {
    "4242424242424242": ("visa", PAYS),
    "5555555555554444": ("mastercard", PAYS),
    "4000000000000341": ("visa", FAILS_LATER),
    "4000000000000002": ("visa", DECLINED),
}


def normalize(number: str | None) -> str:
    """Digits only: people type spaces and dashes."""
    return "".join(ch for ch in (number or "") if ch.isdigit())


def lookup(number: str | None):
    """(brand, behaviour) for a test card, or None for any other number."""
    return TEST_CARDS.get(normalize(number))


def fingerprint(number: str) -> str:
    return hashlib.sha256(normalize(number).encode()).hexdigest()[:16]

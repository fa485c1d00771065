"""Stripe's test card numbers and bank accounts, and what the sandbox does with them.

https://docs.stripe.com/testing#cards : 4242... pays; 4000 0000 0000 0341
attaches to a customer but every charge on it is declined; 4000 0000 0000
0002 is declined outright.
https://docs.stripe.com/testing#regulatory-cards : 4000 0025 0000 3155
"requires authentication for off-session payments unless you set it up for
future payments. After you set it up, off-session payments no longer require
authentication. However, on-session payments with this card always require
authentication"; 4000 0027 6000 3184 "requires authentication on all
transactions, regardless of how the card is set up".
https://docs.stripe.com/payments/ach-direct-debit/accept-a-payment#test-account-numbers :
with routing number 110000000, account 000123456789 pays; 000111111113 (closed),
000111111116 (no account) and 000222222227 (insufficient funds) fail.
"""
import hashlib

PAYS, FAILS_LATER, DECLINED = "pays", "fails_later", "declined"
AUTH_UNLESS_SET_UP, AUTH_ALWAYS = "auth_unless_set_up", "auth_always"

TEST_CARDS = {
    "4242424242424242": ("visa", PAYS),
    "5555555555554444": ("mastercard", PAYS),
    "4000000000000341": ("visa", FAILS_LATER),
    "4000000000000002": ("visa", DECLINED),
    "4000002500003155": ("visa", AUTH_UNLESS_SET_UP),
    "4000002760003184": ("visa", AUTH_ALWAYS),
}
ROUTING_NUMBER = "110000000"
# Account number -> failure code when the debit settles (None: it pays).
TEST_BANK_ACCOUNTS = {
    "000123456789": None,
    "000111111113": "account_closed",
    "000111111116": "no_account",
    "000222222227": "insufficient_funds",
}


def normalize(number: str | None) -> str:
    """Digits only: people type spaces and dashes."""
    return "".join(ch for ch in (number or "") if ch.isdigit())


def lookup(number: str | None):
    """(brand, behaviour) for a test card, or None for any other number."""
    return TEST_CARDS.get(normalize(number))


def bank_account(number: str | None):
    """(account number, failure code or None) for a test account, or None for any other number."""
    digits = normalize(number)
    return (digits, TEST_BANK_ACCOUNTS[digits]) if digits in TEST_BANK_ACCOUNTS else None


def needs_authentication(pm: dict, off_session: bool) -> bool:
    """Whether a payment with this payment method asks the cardholder to authenticate."""
    auth = pm.get("_auth")
    if auth == AUTH_ALWAYS:
        return True
    return auth == AUTH_UNLESS_SET_UP and not (off_session and pm.get("_set_up"))


def fingerprint(number: str) -> str:
    return hashlib.sha256(normalize(number).encode()).hexdigest()[:16]

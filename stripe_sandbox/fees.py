"""Balance transactions: what a charge adds to the (USD) sandbox account after fees.

https://docs.stripe.com/api/balance_transactions/object : `amount` and `fee` are
in the account's settlement currency; `exchange_rate` is null unless the
charge's currency was converted ("the amount in currency A, times
exchange_rate, would be the amount in currency B").
Fees follow Stripe's published US list prices (https://stripe.com/pricing):
cards 2.9% + 30 cents; ACH Direct Debit 0.8% capped at $5. The exchange rates
below are the sandbox's own fixed rates, not Stripe's.
A refund takes money back out: a `refund` balance transaction with a negative
amount, "converted back to the presentment currency at the current exchange rate"
(https://docs.stripe.com/currencies/disputes-refunds; here the same fixed rate),
and no fee (Stripe keeps the original processing fee, so nothing is returned).
"""
from .ids import new_id

SETTLEMENT_CURRENCY = "usd"
DAY = 86400
# Sandbox-only fixed rates to USD (Stripe uses the market rate of the day).
RATES_TO_USD = {"eur": 1.08, "gbp": 1.27, "chf": 1.13, "cad": 0.73, "aud": 0.66}


def rate(currency: str) -> float | None:
    """The rate to the settlement currency, None when no conversion happens."""
    currency = currency.lower()
    return None if currency == SETTLEMENT_CURRENCY else RATES_TO_USD.get(currency, 1.0)


def fee_for(amount: int, method: str) -> int:
    if method == "us_bank_account":
        return min(round(amount * 0.008), 500)
    return round(amount * 0.029) + 30


def new_balance_transaction(sb, charge: dict, at: int) -> dict:
    """Store the balance transaction for a successful charge and return it."""
    exchange = rate(charge["currency"])
    amount = charge["amount"] if exchange is None else round(charge["amount"] * exchange)
    fee = fee_for(amount, charge["payment_method_details"]["type"])
    txn = {
        "id": new_id("txn_"), "object": "balance_transaction", "amount": amount,
        "available_on": at + 2 * DAY, "balance_type": "payments", "created": at,
        "currency": SETTLEMENT_CURRENCY, "description": charge["description"],
        "exchange_rate": exchange, "fee": fee,
        "fee_details": [{"amount": fee, "application": None, "currency": SETTLEMENT_CURRENCY,
                         "description": "Stripe processing fees", "type": "stripe_fee"}],
        "net": amount - fee, "reporting_category": "charge", "source": charge["id"],
        "status": "pending", "type": "charge",
    }
    return sb.store.put(txn)


def refund_balance_transaction(sb, refund: dict, at: int) -> dict:
    """Store the balance transaction for a refund (of a charge in `refund["currency"]`)."""
    exchange = rate(refund["currency"])
    amount = -(refund["amount"] if exchange is None else round(refund["amount"] * exchange))
    txn = {
        "id": new_id("txn_"), "object": "balance_transaction", "amount": amount,
        "available_on": at, "balance_type": "payments", "created": at,
        "currency": SETTLEMENT_CURRENCY, "description": None, "exchange_rate": exchange, "fee": 0,
        "fee_details": [], "net": amount, "reporting_category": "refund", "source": refund["id"],
        "status": "available", "type": "refund",
    }
    return sb.store.put(txn)

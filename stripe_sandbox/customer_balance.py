"""A customer's invoice balance: a ledger of customer balance transactions, per currency.

https://docs.stripe.com/api/customer_balance_transactions : a transaction "increments or
decrements the customer's `balance` by the specified `amount`"; a negative amount is a credit.
https://docs.stripe.com/api/customers/object : `balance` is "stored on the customer in their
default currency" (`currency`); "For multi-currency balances, see invoice_credit_balance", which
is includable and signed the other way ("If positive in a currency, the customer has a credit").
https://docs.stripe.com/api/customer_balance_transactions/create : `currency` "Specifies the
invoice_credit_balance that this transaction will apply to. If the customer's `currency` is not
set, it will be updated to this value" (and https://support.stripe.com/questions/setting-a-customers-default-currency :
"You can also adjust the customer balance in any currency, not just the customer's default currency").
https://docs.stripe.com/invoicing/multi-currency-customers : an invoice applies only the balance
in its own currency ("A CAD invoice doesn't apply a customer credit balance denominated in USD").
No event type exists for a customer balance transaction (the SDK's webhook event list); a change
of the customer's `balance` is a customer.updated.

The sandbox keeps every currency's balance privately on the customer (`_balances`, signed as
`balance`); `balance` shows the one in `currency`.
"""
from .events import save_updated
from .ids import new_id


def balances(customer: dict) -> dict[str, int]:
    """{currency: balance}; customers stored before `_balances` existed hold theirs in `balance`."""
    stored = customer.get("_balances")
    if stored is not None:
        return dict(stored)
    return {customer["currency"]: customer["balance"]} if customer["currency"] and customer["balance"] else {}


def balance_in(customer: dict, currency: str) -> int:
    return balances(customer).get(currency, 0)


def with_currency(customer: dict, currency: str) -> dict:
    """The customer billed in `currency` from now on: `balance` shows that currency's balance."""
    held = balances(customer)
    return {**customer, "currency": currency, "balance": held.get(currency, 0), "_balances": held}


def record(sb, customer: dict, *, amount: int, currency: str, type_: str, at: int, invoice: str | None = None,
           description: str | None = None, meta: dict | None = None) -> tuple[dict, dict]:
    """Store a customer balance transaction of `amount` in `currency` and move the balance;
    emits customer.updated when the customer's `balance` (or `currency`) changes.
    Returns (transaction, customer)."""
    held = balances(customer)
    held[currency] = held.get(currency, 0) + amount
    new = {**customer, "_balances": held, "currency": customer["currency"] or currency}
    new["balance"] = held.get(new["currency"], 0)
    txn = {
        "id": new_id("cbtxn_"), "object": "customer_balance_transaction", "amount": amount,
        "checkout_session": None, "created": at, "credit_note": None, "currency": currency,
        "customer": customer["id"], "customer_account": None, "description": description,
        "ending_balance": held[currency], "invoice": invoice, "livemode": False,
        "metadata": meta or {}, "type": type_,
    }
    sb.store.put(txn)
    return txn, save_updated(sb, "customer.updated", customer, new, at)


def credit_balance(customer: dict) -> dict[str, int]:
    """`invoice_credit_balance`: each currency's balance, positive for a credit."""
    return {currency: -amount for currency, amount in sorted(balances(customer).items())}

"""Customer balance transactions: POST/GET /v1/customers/:id/balance_transactions[/:txn].

https://docs.stripe.com/api/customer_balance_transactions : create (`amount`, `currency`,
`description`, `metadata`; a negative amount is a credit, type `adjustment`), retrieve,
update (`description`, `metadata` only) and list (`created`, `invoice`). The balance itself
moves in customer_balance.py; a customer's `invoice_credit_balance` is shown when expanded.
"""
from ..api import endpoint
from ..currencies import currency_code
from ..customer_balance import credit_balance, record
from ..listing import PAGING, created_filter, includable, page, render
from ..wire import StripeError, fetch, integer, metadata, no_such, reject_unknown, required, string
from .customers import get_customer

CREATE = {"amount", "currency", "description", "metadata"}
UPDATE = {"description", "metadata"}
LABEL = "customer balance transaction"


@includable("customer", "invoice_credit_balance")
def _invoice_credit_balance(sb, node) -> dict:
    return credit_balance(sb.store.get(node["id"], "customer") or node)


def _url(customer_id: str) -> str:
    return f"/v1/customers/{customer_id}/balance_transactions"


def _get(sb, customer_id: str, txn_id: str) -> dict:
    get_customer(sb, customer_id)
    txn = fetch(sb, "customer_balance_transaction", txn_id, label=LABEL)
    if txn["customer"] != customer_id:
        raise no_such(LABEL, txn_id)
    return txn


@endpoint("/customers/<customer_id>/balance_transactions", methods=["POST"])
def create(sb, params, customer_id):
    reject_unknown(params, CREATE)
    customer = get_customer(sb, customer_id)
    amount = integer(params, "amount")
    if amount is None:
        raise StripeError("Missing required param: amount.", code="parameter_missing", param="amount")
    currency = currency_code(required(params, "currency"), "currency")
    txn, _ = record(sb, customer, amount=amount, currency=currency, type_="adjustment",
                    at=sb.now_for(customer_id), description=string(params, "description") or None,
                    meta=metadata(params))
    return render(sb, txn, params)


@endpoint("/customers/<customer_id>/balance_transactions/<txn_id>")
def retrieve(sb, params, customer_id, txn_id):
    reject_unknown(params, set())
    return render(sb, _get(sb, customer_id, txn_id), params)


@endpoint("/customers/<customer_id>/balance_transactions/<txn_id>", methods=["POST"])
def update(sb, params, customer_id, txn_id):
    reject_unknown(params, UPDATE)
    txn = _get(sb, customer_id, txn_id)
    new = {**txn, "metadata": metadata(params, current=txn["metadata"])}
    if "description" in params:
        new["description"] = string(params, "description") or None
    return render(sb, sb.store.put(new), params)


@endpoint("/customers/<customer_id>/balance_transactions")
def list_(sb, params, customer_id):
    reject_unknown(params, PAGING | {"created", "invoice"})
    get_customer(sb, customer_id)
    invoice, in_range = string(params, "invoice"), created_filter(params)
    found = [t for t in sb.store.all("customer_balance_transaction", customer_id)
             if (invoice is None or t["invoice"] == invoice) and in_range(t["created"])]
    return render(sb, page(found, params, _url(customer_id)), params)

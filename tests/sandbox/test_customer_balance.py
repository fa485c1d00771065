"""Customer balance credits: the balance transaction endpoints, and the balance applied when the
next invoice is finalized (how a gift membership is credited to a paying member).

Stripe sources:
- https://docs.stripe.com/api/customer_balance_transactions : create (`amount`, `currency`,
  `description`, `metadata`), retrieve, update (`description`, `metadata`), list; a transaction
  "increments or decrements the customer's `balance` by the specified `amount`"; "A negative value
  is a credit for the customer's balance"; `ending_balance` is "The customer's `balance` after the
  transaction was applied"; `type` is `adjustment` for one made through the API and
  `applied_to_invoice` when a balance is applied to an invoice
  (https://docs.stripe.com/billing/customer/balance#types). The object's properties are
  stripe.CustomerBalanceTransaction's; the parameters those of
  stripe.params.CustomerBalanceTransaction{Create,Update,List}Params.
- https://docs.stripe.com/api/customer_balance_transactions/create : `currency` "Specifies the
  invoice_credit_balance that this transaction will apply to. If the customer's `currency` is not
  set, it will be updated to this value"; https://support.stripe.com/questions/setting-a-customers-default-currency :
  "You can also adjust the customer balance in any currency, not just the customer's default currency."
- https://docs.stripe.com/api/customers/object : `balance` is "stored on the customer in their
  default currency"; `invoice_credit_balance` holds "multi-currency balances" and "If positive in a
  currency, the customer has a credit"; "Stripe only applies a balance in a specific currency to
  an invoice after that invoice (which is in the same currency) finalizes"; and
  https://docs.stripe.com/invoicing/multi-currency-customers : "A CAD invoice doesn't apply a
  customer credit balance denominated in USD".
- https://docs.stripe.com/billing/customer/balance : "The invoice balance automatically applies
  toward the next invoice finalized to a customer"; https://docs.stripe.com/api/invoices/object :
  `starting_balance`, `ending_balance`, `amount_due`.
- https://docs.stripe.com/invoicing/integration/workflow-transitions : a paid invoice emits
  invoice.paid. The SDK's event types (stripe.params.WebhookEndpointCreateParams) have no event for
  a customer balance transaction; a change of `balance` is a customer.updated
  (https://docs.stripe.com/api/events/types#event_types-customer.updated).
- https://docs.stripe.com/api/idempotent_requests : a retried POST with the same key replays the
  first result.
"""
import typing

import pytest
import requests
import stripe
from stripe.params import (
    CustomerBalanceTransactionCreateParams,
    CustomerBalanceTransactionListParams,
    CustomerBalanceTransactionUpdateParams,
)

from stripe_sandbox.resources import customer_balance

from .helpers import HOUR, events, period


def _credit(client, customer_id, amount=-500, currency="usd", **extra):
    return client.v1.customers.balance_transactions.create(customer_id, params={
        "amount": amount, "currency": currency} | extra)


def _to_renewal_charge(sandbox, sub):
    sandbox.advance(seconds=period(sub)[1] - sandbox.now() + HOUR + 60)


def _latest_invoice(client, sub):
    return client.v1.invoices.retrieve(client.v1.subscriptions.retrieve(sub.id).latest_invoice)


def test_a_credit_moves_the_balance_and_can_be_read_back(client):
    customer = client.v1.customers.create(params={"email": "m@example.org"})
    txn = _credit(client, customer.id, description="Gift membership", metadata={"gift_id": "9"})
    assert (txn.object, txn.type, txn.amount, txn.currency, txn.ending_balance, txn.invoice) == (
        "customer_balance_transaction", "adjustment", -500, "usd", -500, None)
    assert (txn.customer, txn.description, txn.metadata.to_dict()) == (customer.id, "Gift membership", {"gift_id": "9"})
    found = client.v1.customers.retrieve(customer.id)
    assert (found.balance, found.currency) == (-500, "usd")
    updated = events(client, "customer.updated")[0]
    assert updated.data.previous_attributes.to_dict() == {"balance": 0, "currency": None}

    second = _credit(client, customer.id, amount=200)
    assert second.ending_balance == -300 and client.v1.customers.retrieve(customer.id).balance == -300
    listed = client.v1.customers.balance_transactions.list(customer.id)
    assert [t.id for t in listed.data] == [second.id, txn.id]
    assert client.v1.customers.balance_transactions.retrieve(customer.id, txn.id).amount == -500

    changed = client.v1.customers.balance_transactions.update(customer.id, txn.id, params={
        "description": "Gift membership (3 months)", "metadata": {"gift_id": ""}})
    assert (changed.description, changed.metadata.to_dict(), changed.amount) == ("Gift membership (3 months)", {}, -500)


def test_the_parameters_are_stripes_and_nothing_else(client):
    customer = client.v1.customers.create(params={"email": "m@example.org"})
    txn = _credit(client, customer.id)
    with pytest.raises(stripe.InvalidRequestError) as excinfo:
        client.v1.customers.balance_transactions.update(customer.id, txn.id, params={"amount": 100})
    assert (excinfo.value.code, excinfo.value.param) == ("parameter_unknown", "amount")
    with pytest.raises(stripe.InvalidRequestError) as excinfo:
        client.v1.customers.balance_transactions.create(customer.id, params={"amount": -100})
    assert (excinfo.value.code, excinfo.value.param) == ("parameter_missing", "currency")
    other = client.v1.customers.create(params={"email": "o@example.org"})
    with pytest.raises(stripe.InvalidRequestError) as excinfo:
        client.v1.customers.balance_transactions.retrieve(other.id, txn.id)
    assert excinfo.value.http_status == 404 and excinfo.value.code == "resource_missing"
    client.v1.customers.delete(customer.id)
    with pytest.raises(stripe.InvalidRequestError) as excinfo:
        _credit(client, customer.id)
    assert excinfo.value.http_status == 404


@pytest.mark.parametrize("accepted, params", [
    (customer_balance.CREATE, CustomerBalanceTransactionCreateParams),
    (customer_balance.UPDATE, CustomerBalanceTransactionUpdateParams),
    ({"created", "invoice", "limit", "starting_after", "ending_before", "expand"}, CustomerBalanceTransactionListParams),
])
def test_accepted_parameters_are_the_sdks(accepted, params):
    assert set(accepted) - set(params.__annotations__) == set()


def test_the_object_has_stripes_shape(client):
    customer = client.v1.customers.create(params={"email": "m@example.org"})
    txn = _credit(client, customer.id).to_dict()
    hints = {k: v for k, v in stripe.CustomerBalanceTransaction.__annotations__.items() if k != "OBJECT_NAME"}
    required = {k for k, v in hints.items() if type(None) not in typing.get_args(v)}
    assert set(txn) <= set(hints) and required <= set(txn)


def test_a_retried_credit_with_the_same_key_is_applied_once(client, sandbox):
    customer = client.v1.customers.create(params={"email": "m@example.org"})
    headers = {"Authorization": "Bearer sk_test_sandbox", "Idempotency-Key": "gift-9-credit"}
    url = f"{sandbox.url}/v1/customers/{customer.id}/balance_transactions"
    first = requests.post(url, data={"amount": "-1500", "currency": "usd"}, headers=headers)
    again = requests.post(url, data={"amount": "-1500", "currency": "usd"}, headers=headers)
    assert again.headers["Idempotent-Replayed"] == "true" and again.json()["id"] == first.json()["id"]
    assert client.v1.customers.retrieve(customer.id).balance == -1500


def test_another_currency_is_kept_apart(client, member):
    customer = member["customer"].id
    _credit(client, customer, amount=-300, currency="eur")
    found = client.v1.customers.retrieve(customer, params={"expand": ["invoice_credit_balance"]})
    assert (found.currency, found.balance) == ("usd", 0)
    assert found.invoice_credit_balance.to_dict() == {"eur": 300}
    assert "invoice_credit_balance" not in client.v1.customers.retrieve(customer).to_dict()


def test_a_credit_pays_the_next_renewals_without_a_charge(client, sandbox, member):
    customer, sub = member["customer"].id, member["subscription"]
    txn = _credit(client, customer, amount=-800)
    charges_before = len(client.v1.charges.list(params={"customer": customer}).data)
    _to_renewal_charge(sandbox, sub)

    invoice = _latest_invoice(client, sub)
    assert (invoice.status, invoice.total, invoice.amount_due, invoice.amount_paid) == ("paid", 500, 0, 0)
    assert (invoice.starting_balance, invoice.ending_balance) == (-800, -300)
    assert len(client.v1.charges.list(params={"customer": customer}).data) == charges_before
    assert invoice.id in [e.data.object.id for e in events(client, "invoice.paid")]
    applied = client.v1.customers.balance_transactions.list(customer).data[0]
    assert (applied.type, applied.invoice, applied.amount, applied.ending_balance) == (
        "applied_to_invoice", invoice.id, 500, -300)
    assert [t.id for t in client.v1.customers.balance_transactions.list(
        customer, params={"invoice": invoice.id}).data] == [applied.id]
    assert client.v1.customers.retrieve(customer).balance == -300
    assert txn.id in [t.id for t in client.v1.customers.balance_transactions.list(customer).data]

    _to_renewal_charge(sandbox, client.v1.subscriptions.retrieve(sub.id))
    partly = _latest_invoice(client, sub)
    assert (partly.status, partly.starting_balance, partly.ending_balance, partly.amount_due, partly.amount_paid) == (
        "paid", -300, 0, 200, 200)
    charge = client.v1.charges.list(params={"customer": customer}).data[0]
    assert charge.amount == 200 and client.v1.customers.retrieve(customer).balance == 0


def test_a_credit_in_another_currency_is_not_applied(client, sandbox, member):
    customer, sub = member["customer"].id, member["subscription"]
    _credit(client, customer, amount=-800, currency="eur")
    _to_renewal_charge(sandbox, sub)
    invoice = _latest_invoice(client, sub)
    assert (invoice.currency, invoice.starting_balance, invoice.amount_paid) == ("usd", 0, 500)
    found = client.v1.customers.retrieve(customer, params={"expand": ["invoice_credit_balance"]})
    assert found.invoice_credit_balance.to_dict() == {"eur": 800}

"""One-time payments: Checkout `mode=payment`, its PaymentIntent, Charge and balance transaction.

Stripe sources:
- https://docs.stripe.com/api/checkout/sessions/create : `line_items[][price_data]`
  (`currency`, `unit_amount`, `product_data[name]`) or a one-time `price`;
  `payment_intent_data[metadata]` goes on the PaymentIntent; `payment_intent` on the session is
  "The ID of the PaymentIntent for Checkout Sessions in payment mode".
- https://docs.stripe.com/checkout/fulfillment : checkout.session.completed with
  `payment_status` `paid`.
- https://docs.stripe.com/api/balance_transactions/object : `amount`, `fee`, `net`
  (amount - fee), `currency` of the account, `exchange_rate` null unless converted;
  `source` is the charge. Fees: Stripe's US list price for cards, 2.9% + 30 cents
  (https://stripe.com/pricing); the sandbox's exchange rates are its own fixed ones.
- https://docs.stripe.com/api/checkout/sessions/object (`customer_creation`): in payment mode
  no customer is created unless asked (`if_required`).
"""
import pytest
import stripe

from .harness import pay
from .helpers import deliver

SUCCESS = "http://svc.test/give/success?session_id={CHECKOUT_SESSION_ID}"


def _gift(client, amount=2500, currency="usd", **extra):
    return client.v1.checkout.sessions.create(params={
        "mode": "payment", "success_url": SUCCESS, "metadata": {"member_id": "5"},
        "payment_intent_data": {"metadata": {"gift": "spring"}},
        "line_items": [{"quantity": 1, "price_data": {"currency": currency, "unit_amount": amount,
                                                      "product_data": {"name": "One-time gift"}}}]} | extra)


def test_a_one_time_payment(client, sandbox, receiver):
    customer = client.v1.customers.create(params={"email": "giver@example.org"})
    made = _gift(client, customer=customer.id)
    assert (made.mode, made.payment_intent, made.amount_total) == ("payment", None, 2500)
    page = sandbox.http.get(made.url)
    assert "One-time gift" in page.text and "$25.00" in page.text
    deliver(sandbox)
    receiver.received.clear()
    assert pay(sandbox, made.url).status_code == 303

    done = client.v1.checkout.sessions.retrieve(made.id)
    assert (done.status, done.payment_status, done.subscription, done.invoice) == ("complete", "paid", None, None)
    assert done.metadata.to_dict() == {"member_id": "5"} and done.customer == customer.id
    intent = client.v1.payment_intents.retrieve(done.payment_intent)
    assert (intent.status, intent.amount, intent.currency) == ("succeeded", 2500, "usd")
    assert intent.metadata.to_dict() == {"gift": "spring"}
    charge = client.v1.charges.retrieve(intent.latest_charge)
    assert charge.paid and charge.payment_intent == intent.id
    txn = client.v1.balance_transactions.retrieve(charge.balance_transaction)
    assert (txn.object, txn.amount, txn.currency, txn.exchange_rate) == ("balance_transaction", 2500, "usd", None)
    assert txn.fee == round(2500 * 0.029) + 30 and txn.net == txn.amount - txn.fee
    assert (txn.type, txn.source) == ("charge", charge.id)
    expanded = client.v1.charges.retrieve(charge.id, params={"expand": ["balance_transaction"]})
    assert expanded.balance_transaction.fee == txn.fee

    deliver(sandbox)
    types = [stripe.Webhook.construct_event(r["body"], r["headers"]["Stripe-Signature"],
                                            "whsec_test_sandbox_secret").type for r in receiver.received]
    assert types == ["charge.succeeded", "payment_intent.succeeded", "checkout.session.completed"]


def test_a_guest_payment_creates_no_customer(client, sandbox):
    made = _gift(client)
    pay(sandbox, made.url, email="guest@example.org")
    done = client.v1.checkout.sessions.retrieve(made.id)
    assert done.customer is None and done.customer_details.email == "guest@example.org"
    assert client.v1.customers.list().data == []


def test_a_foreign_currency_is_converted_in_the_balance_transaction(client, sandbox):
    made = _gift(client, amount=2000, currency="eur", customer_creation="always")
    pay(sandbox, made.url)
    charge = client.v1.charges.list().data[0]
    txn = client.v1.balance_transactions.retrieve(charge.balance_transaction)
    assert (charge.currency, txn.currency) == ("eur", "usd")
    assert isinstance(txn.exchange_rate, float) and txn.amount == round(2000 * txn.exchange_rate)
    assert client.v1.checkout.sessions.retrieve(made.id).customer.startswith("cus_")


def test_prices_must_suit_the_mode(client, plan):
    once = client.v1.prices.create(params={"currency": "usd", "unit_amount": 1000,
                                           "product_data": {"name": "Gift"}})
    made = client.v1.checkout.sessions.create(params={"mode": "payment", "success_url": SUCCESS,
                                                      "line_items": [{"price": once.id}]})
    assert made.amount_total == 1000
    for mode, price in (("payment", plan), ("subscription", once)):
        with pytest.raises(stripe.InvalidRequestError) as excinfo:
            client.v1.checkout.sessions.create(params={"mode": mode, "success_url": SUCCESS,
                                                       "line_items": [{"price": price.id}]})
        assert excinfo.value.param == "line_items[0][price]"
    with pytest.raises(stripe.InvalidRequestError) as excinfo:
        client.v1.checkout.sessions.create(params={"mode": "subscription", "success_url": SUCCESS,
                                                   "line_items": [{"price": plan.id}],
                                                   "payment_intent_data": {"metadata": {"a": "b"}}})
    assert excinfo.value.param == "payment_intent_data"

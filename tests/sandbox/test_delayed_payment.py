"""A payment method that settles later (a US bank debit) on the hosted Checkout page.

Stripe sources:
- https://docs.stripe.com/payments/checkout/fulfill-orders#delayed-notification :
  checkout.session.completed arrives with `payment_status` `unpaid`; then
  checkout.session.async_payment_succeeded ("Occurs when a payment intent using a delayed
  payment method finally succeeds") or checkout.session.async_payment_failed.
- https://docs.stripe.com/payments/ach-direct-debit/accept-a-payment#test-account-numbers :
  routing 110000000; 000123456789 succeeds, 000222222227 fails (insufficient funds).
- https://docs.stripe.com/billing/subscriptions/overview#subscription-statuses : a
  subscription whose first payment is pending stays `incomplete` (PaymentIntent `processing`).
The sandbox settles two days of sandbox time after the payment (real ACH: about four business
days); that a failed first debit makes the subscription `incomplete_expired` is the sandbox's
choice, so only "not active" is asserted here.
"""
import pytest

from .helpers import events, session

SUCCESS = "http://svc.test/give/success?session_id={CHECKOUT_SESSION_ID}"


def _pay_by_bank(sandbox, made, account):
    response = sandbox.http.post(made.url, data={"payment_method": "us_bank_account", "email": "b@example.org",
                                                 "account_number": account}, allow_redirects=False)
    assert response.status_code == 303, response.text
    return response


def _gift(client):
    return client.v1.checkout.sessions.create(params={
        "mode": "payment", "success_url": SUCCESS, "customer_creation": "always",
        "line_items": [{"price_data": {"currency": "usd", "unit_amount": 5000,
                                       "product_data": {"name": "Gift"}}, "quantity": 1}]})


@pytest.mark.parametrize("account, outcome", [("000123456789", "succeeded"), ("000222222227", "failed")])
def test_a_one_time_bank_payment_settles_later(client, sandbox, account, outcome):
    made = _gift(client)
    assert "Pay by bank transfer (settles later)" in sandbox.http.get(made.url).text
    _pay_by_bank(sandbox, made, account)
    done = client.v1.checkout.sessions.retrieve(made.id)
    assert (done.status, done.payment_status) == ("complete", "unpaid")
    assert events(client, "checkout.session.completed")[0].data.object.payment_status == "unpaid"
    intent = client.v1.payment_intents.retrieve(done.payment_intent)
    assert intent.status == "processing" and intent.payment_method_types == ["us_bank_account"]

    sandbox.advance(days=1)
    assert client.v1.checkout.sessions.retrieve(made.id).payment_status == "unpaid"
    sandbox.advance(days=1, seconds=60)
    settled = client.v1.checkout.sessions.retrieve(made.id)
    intent = client.v1.payment_intents.retrieve(done.payment_intent)
    async_events = events(client, f"checkout.session.async_payment_{outcome}")
    assert [e.data.object.id for e in async_events] == [made.id]
    if outcome == "succeeded":
        assert (settled.payment_status, intent.status) == ("paid", "succeeded")
        txn = client.v1.balance_transactions.retrieve(client.v1.charges.retrieve(intent.latest_charge).balance_transaction)
        assert txn.fee == min(round(5000 * 0.008), 500)
    else:
        assert (settled.payment_status, intent.status) == ("unpaid", "requires_payment_method")
        assert intent.last_payment_error.code == "insufficient_funds"


@pytest.mark.parametrize("account, active", [("000123456789", True), ("000222222227", False)])
def test_a_subscription_stays_incomplete_until_the_debit_settles(client, sandbox, plan, account, active):
    made = session(client, plan)
    _pay_by_bank(sandbox, made, account)
    done = client.v1.checkout.sessions.retrieve(made.id, params={"expand": ["subscription"]})
    assert (done.payment_status, done.subscription.status) == ("unpaid", "incomplete")
    invoice = client.v1.invoices.retrieve(done.subscription.latest_invoice)
    assert invoice.status == "open"

    sandbox.advance(days=2, seconds=60)
    sub = client.v1.subscriptions.retrieve(done.subscription.id)
    if active:
        assert sub.status == "active"
        assert client.v1.invoices.retrieve(invoice.id).status == "paid"
        assert events(client, "customer.subscription.updated")[0].data.previous_attributes.status == "incomplete"
        assert len(events(client, "checkout.session.async_payment_succeeded")) == 1
    else:
        assert sub.status != "active"
        assert len(events(client, "checkout.session.async_payment_failed")) == 1
        assert events(client, "invoice.payment_failed")
    sandbox.advance(days=3 * 31)
    assert len(client.v1.invoices.list(params={"subscription": sub.id}).data) == (4 if active else 1)


def test_unknown_bank_account_is_refused(client, sandbox):
    made = _gift(client)
    response = sandbox.http.post(made.url, data={"payment_method": "us_bank_account", "account_number": "123"})
    assert response.status_code == 400 and "000123456789" in response.text
    assert client.v1.checkout.sessions.retrieve(made.id).status == "open"

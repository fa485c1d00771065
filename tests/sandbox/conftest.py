"""Fixtures: the sandbox on a real HTTP server, the official SDK pointed at it,
and a small webhook receiver that records what it is sent (helpers in harness.py)."""
import pytest
import stripe

from .harness import WEBHOOK_SECRET, Receiver, pay, start_sandbox


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


@pytest.fixture
def sandbox_config():
    """Extra create_app settings; override in a module or test to change them."""
    return {}


@pytest.fixture
def sandbox(sandbox_config, receiver):
    """A sandbox whose implicit webhook endpoint is the test receiver; delivery is manual.
    (Function-scoped here: it overrides the suite's module-scoped `sandbox`.)"""
    sb = start_sandbox(SANDBOX_WEBHOOK_URL=receiver.url, SANDBOX_WEBHOOK_SECRET=WEBHOOK_SECRET,
                       **sandbox_config)
    yield sb
    sb.close()


@pytest.fixture
def client(sandbox):
    """The official SDK, as the service uses it."""
    return stripe.StripeClient("sk_test_sandbox", base_addresses={"api": sandbox.url},
                               max_network_retries=0)


@pytest.fixture
def plan(client):
    """The $5/month membership price, found by lookup key like `plans sync` does."""
    return client.v1.prices.create(params={
        "currency": "usd", "unit_amount": 500, "recurring": {"interval": "month"},
        "lookup_key": "monthly-5", "product_data": {"name": "Membership"}})


@pytest.fixture
def member(client, sandbox, plan):
    """A customer with an active, paid $5/month subscription made through Checkout."""
    customer = client.v1.customers.create(params={"email": "m@example.org", "metadata": {"member_id": "7"}})
    session = client.v1.checkout.sessions.create(params={
        "mode": "subscription", "customer": customer.id, "client_reference_id": "7",
        "line_items": [{"price": plan.id, "quantity": 1}],
        "subscription_data": {"metadata": {"member_id": "7"}},
        "success_url": "http://svc.test/join/success?session_id={CHECKOUT_SESSION_ID}",
        "cancel_url": "http://svc.test/join/cancelled"})
    assert pay(sandbox, session.url).status_code == 303
    session = client.v1.checkout.sessions.retrieve(session.id)
    sub = client.v1.subscriptions.retrieve(session.subscription)
    return {"customer": customer, "session": session, "subscription": sub}

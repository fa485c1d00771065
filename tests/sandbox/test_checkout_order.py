"""A subscription Checkout sends its events in Stripe's order and with Stripe's states.

Stripe sources:
- https://docs.stripe.com/billing/subscriptions/webhooks : customer.subscription.created is
  "Sent when the subscription is created. The subscription status might be `incomplete` if
  customer authentication is required to complete the payment or if you set
  `payment_behavior` to `default_incomplete`"; customer.subscription.updated is "Sent when the
  subscription is successfully started, after the payment is confirmed."
- https://docs.stripe.com/checkout/fulfillment : fulfil on checkout.session.completed, which
  carries the session with its `payment_status`; the webhook, not the redirect, is the signal.
- https://docs.stripe.com/webhooks : "Stripe doesn't guarantee delivery of events in the order
  in which they're generated", so checkout.session.completed may arrive after the subscription
  and invoice events (here it always comes last: the order a receiver must cope with).
- https://docs.stripe.com/subscriptions/invoices : a new subscription's invoice is finalized
  at once when `collection_method=charge_automatically`.
"""
import stripe

from .harness import WEBHOOK_SECRET, pay
from .helpers import deliver, session

ORDER = ["customer.created", "customer.subscription.created", "invoice.created", "invoice.finalized",
         "charge.succeeded", "payment_intent.succeeded", "invoice.paid", "invoice.payment_succeeded",
         "customer.subscription.updated", "checkout.session.completed"]


def _delivered(receiver):
    return [stripe.Webhook.construct_event(r["body"], r["headers"]["Stripe-Signature"], WEBHOOK_SECRET)
            for r in receiver.received if r["status"] == 200]


def test_events_come_in_stripes_order_with_stripes_states(client, sandbox, plan, receiver):
    made = session(client, plan, subscription_data={"metadata": {"member_id": "9"}})
    deliver(sandbox)
    receiver.received.clear()
    assert pay(sandbox, made.url, email="new@example.org").status_code == 303
    deliver(sandbox)
    events = _delivered(receiver)
    assert [e.type for e in events] == ORDER

    by_type = {e.type: e for e in events}
    created = by_type["customer.subscription.created"].data.object
    assert created.status == "incomplete" and created.latest_invoice == by_type["invoice.paid"].data.object.id
    assert by_type["invoice.created"].data.object.status == "draft"
    assert by_type["invoice.finalized"].data.object.status == "open"
    assert by_type["invoice.paid"].data.object.status == "paid"
    updated = by_type["customer.subscription.updated"]
    assert updated.data.object.status == "active"
    assert updated.data.previous_attributes.status == "incomplete"
    completed = by_type["checkout.session.completed"].data.object
    assert (completed.status, completed.payment_status) == ("complete", "paid")
    assert completed.subscription == created.id and completed.customer == created.customer
    intent = by_type["payment_intent.succeeded"].data.object
    assert intent.latest_charge == by_type["charge.succeeded"].data.object.id


def test_existing_customer_gets_no_customer_created(client, sandbox, plan, receiver):
    customer = client.v1.customers.create(params={"email": "known@example.org"})
    made = session(client, plan, customer=customer.id)
    deliver(sandbox)
    receiver.received.clear()
    pay(sandbox, made.url)
    deliver(sandbox)
    assert [e.type for e in _delivered(receiver)] == ORDER[1:]


def test_the_subscription_read_at_any_event_is_never_older_than_the_event(client, sandbox, plan):
    """What a receiver reads back after checkout.session.completed is the active subscription."""
    made = session(client, plan)
    pay(sandbox, made.url)
    done = client.v1.checkout.sessions.retrieve(made.id, params={"expand": ["subscription"]})
    assert done.subscription.status == "active"

"""Deleting a customer: subscriptions canceled at once, a deleted stub, and nothing more for it.

Stripe sources:
- https://docs.stripe.com/api/customers/delete : "Permanently deletes a customer. It cannot
  be undone. Also immediately cancels any active subscriptions on the customer."; returns
  `{"id", "object": "customer", "deleted": true}` (fixtures3.json `deleted_customer`).
- https://docs.stripe.com/api/customers/retrieve : for a deleted customer "a subset of the
  customer's information is returned, including a `deleted` property that's set to true".
- Using the id afterwards (Checkout, portal, update) fails as for an unknown customer:
  `resource_missing` ("No such customer").
"""
import pytest
import stripe

from .harness import pay
from .helpers import events, session


def test_delete_cancels_subscriptions_then_deletes(client, sandbox, member):
    customer, sub = member["customer"], member["subscription"]
    deleted = client.v1.customers.delete(customer.id)
    assert deleted.to_dict() == {"id": customer.id, "object": "customer", "deleted": True}
    assert client.v1.subscriptions.retrieve(sub.id).status == "canceled"
    types = [e.type for e in reversed(events(client))]
    assert types[-2:] == ["customer.subscription.deleted", "customer.deleted"]
    assert events(client, "customer.deleted")[0].data.object.id == customer.id
    again = client.v1.customers.retrieve(customer.id)
    assert again.deleted is True and again.to_dict() == deleted.to_dict()
    assert client.v1.customers.list().data == []


def test_a_deleted_customer_cannot_pay_or_change(client, sandbox, member, plan):
    customer = member["customer"]
    client.v1.customers.delete(customer.id)
    with pytest.raises(stripe.InvalidRequestError) as excinfo:
        session(client, plan, customer=customer.id)
    assert (excinfo.value.http_status, excinfo.value.code, excinfo.value.param) == (400, "resource_missing", "customer")
    with pytest.raises(stripe.InvalidRequestError) as excinfo:
        client.v1.billing_portal.sessions.create(params={"customer": customer.id})
    assert excinfo.value.code == "resource_missing"
    with pytest.raises(stripe.InvalidRequestError) as excinfo:
        client.v1.customers.update(customer.id, params={"name": "Ghost"})
    assert (excinfo.value.http_status, excinfo.value.code) == (404, "resource_missing")
    with pytest.raises(stripe.InvalidRequestError) as excinfo:
        client.v1.customers.delete(customer.id)
    assert excinfo.value.http_status == 404


def test_a_session_made_before_the_deletion_cannot_be_paid(client, sandbox, member, plan):
    """Sandbox behaviour (Stripe's page is not documented for this): the hosted page refuses."""
    made = session(client, plan, customer=member["customer"].id)
    client.v1.customers.delete(member["customer"].id)
    assert pay(sandbox, made.url).status_code == 400
    assert client.v1.checkout.sessions.retrieve(made.id).status == "open"

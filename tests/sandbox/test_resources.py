"""Create, retrieve, list and update each resource through the official SDK."""
import pytest
import stripe


def test_customers(client):
    made = client.v1.customers.create(params={"email": "c@example.org", "name": "Cee",
                                              "metadata": {"member_id": "3"}, "description": "d"})
    assert made.id.startswith("cus_") and made.livemode is False
    got = client.v1.customers.retrieve(made.id)
    assert (got.email, got.name, got.metadata.member_id) == ("c@example.org", "Cee", "3")
    updated = client.v1.customers.update(made.id, params={"name": "Cee Two", "metadata": {"tier": "x"}})
    assert updated.name == "Cee Two" and updated.metadata.to_dict() == {"member_id": "3", "tier": "x"}
    event = client.v1.events.list(params={"type": "customer.updated"}).data[0]
    assert event.data.previous_attributes.to_dict() == {"name": "Cee", "metadata": {"member_id": "3"}}
    client.v1.customers.create(params={"email": "other@example.org"})
    assert [c.id for c in client.v1.customers.list(params={"email": "c@example.org"}).data] == [made.id]


def test_products(client):
    product = client.v1.products.create(params={"name": "Membership", "metadata": {"code": "m"}})
    hidden = client.v1.products.create(params={"name": "Old", "active": False})
    assert client.v1.products.retrieve(product.id).name == "Membership"
    assert [p.id for p in client.v1.products.list(params={"active": True}).data] == [product.id]
    assert [p.id for p in client.v1.products.list(params={"ids": [hidden.id]}).data] == [hidden.id]
    renamed = client.v1.products.update(product.id, params={"name": "Members"})
    assert renamed.name == "Members"
    assert client.v1.events.list(params={"type": "product.created"}).data[0].data.object.id == hidden.id


def test_prices_by_lookup_key_and_transfer(client):
    product = client.v1.products.create(params={"name": "Membership"})
    monthly = client.v1.prices.create(params={
        "product": product.id, "currency": "usd", "unit_amount": 500, "nickname": "Monthly",
        "recurring": {"interval": "month"}, "lookup_key": "monthly-5", "metadata": {"plan": "monthly-5"}})
    yearly = client.v1.prices.create(params={
        "product": product.id, "currency": "usd", "unit_amount": 5000,
        "recurring": {"interval": "year"}, "lookup_key": "yearly-50"})
    assert (monthly.type, monthly.recurring.interval, str(monthly.unit_amount_decimal)) == ("recurring", "month", "500")
    found = client.v1.prices.list(params={"lookup_keys": ["monthly-5", "yearly-50"]}).data
    assert {p.id for p in found} == {monthly.id, yearly.id}
    with pytest.raises(stripe.InvalidRequestError) as excinfo:
        client.v1.prices.create(params={"product": product.id, "currency": "usd", "unit_amount": 600,
                                        "recurring": {"interval": "month"}, "lookup_key": "monthly-5"})
    assert excinfo.value.param == "lookup_key"
    moved = client.v1.prices.create(params={
        "product": product.id, "currency": "usd", "unit_amount": 600, "recurring": {"interval": "month"},
        "lookup_key": "monthly-5", "transfer_lookup_key": True})
    assert [p.id for p in client.v1.prices.list(params={"lookup_keys": ["monthly-5"]}).data] == [moved.id]
    assert client.v1.prices.retrieve(monthly.id).lookup_key is None
    archived = client.v1.prices.update(monthly.id, params={"active": False})
    assert archived.active is False
    active = client.v1.prices.list(params={"active": True, "product": product.id}).data
    assert {p.id for p in active} == {yearly.id, moved.id}
    assert [e.type for e in client.v1.events.list(params={"type": "price.created"}).data].count("price.created") == 3


def test_subscriptions_list_and_update(client, member, plan):
    sub, customer = member["subscription"], member["customer"]
    assert [s.id for s in client.v1.subscriptions.list(params={"customer": customer.id}).data] == [sub.id]
    assert [s.id for s in client.v1.subscriptions.list(params={"price": plan.id}).data] == [sub.id]
    assert client.v1.subscriptions.list(params={"status": "past_due"}).data == []
    updated = client.v1.subscriptions.update(sub.id, params={"metadata": {"note": "hi"}})
    assert updated.metadata.to_dict() == {"member_id": "7", "note": "hi"}
    pm = client.v1.payment_methods.retrieve(sub.default_payment_method)
    assert pm.card.last4 == "4242" and pm.customer == customer.id
    with pytest.raises(stripe.InvalidRequestError) as excinfo:
        client.v1.subscriptions.update(sub.id, params={"default_payment_method": "pm_nope"})
    assert excinfo.value.param == "default_payment_method"


def test_invoices_and_charges_lists(client, member):
    sub, customer = member["subscription"], member["customer"]
    invoices = client.v1.invoices.list(params={"customer": customer.id, "status": "paid"}).data
    assert [i.id for i in invoices] == [sub.latest_invoice]
    assert client.v1.invoices.list(params={"status": "open"}).data == []
    assert client.v1.invoices.list(params={"subscription": sub.id}).data[0].customer_email == "m@example.org"
    charge = client.v1.charges.list(params={"customer": customer.id}).data[0]
    assert client.v1.charges.retrieve(charge.id).amount == 500
    intent = client.v1.payment_intents.retrieve(charge.payment_intent)
    assert intent.status == "succeeded" and intent.latest_charge == charge.id


def test_billing_portal_session_needs_a_customer(client, member):
    session = client.v1.billing_portal.sessions.create(params={
        "customer": member["customer"].id, "return_url": "http://svc.test/account"})
    assert session.id.startswith("bps_") and session.url.endswith(f"/portal/{session.id}")
    with pytest.raises(stripe.InvalidRequestError) as excinfo:
        client.v1.billing_portal.sessions.create(params={"return_url": "http://x"})
    assert excinfo.value.param == "customer" and excinfo.value.code == "parameter_missing"

"""Join -> pay on the hosted page -> active subscription, paid invoice, signed webhooks."""
import json
from urllib.parse import parse_qs, urlsplit

import stripe

import stripe_sandbox

from .harness import WEBHOOK_SECRET, pay

SUCCESS = "http://svc.test/join/success?session_id={CHECKOUT_SESSION_ID}"
CANCEL = "http://svc.test/join/cancelled"


def _session(client, plan, **extra):
    params = {"mode": "subscription", "line_items": [{"price": plan.id, "quantity": 1}],
              "success_url": SUCCESS, "cancel_url": CANCEL} | extra
    return client.v1.checkout.sessions.create(params=params)


def test_full_flow_pays_redirects_and_sends_signed_webhooks(client, sandbox, plan, receiver):
    customer = client.v1.customers.create(params={"email": "reader@example.org"})
    session = _session(client, plan, customer=customer.id, client_reference_id="42",
                       metadata={"member_id": "42"},
                       subscription_data={"metadata": {"member_id": "42"}})
    assert session.status == "open" and session.payment_status == "unpaid"
    assert session.url == f"{sandbox.url}/checkout/{session.id}"

    page = sandbox.http.get(session.url)
    assert page.status_code == 200
    assert "Membership" in page.text and "$5.00 / month" in page.text
    for label in ('for="email"', 'for="card_number"', 'for="expiry"', 'for="cvc"'):
        assert label in page.text

    response = pay(sandbox, session.url)
    assert response.status_code == 303
    location = response.headers["Location"]
    assert parse_qs(urlsplit(location).query)["session_id"] == [session.id]

    done = client.v1.checkout.sessions.retrieve(session.id, params={"expand": ["subscription"]})
    assert (done.status, done.payment_status, done.customer) == ("complete", "paid", customer.id)
    sub = done.subscription
    assert sub.status == "active" and sub.customer == customer.id
    assert sub.metadata.to_dict() == {"member_id": "42"}
    item = sub["items"].data[0]
    assert item.price.id == plan.id and item.quantity == 1
    assert item.current_period_end > item.current_period_start
    assert "current_period_end" not in sub.to_dict()

    invoice = client.v1.invoices.retrieve(sub.latest_invoice)
    assert (invoice.status, invoice.amount_paid, invoice.billing_reason) == ("paid", 500, "subscription_create")
    assert invoice.parent.type == "subscription_details"
    assert invoice.parent.subscription_details.subscription == sub.id
    assert invoice.lines.data[0].parent.subscription_item_details.subscription == sub.id
    assert sandbox.http.get(invoice.hosted_invoice_url).status_code == 200

    assert stripe_sandbox.deliver_pending(sandbox.app) >= 8
    types = [e["type"] for e in receiver.ok_events()]
    assert types[:2] == ["product.created", "price.created"]  # the plan fixture
    # The order Stripe sends them in is checked in test_checkout_order.py.
    assert types[-1] == "checkout.session.completed"
    delivery = receiver.received[len(types) - 1]
    assert delivery["headers"]["Content-Type"] == "application/json; charset=utf-8"
    assert delivery["headers"]["User-Agent"].startswith("Stripe/1.0")
    event = stripe.Webhook.construct_event(delivery["body"], delivery["headers"]["Stripe-Signature"],
                                           WEBHOOK_SECRET)
    assert event.type == "checkout.session.completed"
    assert event.data.object.subscription == sub.id
    assert event.api_version == "2026-10-28.endive"


def test_session_without_customer_creates_one_with_the_typed_email(client, sandbox, plan, receiver):
    session = _session(client, plan)
    assert pay(sandbox, session.url, email="new@example.org").status_code == 303
    done = client.v1.checkout.sessions.retrieve(session.id, params={"expand": ["customer"]})
    assert done.customer.email == "new@example.org"
    assert done.customer_details.email == "new@example.org"
    stripe_sandbox.deliver_pending(sandbox.app)
    assert receiver.ok_events()[2]["type"] == "customer.created"


def test_declined_card_creates_nothing(client, sandbox, plan):
    session = _session(client, plan)
    response = pay(sandbox, session.url, card="4000 0000 0000 0341")
    assert response.status_code == 402
    assert "Your card was declined" in response.text
    assert 'aria-describedby="card_error"' in response.text
    assert client.v1.subscriptions.list(params={"status": "all"}).data == []
    assert client.v1.checkout.sessions.retrieve(session.id).status == "open"


def test_unknown_card_asks_for_a_test_card(client, sandbox, plan):
    session = _session(client, plan)
    response = pay(sandbox, session.url, card="1234 5678 9012 3456")
    assert response.status_code == 400 and "Use a test card" in response.text
    assert client.v1.subscriptions.list(params={"status": "all"}).data == []


def test_cancel_link_goes_to_cancel_url(client, sandbox, plan):
    page = sandbox.http.get(_session(client, plan).url)
    assert f'href="{CANCEL}"' in page.text


def test_session_expires_after_24_hours_of_sandbox_time(client, sandbox, plan, receiver):
    session = _session(client, plan)
    sandbox.advance(seconds=23 * 3600)
    assert client.v1.checkout.sessions.retrieve(session.id).status == "open"
    result = sandbox.advance(seconds=3600)
    assert {"at": session.expires_at, "task": "checkout_expiry", "id": session.id} in result["processed"]
    assert client.v1.checkout.sessions.retrieve(session.id).status == "expired"
    page = sandbox.http.get(session.url)
    assert page.status_code == 410 and "expired" in page.text
    events = client.v1.events.list(params={"type": "checkout.session.expired"}).data
    assert [e.data.object.id for e in events] == [session.id]


def test_expire_endpoint_and_completed_page(client, sandbox, plan):
    session = _session(client, plan)
    assert client.v1.checkout.sessions.expire(session.id).status == "expired"
    try:
        client.v1.checkout.sessions.expire(session.id)
        raise AssertionError("expired twice")
    except stripe.InvalidRequestError as error:
        assert error.http_status == 400
    other = _session(client, plan)
    pay(sandbox, other.url)
    page = sandbox.http.get(other.url)
    assert page.status_code == 200 and "already been paid" in page.text


def test_inline_price_data_and_line_items_expand(client, sandbox):
    session = client.v1.checkout.sessions.create(params={
        "mode": "subscription", "success_url": SUCCESS,
        "line_items": [{"quantity": 1, "price_data": {
            "currency": "usd", "unit_amount": 1200, "product_data": {"name": "Supporter"},
            "recurring": {"interval": "year"}}}]})
    assert "Supporter" in sandbox.http.get(session.url).text
    assert "$12.00 / year" in sandbox.http.get(session.url).text
    shown = client.v1.checkout.sessions.retrieve(session.id, params={"expand": ["line_items"]})
    assert shown.line_items.data[0].amount_total == 1200
    assert shown.line_items.data[0].price.recurring.interval == "year"
    assert shown.amount_total == 1200


def test_sessions_list_filters(client, sandbox, plan, member):
    _session(client, plan)
    listed = client.v1.checkout.sessions.list(params={"subscription": member["subscription"].id})
    assert [s.id for s in listed.data] == [member["session"].id]
    assert len(client.v1.checkout.sessions.list(params={"status": "open"}).data) == 1
    by_customer = client.v1.checkout.sessions.list(params={"customer": member["customer"].id})
    assert [s.id for s in by_customer.data] == [member["session"].id]


def test_event_request_ids_and_payload_json(client, sandbox, plan, receiver):
    customer = client.v1.customers.create(params={"email": "x@example.org"},
                                          options={"idempotency_key": "member-9-customer"})
    event = client.v1.events.list(params={"type": "customer.created"}).data[0]
    assert event.data.object.id == customer.id
    assert event.request.idempotency_key == "member-9-customer"
    assert event.request.id.startswith("req_")
    stripe_sandbox.deliver_pending(sandbox.app)
    assert json.loads(receiver.received[-1]["body"])["id"] == event.id

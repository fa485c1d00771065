"""Every gateway method against the sandbox, through the real SDK over real HTTP."""
from __future__ import annotations

import itertools
import socket

import pytest

from service.errors import BillingError, BillingNotFound, BillingUnavailable
from service.gateways.stripe_gateway import StripeGateway
from tests.sandbox.harness import pay

_members = itertools.count(1000)


def _price(gateway: StripeGateway, amount: int = 500, interval: str = "month"):
    return gateway.ensure_price(lookup_key=f"test_{amount}_{interval}", product_name="Membership",
                                amount=amount, currency="usd", interval=interval)


def _checkout(gateway: StripeGateway, line_item=None):
    member_id = next(_members)
    customer = gateway.create_customer(member_id=member_id, email=f"m{member_id}@example.org", name="M")
    session = gateway.create_checkout_session(
        member_id=member_id, customer_id=customer["id"], line_item=line_item or {"price": _price(gateway)["id"]},
        success_url="http://svc.test/join/success?session_id={CHECKOUT_SESSION_ID}",
        cancel_url="http://svc.test/join/cancelled", key=f"attempt-{member_id}")
    return member_id, customer, session


def _paid_subscription(gateway, sandbox, line_item=None):
    member_id, customer, session = _checkout(gateway, line_item)
    response = pay(sandbox, session["url"])
    assert response.status_code == 303
    session = gateway.retrieve_checkout_session(session["id"])
    return member_id, customer, session, gateway.retrieve_subscription(session["subscription"])


def test_customer_is_created_once_per_member(gateway):
    first = gateway.create_customer(member_id=1, email="ada@example.org", name="Ada")
    again = gateway.create_customer(member_id=1, email="ada@example.org", name="Ada")
    assert again["id"] == first["id"]
    assert first["metadata"] == {"member_id": "1"}
    assert gateway.retrieve_customer(first["id"])["email"] == "ada@example.org"


def test_ensure_customer_reuses_the_stored_one_and_replaces_a_missing_one(gateway):
    existing = gateway.create_customer(member_id=2, email="b@example.org", name="B")
    assert gateway.ensure_customer(member_id=2, email="b@example.org", name="B", customer_id=existing["id"])["id"] == existing["id"]
    fresh = gateway.ensure_customer(member_id=3, email="c@example.org", name="C", customer_id="cus_gone")
    assert fresh["id"].startswith("cus_") and fresh["id"] != "cus_gone"


def test_update_customer_changes_email_and_name(gateway):
    customer = gateway.create_customer(member_id=4, email="old@example.org", name="Old")
    updated = gateway.update_customer(customer["id"], key="edit-1", email="new@example.org", name="New")
    assert (updated["email"], updated["name"]) == ("new@example.org", "New")


def test_ensure_price_finds_the_price_it_created(gateway):
    created = _price(gateway, 700, "year")
    found = _price(gateway, 700, "year")
    assert found["id"] == created["id"]
    assert (found["unit_amount"], found["currency"], found["recurring"]["interval"]) == (700, "usd", "year")
    assert gateway.find_price("no_such_key") is None


def test_checkout_session_carries_the_member_everywhere(gateway):
    member_id, customer, session = _checkout(gateway)
    assert session["mode"] == "subscription" and session["status"] == "open"
    assert session["customer"] == customer["id"]
    assert session["client_reference_id"] == str(member_id)
    assert session["metadata"] == {"member_id": str(member_id)}
    assert session["url"].startswith("http://127.0.0.1:")
    # The same attempt posted again is the same session, not a second one.
    again = gateway.create_checkout_session(
        member_id=member_id, customer_id=customer["id"], line_item={"price": _price(gateway)["id"]},
        success_url="http://svc.test/join/success?session_id={CHECKOUT_SESSION_ID}",
        cancel_url="http://svc.test/join/cancelled", key=f"attempt-{member_id}")
    assert again["id"] == session["id"]


def test_paying_creates_an_active_subscription_with_member_metadata(gateway, sandbox):
    member_id, customer, session, sub = _paid_subscription(gateway, sandbox)
    assert session["status"] == "complete" and session["payment_status"] == "paid"
    assert sub["status"] == "active" and sub["customer"] == customer["id"]
    assert sub["metadata"] == {"member_id": str(member_id)}
    item = sub["items"]["data"][0]
    assert item["current_period_end"] > item["current_period_start"]
    assert "current_period_end" not in sub  # lives on the item in this API version
    invoice = gateway.retrieve_invoice(sub["latest_invoice"])
    assert invoice["status"] == "paid" and invoice["amount_paid"] == 500
    assert invoice["parent"]["subscription_details"]["subscription"] == sub["id"]
    assert [i["id"] for i in gateway.list_invoices(customer=customer["id"])] == [invoice["id"]]


def test_pay_what_you_want_uses_price_data(gateway, sandbox):
    product = _price(gateway)["product"]
    line_item = {"price_data": {"currency": "usd", "unit_amount": 1234, "product": product,
                                "recurring": {"interval": "month"}}}
    _, _, _, sub = _paid_subscription(gateway, sandbox, line_item)
    assert sub["items"]["data"][0]["price"]["unit_amount"] == 1234


def test_cancel_at_period_end_undo_and_cancel_now(gateway, sandbox):
    _, _, _, sub = _paid_subscription(gateway, sandbox)
    assert gateway.set_cancel_at_period_end(sub["id"], True, key="a1")["cancel_at_period_end"] is True
    assert gateway.set_cancel_at_period_end(sub["id"], False, key="a2")["cancel_at_period_end"] is False
    # A second cancel later is a new request (new key), so it really happens again.
    assert gateway.set_cancel_at_period_end(sub["id"], True, key="a3")["cancel_at_period_end"] is True
    ended = gateway.cancel_subscription_now(sub["id"], key="a4")
    assert ended["status"] == "canceled"
    assert gateway.retrieve_subscription(sub["id"])["status"] == "canceled"


def test_list_subscriptions_of_a_customer_and_of_the_account(gateway, sandbox):
    _, customer, _, sub = _paid_subscription(gateway, sandbox)
    assert [s["id"] for s in gateway.list_subscriptions(customer=customer["id"])] == [sub["id"]]
    assert sub["id"] in {s["id"] for s in gateway.list_subscriptions()}


def test_list_events_pages_through_everything(gateway, sandbox):
    start = sandbox.now()
    # Each paid checkout emits several events: fourteen make more than one page of 100.
    ours = {_paid_subscription(gateway, sandbox)[2]["id"] for _ in range(14)}
    events = list(gateway.list_events(created_gte=start))
    assert len(events) > 100
    assert len({e["id"] for e in events}) == len(events)
    completed = list(gateway.list_events(created_gte=start, types=["checkout.session.completed"]))
    assert {e["type"] for e in completed} == {"checkout.session.completed"}
    assert ours <= {e["data"]["object"]["id"] for e in completed}
    assert gateway.retrieve_event(completed[0]["id"])["id"] == completed[0]["id"]


def test_portal_session_is_for_the_customer(gateway):
    customer = gateway.create_customer(member_id=5, email="p@example.org", name="P")
    portal = gateway.create_portal_session(customer_id=customer["id"], return_url="http://svc.test/account", key="r1")
    assert portal["customer"] == customer["id"] and portal["return_url"] == "http://svc.test/account"
    assert "/portal/" in portal["url"]


def test_unknown_ids_become_billing_not_found(gateway):
    for call in (lambda: gateway.retrieve_subscription("sub_missing"), lambda: gateway.retrieve_invoice("in_missing"),
                 lambda: gateway.retrieve_checkout_session("cs_test_missing"), lambda: gateway.retrieve_charge("ch_missing"),
                 lambda: gateway.retrieve_event("evt_missing"), lambda: gateway.retrieve_customer("cus_missing")):
        with pytest.raises(BillingNotFound):
            call()


def test_an_id_is_quoted_into_the_path_it_reads(gateway):
    """An id from a payload cannot walk the read to another object or list (the SDK's services
    quote ids the same way)."""
    customer = gateway.create_customer(member_id=6, email="q@example.org", name="Q")
    for call in (lambda: gateway.retrieve_subscription(f"../customers/{customer['id']}"),
                 lambda: gateway.retrieve_invoice("?limit=1"), lambda: gateway.retrieve_charge(""),
                 lambda: gateway.retrieve_subscription("..")):
        with pytest.raises(BillingError) as caught:
            call()
        assert not isinstance(caught.value, BillingUnavailable), caught.value  # refused, not "try again"


def test_a_refused_request_names_the_parameter(gateway):
    with pytest.raises(BillingError) as caught:
        gateway.create_checkout_session(member_id=9, customer_id="cus_nope", line_item={"price": "price_nope"},
                                        success_url="http://svc.test/s", cancel_url="http://svc.test/c", key="bad")
    assert "Stripe" in caught.value.message and caught.value.status >= 400


def test_stripe_out_of_reach_is_billing_unavailable():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens here once closed
    gateway = StripeGateway("sk_test_x", api_base=f"http://127.0.0.1:{port}", max_network_retries=0, timeout=2)
    with pytest.raises(BillingUnavailable) as caught:
        gateway.retrieve_customer("cus_1")
    assert "unavailable" in caught.value.message


def test_livemode_follows_the_key():
    assert StripeGateway("sk_live_abc").livemode is True
    assert StripeGateway("sk_test_abc").livemode is False


def test_expire_an_open_checkout_session(gateway):
    _, _, session = _checkout(gateway)
    expired = gateway.expire_checkout_session(session["id"])
    assert expired["status"] == "expired"
    assert gateway.retrieve_checkout_session(session["id"])["status"] == "expired"


def test_retrieve_the_charge_of_a_payment(gateway, sandbox):
    _, customer, _, sub = _paid_subscription(gateway, sandbox)
    import stripe

    sdk = stripe.StripeClient("sk_test_x", base_addresses={"api": sandbox.url})
    charge_id = sdk.v1.charges.list({"customer": customer["id"]}).data[0].id
    charge = gateway.retrieve_charge(charge_id)
    assert charge["customer"] == customer["id"] and charge["amount"] == 500 and charge["paid"] is True

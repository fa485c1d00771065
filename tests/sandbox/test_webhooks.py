"""Webhook delivery: signatures, order, duplicates, shuffle, pause, retries, resend."""
import json
import time

import pytest
import stripe

import stripe_sandbox
from stripe_sandbox.webhooks import sign

from .harness import WEBHOOK_SECRET, start_sandbox


def _make_events(client, n):
    return [client.v1.customers.create(params={"email": f"w{i}@example.org"}) for i in range(n)]


def _verified(receiver):
    return [stripe.Webhook.construct_event(r["body"], r["headers"]["Stripe-Signature"], WEBHOOK_SECRET)
            for r in receiver.received]


def test_sign_matches_stripe_library():
    payload = '{"id": "evt_1", "object": "event"}'
    header = sign(payload, "whsec_abc", timestamp=int(time.time()))
    assert stripe.WebhookSignature.verify_header(payload, header, "whsec_abc", tolerance=300)
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.WebhookSignature.verify_header(payload, header, "whsec_other", tolerance=300)


def test_deliveries_are_in_creation_order_and_logged(client, sandbox, receiver):
    customers = _make_events(client, 4)
    assert stripe_sandbox.deliver_pending(sandbox.app) == 4
    assert [e.data.object.id for e in _verified(receiver)] == [c.id for c in customers]
    log = sandbox.deliveries()
    assert log["pending"] == 0 and len(log["data"]) == 4
    assert {(d["status"], d["attempt"], d["url"]) for d in log["data"]} == {(200, 1, receiver.url)}


def test_signature_uses_real_time_after_clock_advance(client, sandbox, receiver):
    sandbox.advance(days=400)
    _make_events(client, 1)
    stripe_sandbox.deliver_pending(sandbox.app)
    event = _verified(receiver)[0]  # construct_event checks a 300 s tolerance against real time
    assert event.created >= time.time() + 399 * 86400


def test_duplicates_switch_sends_every_event_twice(client, sandbox, receiver):
    assert sandbox.webhook_config(duplicates=True)["duplicates"] is True
    customers = _make_events(client, 2)
    stripe_sandbox.deliver_pending(sandbox.app)
    ids = [e.data.object.id for e in _verified(receiver)]
    assert sorted(ids) == sorted([c.id for c in customers] * 2)


def test_shuffle_switch_changes_order_but_not_content(client, sandbox, receiver):
    sandbox.webhook_config(shuffle=True)
    customers = _make_events(client, 12)
    stripe_sandbox.deliver_pending(sandbox.app)
    ids = [e.data.object.id for e in _verified(receiver)]
    assert sorted(ids) == sorted(c.id for c in customers)
    assert ids != [c.id for c in customers]  # 1 in 12! chance of a false failure


def test_pause_holds_the_backlog_until_unpaused(client, sandbox, receiver):
    sandbox.webhook_config(paused=True)
    _make_events(client, 3)
    assert stripe_sandbox.deliver_pending(sandbox.app) == 0
    assert receiver.received == [] and sandbox.deliveries()["pending"] == 3
    sandbox.webhook_config(paused=False)
    assert stripe_sandbox.deliver_pending(sandbox.app) == 3
    assert len(receiver.ok_events()) == 3


def test_failing_endpoint_is_retried_with_backoff(client, sandbox, receiver):
    receiver.fail_next = 2
    _make_events(client, 1)
    stripe_sandbox.deliver_pending(sandbox.app)
    assert sandbox.deliveries()["pending"] == 1
    deadline = time.time() + 3
    while not receiver.ok_events() and time.time() < deadline:
        stripe_sandbox.deliver_pending(sandbox.app)
        time.sleep(0.01)
    assert [r["status"] for r in receiver.received] == [500, 500, 200]
    attempts = sorted((d["attempt"], d["status"]) for d in sandbox.deliveries()["data"])
    assert attempts == [(1, 500), (2, 500), (3, 200)]


def test_attempts_are_bounded(client, sandbox, receiver):
    receiver.fail_next = 100
    _make_events(client, 1)
    deadline = time.time() + 3
    while sandbox.deliveries()["pending"] and time.time() < deadline:
        stripe_sandbox.deliver_pending(sandbox.app)
        time.sleep(0.01)
    assert len(receiver.received) == 4  # SANDBOX_WEBHOOK_MAX_ATTEMPTS in the tests
    assert sandbox.deliveries()["pending"] == 0


def test_resend_an_event(client, sandbox, receiver):
    _make_events(client, 1)
    stripe_sandbox.deliver_pending(sandbox.app)
    event_id = receiver.ok_events()[0]["id"]
    response = sandbox.http.post(f"{sandbox.url}/sandbox/events/{event_id}/resend")
    assert response.json()["queued"] == 1
    stripe_sandbox.deliver_pending(sandbox.app)
    assert [e["id"] for e in receiver.ok_events()] == [event_id, event_id]
    assert sandbox.http.post(f"{sandbox.url}/sandbox/events/evt_nope/resend").status_code == 404


def test_registered_endpoint_gets_only_its_events(client, sandbox, receiver):
    other = client.v1.webhook_endpoints.create(params={
        "url": receiver.url + "?endpoint=2", "enabled_events": ["price.created"]})
    assert other.secret.startswith("whsec_") and other.status == "enabled"
    assert "secret" not in client.v1.webhook_endpoints.retrieve(other.id).to_dict()
    assert [e.id for e in client.v1.webhook_endpoints.list().data] == [other.id]
    client.v1.customers.create()
    client.v1.prices.create(params={"currency": "usd", "unit_amount": 100, "product_data": {"name": "P"}})
    stripe_sandbox.deliver_pending(sandbox.app)
    second = [r for r in receiver.received if r["path"].endswith("?endpoint=2")]
    assert [json.loads(r["body"])["type"] for r in second] == ["price.created"]
    assert all(_verifies(r, other.secret) and not _verifies(r, WEBHOOK_SECRET) for r in second)
    implicit = [json.loads(r["body"])["type"] for r in receiver.received if r not in second]
    assert implicit == ["customer.created", "product.created", "price.created"]


def _verifies(delivery, secret):
    try:
        stripe.Webhook.construct_event(delivery["body"], delivery["headers"]["Stripe-Signature"], secret)
        return True
    except stripe.SignatureVerificationError:
        return False


def test_background_thread_delivers_without_help(receiver):
    sb = start_sandbox(SANDBOX_DELIVER_WEBHOOKS=True, SANDBOX_WEBHOOK_URL=receiver.url,
                       SANDBOX_WEBHOOK_SECRET=f"{WEBHOOK_SECRET},whsec_older")
    try:
        client = stripe.StripeClient("sk_test_x", base_addresses={"api": sb.url})
        customer = client.v1.customers.create()
        assert receiver.wait_for(lambda r: len(r.ok_events()) == 1)
        event = _verified(receiver)[0]
        assert event.type == "customer.created" and event.data.object.id == customer.id
    finally:
        sb.close()

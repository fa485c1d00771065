"""Webhook signatures: the sandbox signs as Stripe does, and only genuine bodies pass."""
from __future__ import annotations

import hashlib
import hmac
import json
import time

import pytest
import stripe

import stripe_sandbox
from service.errors import WebhookSignatureInvalid
from service.gateways.stripe_webhooks import verify_event
from tests.gateways.conftest import WEBHOOK_SECRET
from tests.gateways.test_stripe_gateway import _paid_subscription


def sign(body: bytes, secret: str, at: int | None = None) -> str:
    t = int(time.time()) if at is None else at
    mac = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={t},v1={mac}"


EVENT = json.dumps({"id": "evt_1", "object": "event", "type": "invoice.paid", "data": {"object": {}}}).encode()


def test_full_flow_delivers_signed_events_that_verify(gateway, sandbox, receiver):
    member_id, customer, session, sub = _paid_subscription(gateway, sandbox)
    stripe_sandbox.deliver_pending(sandbox.app)
    assert receiver.wait_for(lambda r: any(json.loads(x["body"])["type"] == "checkout.session.completed"
                                           and json.loads(x["body"])["data"]["object"]["id"] == session["id"]
                                           for x in r.received))
    delivery = next(x for x in receiver.received if session["id"] in x["body"] and "checkout.session.completed" in x["body"])
    header = delivery["headers"]["Stripe-Signature"]
    # Stripe's own verification and ours agree.
    official = stripe.Webhook.construct_event(delivery["body"], header, WEBHOOK_SECRET)
    ours = verify_event(delivery["body"].encode(), header, [WEBHOOK_SECRET])
    assert official.id == ours["id"]
    assert ours["data"]["object"]["client_reference_id"] == str(member_id)
    assert ours["data"]["object"]["subscription"] == sub["id"]


def test_any_configured_secret_verifies_during_rotation():
    header = sign(EVENT, "whsec_new")
    assert verify_event(EVENT, header, ["whsec_old", "whsec_new"])["id"] == "evt_1"


@pytest.mark.parametrize(
    "header",
    [None, "", "garbage", "t=abc,v1=00", sign(EVENT, "whsec_forger"), sign(EVENT, "whsec_new", at=int(time.time()) - 301)],
    ids=["missing", "empty", "malformed", "bad-timestamp", "forged", "stale"],
)
def test_bad_signatures_are_refused(header):
    with pytest.raises(WebhookSignatureInvalid):
        verify_event(EVENT, header, ["whsec_new"])


def test_a_reserialised_body_no_longer_verifies():
    header = sign(EVENT, "whsec_new")
    reserialised = json.dumps(json.loads(EVENT), indent=2).encode()
    with pytest.raises(WebhookSignatureInvalid):
        verify_event(reserialised, header, ["whsec_new"])


def test_a_signed_body_that_is_not_an_event_is_refused():
    for body in (b"not json", b"[1, 2]", b'{"id": 5}'):
        with pytest.raises(WebhookSignatureInvalid):
            verify_event(body, sign(body, "whsec_new"), ["whsec_new"])

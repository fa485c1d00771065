"""Billing scenarios on a running sandbox: a `Reader` who pays through its checkout, the
events it emitted (`EventTap`), and posting them to the service signed like Stripe. The
fixtures built on these (`sandbox_app`, `gateway`, `tap`, `price`, `reader`) are in tests/conftest.py.

The sandbox does not deliver by itself here: tests take the events it emitted
(`tap.new()`) and post them, signed like Stripe, in whatever order, as often,
and as concurrently as the scenario needs.
"""
from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import time
from typing import Any

from flask.testing import FlaskClient

from service.gateways.stripe_gateway import StripeGateway
from service.models import Member
from tests.sandbox.harness import Sandbox, pay

SECRET = "whsec_webhook_scenarios"
# Still accepted: `sandbox_app` is configured mid-rotation, with the old secret and this one.
OLD_SECRET = "whsec_old_one"
_ids = itertools.count(1)


def sign(body: bytes, secret: str = SECRET, at: int | None = None) -> str:
    t = int(time.time()) if at is None else at
    return f"t={t},v1={hmac.new(secret.encode(), f'{t}.'.encode() + body, hashlib.sha256).hexdigest()}"


def stripe_event(type: str, obj: dict[str, Any], **fields: Any) -> dict[str, Any]:
    """A Stripe event around `obj`, shaped as the pinned API version sends it."""
    return {"id": f"evt_test{next(_ids):08d}", "object": "event", "api_version": "2026-10-28.endive",
            "created": int(time.time()), "livemode": False, "pending_webhooks": 1, "type": type,
            "request": {"id": None, "idempotency_key": None}, "data": {"object": obj}, **fields}


def post_event(client: FlaskClient, event: dict[str, Any] | bytes, secret: str = SECRET, **kw: Any) -> Any:
    body = event if isinstance(event, bytes) else json.dumps(event).encode()
    return client.post("/webhooks/stripe", data=body, content_type="application/json",
                       headers={"Stripe-Signature": sign(body, secret, **kw)})


class EventTap:
    """The sandbox's events, each handed out once, oldest first."""

    def __init__(self, gateway: StripeGateway):
        self.gateway, self.seen = gateway, set(e["id"] for e in gateway.list_events())

    def new(self) -> list[dict[str, Any]]:
        fresh = [e for e in self.gateway.list_events() if e["id"] not in self.seen]
        self.seen.update(e["id"] for e in fresh)
        return list(reversed(fresh))


class Reader:
    """A member who joins through checkout on the sandbox."""

    def __init__(self, member: Member, gateway: StripeGateway, sandbox: Sandbox, price: dict[str, Any]):
        self.member, self.gateway, self.sandbox, self.price = member, gateway, sandbox, price
        customer = gateway.create_customer(member_id=member.id, email=member.email, name=member.name)
        member.stripe_customer_id = customer["id"]

    def checkout(self, key: str = "first") -> dict[str, Any]:
        return self.gateway.create_checkout_session(
            member_id=self.member.id, customer_id=self.member.stripe_customer_id, line_item={"price": self.price["id"]},
            success_url="http://localhost/join/success?session_id={CHECKOUT_SESSION_ID}",
            cancel_url="http://localhost/join/cancelled", key=f"{self.member.id}-{key}-{time.time_ns()}")

    def pay(self, card: str = "4242 4242 4242 4242", key: str = "first") -> dict[str, Any]:
        session = self.checkout(key)
        response = pay(self.sandbox, session["url"], card=card)
        assert response.status_code in (303, 402), response.text
        return self.gateway.retrieve_checkout_session(session["id"])

    def subscription(self) -> dict[str, Any]:
        subs = list(self.gateway.list_subscriptions(customer=self.member.stripe_customer_id))
        return subs[0]


def portal_url(reader: Reader) -> str:
    return reader.gateway.create_portal_session(customer_id=reader.member.stripe_customer_id,
                                                return_url="http://localhost/account", key=str(time.time_ns()))["url"]


def replace_card(reader: Reader, card: str) -> None:
    response = reader.sandbox.http.post(f"{portal_url(reader)}/card", data={"card_number": card}, allow_redirects=False)
    assert response.status_code == 303, response.text


def deliver_all(client: FlaskClient, events: list[dict[str, Any]]) -> list[int]:
    return [post_event(client, e).status_code for e in events]

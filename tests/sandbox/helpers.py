"""Small helpers shared by the sandbox tests of Stripe behaviours (cancel_at, pauses, trials...)."""
import stripe_sandbox

from .harness import pay

DAY = 86400
HOUR = 3600
SUCCESS = "http://svc.test/join/success?session_id={CHECKOUT_SESSION_ID}"
CANCEL = "http://svc.test/join/cancelled"


def events(client, type_=None) -> list:
    """Events newest first, as GET /v1/events lists them."""
    params = {"limit": 100} | ({"type": type_} if type_ else {})
    return client.v1.events.list(params=params).data


def types_in_order(client) -> list[str]:
    """Every event type, oldest first."""
    return [e.type for e in reversed(list(client.v1.events.list(params={"limit": 100}).auto_paging_iter()))]


def session(client, price, **extra):
    params = {"mode": "subscription", "line_items": [{"price": price.id, "quantity": 1}],
              "success_url": SUCCESS, "cancel_url": CANCEL} | extra
    return client.v1.checkout.sessions.create(params=params)


def subscribe(client, sandbox, price, card="4242 4242 4242 4242", **extra):
    """Subscribe a new customer through the hosted Checkout page; returns the subscription."""
    made = session(client, price, **extra)
    response = pay(sandbox, made.url, card=card)
    assert response.status_code == 303, response.text
    done = client.v1.checkout.sessions.retrieve(made.id)
    return client.v1.subscriptions.retrieve(done.subscription)


def period(sub) -> tuple[int, int]:
    item = sub["items"].data[0]
    return item.current_period_start, item.current_period_end


def deliver(sandbox) -> int:
    return stripe_sandbox.deliver_pending(sandbox.app)

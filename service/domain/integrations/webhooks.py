"""Outgoing webhooks: events for the newsroom's other systems (DESIGN.md "Outgoing webhooks").

`publish(event_type, data, *, now, member_id=None)` is called where the change happens, in its
transaction: it stores the event's body once and queues one outbox message per enabled endpoint
subscribed to the type, so an event exists exactly when its change was committed. Values in
`data` that are models (a Member, a Contribution) become the JSON the API shows for them.

The body is `{"id": "evt_...", "type": ..., "created": <unix time>, "data": {...}}` and is
sent with `Membership-Signature: t=<unix time>,v1=<hex HMAC-SHA256 of "t.body">`, as Stripe
signs (https://docs.stripe.com/webhooks#verify-manually); while a secret is being rotated, a
second `v1=` carries the signature with the previous one.

Delivery (the outbox's `webhook.delivery` topic, `deliver` below): one endpoint's events go out
one at a time in the order they happened (the outbox orders rows by key, and the key is the
endpoint), each attempt logged with its status, latency and the answer's first bytes. A failure
is retried with the outbox's backoff, with no attempt limit of its own: as Stripe does, an
endpoint that has failed continuously for three days is disabled and the admins are emailed
(https://docs.stripe.com/webhooks: retries "for up to three days", then the endpoint is disabled
and you are notified). Everything here flushes; the job runner commits.
"""
from __future__ import annotations

import enum
import hashlib
import hmac
import json
import logging
import secrets
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from flask import current_app, render_template
from sqlalchemy import Text, cast, delete, func, or_, select

from service.db import Base, utcnow
from service.domain.emails import EMAIL_TOPIC
from service.domain.outbox import PENDING_KEYS, enqueue, handles_timed
from service.extensions import db
from service.gateways import webhook_sender
from service.gateways.mail import Email
from service.gateways.outgoing_webhooks import Answer
from service.logs import log_event
from service.models import (
    DeliveryOutcome,
    ListStatus,
    ListSubscription,
    Member,
    Role,
    StaffUser,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEvent,
)

logger = logging.getLogger(__name__)
WEBHOOK_TOPIC = "webhook.delivery"
SIGNATURE_HEADER = "Membership-Signature"
EVENT_TYPES = (
    "member.created", "member.status_changed", "member.updated", "member.erased",
    "contribution.created", "contribution.refunded", "gift.purchased", "gift.redeemed",
    "newsletter.subscription_changed",
)
ALL_EVENTS = "*"
# Stripe retries for up to three days, then disables an endpoint that kept failing (docs.stripe.com/webhooks).
FAILING_LIMIT = timedelta(days=3)
ENDPOINTS_READ = "webhook_endpoints_read"  # session.info: (transaction, enabled endpoints)
Shape = Callable[[Any], dict[str, Any]]
SHAPES: dict[type, Shape] = {}


class DeliveryFailed(Exception):
    """The endpoint did not answer 2xx. Retried with backoff until it does or the endpoint is disabled."""

    keep_retrying = True


def shows(model: type, shape: Shape) -> None:
    """Register the public JSON of a model (the API's schema dumps it), used when `publish` data
    holds one. The schemas layer registers them (service/schemas/webhooks.py), being above this one."""
    SHAPES[model] = shape


# --- publishing ------------------------------------------------------------------------------


def publish(event_type: str, data: dict[str, Any], *, now: datetime, member_id: int | None = None) -> WebhookEvent | None:
    """Queue `event_type` with `data` for every enabled endpoint that subscribes to it, in the
    caller's transaction. `member_id` names the member it is about when `data` holds no Member or
    Contribution (erasure scrubs their events). Returns the event, or None when no endpoint wants
    it (nothing is stored then). Raises ValueError for an unknown type or TypeError for a model
    with no registered public JSON."""
    if event_type not in EVENT_TYPES:
        raise ValueError(f"unknown webhook event type {event_type!r}")
    endpoints = [e for e in _enabled_endpoints() if e.wants(event_type)]
    if not endpoints:
        return None
    public_id = f"evt_{secrets.token_hex(12)}"
    body = {"id": public_id, "type": event_type, "created": int(now.timestamp()), "data": _public(data)}
    event = WebhookEvent(public_id=public_id, type=event_type, member_id=member_id or _member_of(data),
                         body=json.dumps(body, separators=(",", ":"), ensure_ascii=False), created_at=now)
    db.session.add(event)
    db.session.flush()
    for endpoint in endpoints:
        queue_delivery(endpoint, event, now)
    log_event(logger, "webhook.published", event_id=public_id, type=event_type, endpoints=len(endpoints))
    return event


def _enabled_endpoints() -> list[WebhookEndpoint]:
    """The enabled endpoints, read once per transaction: a change that publishes several events
    (a status change and the digest that follows it) asks the database once."""
    transaction = db.session().get_transaction()
    cached = db.session.info.get(ENDPOINTS_READ)
    if cached is not None and transaction is not None and cached[0] is transaction:
        return cached[1]
    found = list(db.session.scalars(select(WebhookEndpoint).where(WebhookEndpoint.enabled.is_(True))
                                    .order_by(WebhookEndpoint.id)))
    db.session.info[ENDPOINTS_READ] = (transaction, found)
    return found


def forget_endpoints() -> None:
    """Drop this transaction's reading of the endpoints (they were just changed)."""
    db.session.info.pop(ENDPOINTS_READ, None)


def queue_delivery(endpoint: WebhookEndpoint, event: WebhookEvent, now: datetime, *, replay: bool = False) -> None:
    """One outbox message: send `event` to `endpoint`, after that endpoint's earlier ones."""
    key = f"webhook:{endpoint.id}"
    enqueue(WEBHOOK_TOPIC, key, {"endpoint_id": endpoint.id, "event_id": event.id, "replay": replay}, now=now)
    # Left to the worker rather than sent right after the request: a slow receiver must not hold
    # up a staff page (or a reader's), and the worker is where retries and the log live anyway.
    db.session.info.get(PENDING_KEYS, set()).discard(key)


def subscription_data(slug: str, sub: ListSubscription, previous: ListStatus | None, source: str) -> dict[str, Any]:
    """`newsletter.subscription_changed`'s data: one address on one list, and what it was before."""
    return {"subscription": {"newsletter": slug, "email": sub.email, "status": str(sub.status), "source": source,
                             "previous_status": str(previous) if previous is not None else None,
                             "member_id": sub.member_id}}


def _public(value: Any) -> Any:
    if isinstance(value, Member):
        db.session.expire(value, ["list_subscriptions"])  # newsletters as they are now, after this change
    shape = SHAPES.get(type(value))
    if shape is not None:
        return shape(value)
    if isinstance(value, Base):
        raise TypeError(f"no public JSON for {type(value).__name__}: register it with webhooks.shows")
    if isinstance(value, dict):
        return {str(k): _public(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_public(v) for v in value]
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return value.value
    return value


def _member_of(data: dict[str, Any]) -> int | None:
    for value in data.values():
        if isinstance(value, Member):
            return value.id
        if isinstance(getattr(value, "member_id", None), int):
            return value.member_id
    return None


# --- signing ---------------------------------------------------------------------------------


def signature_header(body: bytes, signing_secrets: list[str], timestamp: int) -> str:
    """`t=<timestamp>,v1=<hex HMAC-SHA256 of "<timestamp>.<body>">`, one v1 per secret (Stripe's scheme)."""
    signed = f"{timestamp}.".encode() + body
    return ",".join([f"t={timestamp}"] + [
        f"v1={hmac.new(s.encode(), signed, hashlib.sha256).hexdigest()}" for s in signing_secrets])


def signing_secrets(endpoint: WebhookEndpoint, now: datetime) -> list[str]:
    """The current secret, and the previous one while its 24 hours after a rotation last."""
    previous = endpoint.previous_secret
    expires = endpoint.previous_secret_expires_at
    return [endpoint.secret] + ([previous] if previous and expires is not None and expires > now else [])


# --- delivering ------------------------------------------------------------------------------


@handles_timed(WEBHOOK_TOPIC)
def deliver(payload: dict[str, Any], now: datetime) -> None:
    """Outbox handler: send one event to one endpoint and log the attempt. Raises DeliveryFailed
    (retried with backoff) unless the endpoint answered 2xx, or has now failed for three days
    and is disabled. An endpoint deleted or disabled since the event was queued gets nothing."""
    # Read afresh: the worker's session outlives transactions, and an admin may have rotated the
    # secret or disabled the endpoint, or an erasure scrubbed the event, in another process since.
    endpoint = db.session.get(WebhookEndpoint, payload["endpoint_id"], populate_existing=True)
    event = db.session.get(WebhookEvent, payload["event_id"], populate_existing=True)
    if endpoint is None or event is None:
        return
    replay = bool(payload.get("replay"))
    if not endpoint.enabled:
        _log(endpoint, event, Answer(None, 0, error="not sent: the endpoint is disabled"), now, replay=replay,
             skipped=True)
        return
    body = event.body.encode()
    # The signature's time is when it is really sent: receivers compare it with their own clock.
    header = signature_header(body, signing_secrets(endpoint, now), int(utcnow().timestamp()))
    answer = webhook_sender().post(endpoint.url, body, {SIGNATURE_HEADER: header})
    _log(endpoint, event, answer, now, replay=replay)
    if answer.ok:
        endpoint.failing_since, endpoint.last_success_at = None, now
        return
    endpoint.failing_since = endpoint.failing_since or now
    problem = answer.error or f"answered HTTP {answer.status}"
    if now - endpoint.failing_since >= FAILING_LIMIT:
        disable_failing(endpoint, problem, now)
        return
    raise DeliveryFailed(f"webhook endpoint {endpoint.id} {problem}")


def _log(endpoint: WebhookEndpoint, event: WebhookEvent, answer: Answer, now: datetime, *,
         replay: bool, skipped: bool = False) -> WebhookDelivery:
    earlier = db.session.scalar(select(func.count(WebhookDelivery.id)).where(
        WebhookDelivery.endpoint_id == endpoint.id, WebhookDelivery.event_id == event.id)) or 0
    outcome = (DeliveryOutcome.SKIPPED if skipped else
               DeliveryOutcome.SUCCEEDED if answer.ok else DeliveryOutcome.FAILED)
    row = WebhookDelivery(endpoint_id=endpoint.id, event_id=event.id, attempt=earlier + 1, replay=replay,
                          outcome=outcome, status_code=answer.status, latency_ms=answer.latency_ms,
                          response_excerpt=answer.excerpt or None, error=answer.error, attempted_at=now)
    db.session.add(row)
    db.session.flush()
    log_event(logger, "webhook.delivery", level=logging.INFO if answer.ok else logging.WARNING,
              endpoint_id=endpoint.id, event_id=event.public_id, outcome=str(outcome), status=answer.status,
              latency_ms=answer.latency_ms)
    return row


def disable_failing(endpoint: WebhookEndpoint, problem: str, now: datetime) -> None:
    """Disable an endpoint that has failed since `failing_since` and email the admins about it."""
    since = endpoint.failing_since or now
    endpoint.enabled, endpoint.disabled_at = False, now
    endpoint.disabled_reason = f"every delivery failed since {since:%Y-%m-%d %H:%M} UTC; the last one {problem}"[:2000]
    db.session.flush()
    forget_endpoints()
    for address in alert_recipients():
        text = render_template("staff/email/webhook_disabled.txt", endpoint=endpoint, since=since, problem=problem,
                               base_url=current_app.config["BASE_URL"])
        email = Email(to=address, subject=f"Webhook endpoint disabled: {endpoint.url}"[:200], text=text,
                      kind="webhook_disabled")
        enqueue(EMAIL_TOPIC, f"email:{address}", email.to_payload(),
                dedupe_key=f"webhook_disabled:{endpoint.id}:{int(now.timestamp())}:{address}", now=now)
    log_event(logger, "webhook.endpoint_disabled", level=logging.WARNING, endpoint_id=endpoint.id)


def alert_recipients() -> list[str]:
    """ALERT_EMAIL (comma-separated) when it is set, else every active admin."""
    configured = [a.strip() for a in str(current_app.config.get("ALERT_EMAIL") or "").split(",") if a.strip()]
    if configured:
        return configured
    return list(db.session.scalars(select(StaffUser.email).where(StaffUser.role == Role.ADMIN,
                                                                 StaffUser.active.is_(True)).order_by(StaffUser.id)))


# --- erasure ---------------------------------------------------------------------------------


# Events and their delivery logs are kept 30 days for the console's log and replays, as Stripe
# keeps its own events retrievable for 30 days (https://docs.stripe.com/api/events).
EVENT_RETENTION = timedelta(days=30)


def purge_old_events(now: datetime, batch: int = 1000) -> int:
    """Delete events older than EVENT_RETENTION (their delivery log goes with them), oldest first,
    a batch at a time. A delivery still queued for one finds it gone and sends nothing."""
    ids = (select(WebhookEvent.id).where(WebhookEvent.created_at < now - EVENT_RETENTION)
           .order_by(WebhookEvent.created_at).limit(batch))
    found = list(db.session.scalars(ids))
    if found:
        db.session.execute(delete(WebhookDelivery).where(WebhookDelivery.event_id.in_(found)))
        db.session.execute(delete(WebhookEvent).where(WebhookEvent.id.in_(found)))
    return len(found)


def forget_member(member: Member) -> int:
    """Erasure: stored events about the member (by id, or naming their address) keep only their
    id, type and time, so neither the console nor a later delivery or replay shows them. Call
    before the address is replaced. Returns how many were scrubbed."""
    as_text = cast(WebhookEvent.body, Text)
    # The address as a whole JSON string, quotes included: erasing a@example.org leaves aa@example.org's events alone.
    names = or_(WebhookEvent.member_id == member.id,
                *(as_text.contains(s, autoescape=True) for s in {f'"{member.email}"', json.dumps(member.email)}))
    scrubbed = 0
    for event in db.session.scalars(select(WebhookEvent).where(names)):
        kept = {k: v for k, v in json.loads(event.body).items() if k in ("id", "type", "created")}
        event.body = json.dumps({**kept, "data": {"erased": True}}, separators=(",", ":"))
        event.member_id = member.id
        scrubbed += 1
    db.session.flush()
    return scrubbed

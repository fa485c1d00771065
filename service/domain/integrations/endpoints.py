"""Admins managing outgoing webhook endpoints: register, rotate the secret, disable or enable,
delete, read the delivery log and replay a delivery. Every change is audited; no audit entry
ever holds a secret. Functions flush; the request commits."""
from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select

from service.domain.integrations.webhooks import ALL_EVENTS, EVENT_TYPES, forget_endpoints, queue_delivery
from service.domain.staff import audit
from service.errors import NotFound, ValidationFailed
from service.extensions import db
from service.gateways import webhook_sender
from service.gateways.outgoing_webhooks import UnsafeUrl
from service.logs import log_event
from service.models import StaffUser, WebhookDelivery, WebhookEndpoint, WebhookEvent

logger = logging.getLogger(__name__)
# After a rotation the previous secret still signs for this long, so receivers can switch over.
ROTATION_OVERLAP = timedelta(hours=24)
MAX_ENDPOINTS = 50
LOG_PAGE = 50


@dataclass(frozen=True)
class Delivery:
    """One line of an endpoint's log, with the event it carried."""

    row: WebhookDelivery
    event: WebhookEvent


def new_secret() -> str:
    return f"whsec_{secrets.token_urlsafe(32)}"


def snapshot(endpoint: WebhookEndpoint) -> dict[str, Any]:
    """What the audit log keeps of an endpoint: never its secret."""
    return {"endpoint_id": endpoint.id, "url": endpoint.url, "event_types": list(endpoint.event_types),
            "enabled": endpoint.enabled, "description": endpoint.description}


def endpoints() -> list[WebhookEndpoint]:
    return list(db.session.scalars(select(WebhookEndpoint).order_by(WebhookEndpoint.id)))


def get_endpoint(endpoint_id: int) -> WebhookEndpoint:
    endpoint = db.session.get(WebhookEndpoint, endpoint_id)
    if endpoint is None:
        raise NotFound(f"No webhook endpoint with id {endpoint_id}.")
    return endpoint


def deliveries(endpoint_id: int, *, limit: int = LOG_PAGE, before: int | None = None) -> list[Delivery]:
    """The endpoint's log, newest first, `limit` lines older than the line `before`."""
    query = (select(WebhookDelivery, WebhookEvent).join(WebhookEvent, WebhookEvent.id == WebhookDelivery.event_id)
             .where(WebhookDelivery.endpoint_id == get_endpoint(endpoint_id).id)
             .order_by(WebhookDelivery.id.desc()).limit(limit))
    if before is not None:
        query = query.where(WebhookDelivery.id < before)
    return [Delivery(row, event) for row, event in db.session.execute(query).all()]


def create_endpoint(actor: StaffUser, url: str, event_types: list[str], description: str,
                    now: datetime) -> tuple[WebhookEndpoint, str]:
    """Register an endpoint; returns it and its secret, which is shown this once.
    Raises ValidationFailed naming the field to fix."""
    url = _checked_url(url)
    types = _checked_types(event_types)
    if len(endpoints()) >= MAX_ENDPOINTS:
        raise ValidationFailed(f"There are {MAX_ENDPOINTS} endpoints already; delete one you no longer use first.")
    secret = new_secret()
    endpoint = WebhookEndpoint(url=url, event_types=types, description=description.strip()[:200], secret=secret,
                               enabled=True, created_by_staff_user_id=actor.id, created_at=now, updated_at=now)
    db.session.add(endpoint)
    db.session.flush()
    forget_endpoints()
    audit.record(actor, "webhook_endpoint.created", None, None, snapshot(endpoint), now)
    log_event(logger, "webhook.endpoint_created", endpoint_id=endpoint.id, staff_user_id=actor.id)
    return endpoint, secret


def rotate_secret(actor: StaffUser, endpoint_id: int, now: datetime) -> tuple[WebhookEndpoint, str]:
    """A new secret, shown once; the old one keeps signing (a second v1) for ROTATION_OVERLAP."""
    endpoint = get_endpoint(endpoint_id)
    secret = new_secret()
    endpoint.previous_secret, endpoint.previous_secret_expires_at = endpoint.secret, now + ROTATION_OVERLAP
    endpoint.secret, endpoint.updated_at = secret, now
    db.session.flush()
    audit.record(actor, "webhook_endpoint.secret_rotated", None, None,
                 {**snapshot(endpoint), "previous_secret_expires_at": endpoint.previous_secret_expires_at.isoformat()},
                 now)
    return endpoint, secret


def set_enabled(actor: StaffUser, endpoint_id: int, enabled: bool, now: datetime) -> WebhookEndpoint:
    """Disable an endpoint (events are no longer queued for it) or enable it again, with a clean slate."""
    endpoint = get_endpoint(endpoint_id)
    before = snapshot(endpoint)
    endpoint.enabled, endpoint.updated_at = enabled, now
    if enabled:
        endpoint.disabled_at = endpoint.disabled_reason = endpoint.failing_since = None
    else:
        endpoint.disabled_at, endpoint.disabled_reason = now, f"disabled by {actor.email}"
    db.session.flush()
    forget_endpoints()
    audit.record(actor, "webhook_endpoint.enabled" if enabled else "webhook_endpoint.disabled", None, before,
                 snapshot(endpoint), now)
    return endpoint


def delete_endpoint(actor: StaffUser, endpoint_id: int, now: datetime) -> None:
    """Forget the endpoint and its log; messages still queued for it are dropped when their turn comes."""
    endpoint = get_endpoint(endpoint_id)
    before = snapshot(endpoint)
    db.session.execute(delete(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint.id))
    db.session.delete(endpoint)
    db.session.flush()
    forget_endpoints()
    audit.record(actor, "webhook_endpoint.deleted", None, before, None, now)


def replay(actor: StaffUser, endpoint_id: int, delivery_id: int, now: datetime) -> WebhookEvent:
    """Send a logged delivery's event to its endpoint again (after the endpoint's queued ones).
    Raises NotFound, or ValidationFailed while the endpoint is disabled."""
    endpoint = get_endpoint(endpoint_id)
    row = db.session.get(WebhookDelivery, delivery_id)
    if row is None or row.endpoint_id != endpoint.id:
        raise NotFound(f"No delivery {delivery_id} in the log of webhook endpoint {endpoint_id}.")
    if not endpoint.enabled:
        raise ValidationFailed("The endpoint is disabled: enable it first, then replay.")
    event = db.session.get(WebhookEvent, row.event_id)
    assert event is not None  # deliveries go with their event
    queue_delivery(endpoint, event, now, replay=True)
    audit.record(actor, "webhook_delivery.replayed", None, None,
                 {"endpoint_id": endpoint.id, "delivery_id": row.id, "event_id": event.public_id}, now)
    return event


def _checked_url(url: str) -> str:
    url = url.strip()
    try:
        webhook_sender().check_url(url)
    except UnsafeUrl as exc:
        raise ValidationFailed(f"That URL cannot receive webhooks: {exc}", fields={"url": [str(exc)]}) from None
    return url


def _checked_types(event_types: list[str]) -> list[str]:
    types = list(dict.fromkeys(t.strip() for t in event_types if t.strip()))
    unknown = [t for t in types if t != ALL_EVENTS and t not in EVENT_TYPES]
    if not types or unknown:
        message = (f"Unknown event type(s): {', '.join(unknown)}. " if unknown else "Choose at least one event type. ")
        message += f"Known: {', '.join(EVENT_TYPES)}, or {ALL_EVENTS} for all."
        raise ValidationFailed(message, fields={"event_types": [message]})
    return [ALL_EVENTS] if ALL_EVENTS in types else types

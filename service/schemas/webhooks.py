"""Outgoing webhooks: what admins send to register an endpoint, what the API shows of endpoints
and their delivery log, and the public JSON that events carry (the API's own member and
contribution schemas, registered with the domain here because schemas sit above it)."""
from __future__ import annotations

from typing import Any

from marshmallow import RAISE, Schema, fields, validate

from service.domain.integrations import webhooks
from service.models import Contribution, DeliveryOutcome, Member
from service.schemas import NO_NUL, cursor_field
from service.schemas.contribution import ContributionOut
from service.schemas.member import MemberOut

webhooks.shows(Member, lambda member: MemberOut().dump(member))
webhooks.shows(Contribution, lambda contribution: ContributionOut().dump(contribution))

EVENT_TYPE_CHOICES = [*webhooks.EVENT_TYPES, webhooks.ALL_EVENTS]
MAX_PAGE = 100


class WebhookEndpointIn(Schema):
    """`POST /api/v1/webhook-endpoints`. Unknown keys are refused."""

    class Meta:
        unknown = RAISE

    url = fields.String(required=True, validate=[validate.Length(min=1, max=2048), validate.Regexp(NO_NUL)],
                        metadata={"description": "https:// (http:// outside production); a public address unless "
                                                 "WEBHOOK_ALLOW_PRIVATE_URLS=true"})
    event_types = fields.List(fields.String(validate=validate.OneOf(EVENT_TYPE_CHOICES)), required=True,
                              validate=validate.Length(min=1, max=len(EVENT_TYPE_CHOICES),
                                                       error="Choose at least one event type, or * for all."),
                              metadata={"description": "Event types to send, or [\"*\"] for all"})
    description = fields.String(load_default="", validate=[validate.Length(max=200), validate.Regexp(NO_NUL)])


class WebhookEndpointOut(Schema):
    """An endpoint as the API shows it: never its secret (only when created or rotated)."""

    id = fields.Integer(required=True)
    url = fields.String(required=True)
    description = fields.String(required=True)
    event_types = fields.List(fields.String(), required=True)
    enabled = fields.Boolean(required=True)
    disabled_at = fields.AwareDateTime(required=True, allow_none=True)
    disabled_reason = fields.String(required=True, allow_none=True)
    failing_since = fields.AwareDateTime(required=True, allow_none=True,
                                         metadata={"description": "First failure since the last success"})
    last_success_at = fields.AwareDateTime(required=True, allow_none=True)
    previous_secret_expires_at = fields.AwareDateTime(
        required=True, allow_none=True, metadata={"description": "Until then the previous secret signs too"})
    created_at = fields.AwareDateTime(required=True)


class WebhookEndpointSecretOut(WebhookEndpointOut):
    """The answer to a registration or a rotation: the endpoint and its new secret, shown this once."""

    secret = fields.String(required=True, metadata={"description": "whsec_...: sign key for Membership-Signature"})


class WebhookEndpointListOut(Schema):
    data = fields.List(fields.Nested(WebhookEndpointOut), required=True)
    has_more = fields.Boolean(required=True)
    next_cursor = fields.String(allow_none=True, required=True)


class WebhookDeliveryOut(Schema):
    """One attempt in an endpoint's log."""

    id = fields.Integer(required=True)
    event_id = fields.String(required=True, metadata={"description": "The body's id (evt_...)"})
    event_type = fields.String(required=True)
    attempt = fields.Integer(required=True, metadata={"description": "1 for the first attempt at this event"})
    replay = fields.Boolean(required=True)
    outcome = fields.String(required=True, validate=validate.OneOf([o.value for o in DeliveryOutcome]))
    status_code = fields.Integer(required=True, allow_none=True)
    latency_ms = fields.Integer(required=True, allow_none=True)
    response_excerpt = fields.String(required=True, allow_none=True,
                                     metadata={"description": "The first bytes of the answer's body"})
    error = fields.String(required=True, allow_none=True)
    attempted_at = fields.AwareDateTime(required=True)


class WebhookDeliveryListOut(Schema):
    data = fields.List(fields.Nested(WebhookDeliveryOut), required=True)
    has_more = fields.Boolean(required=True)
    next_cursor = fields.String(allow_none=True, required=True)


class WebhookDeliveryQuery(Schema):
    class Meta:
        unknown = RAISE

    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=MAX_PAGE))
    cursor = cursor_field()


class ReplayOut(Schema):
    queued = fields.Boolean(required=True)
    event_id = fields.String(required=True)


def delivery_fields(delivery: Any) -> dict[str, Any]:
    """An `endpoints.Delivery` (a log line and its event) as the fields WebhookDeliveryOut dumps."""
    row, event = delivery.row, delivery.event
    return {"id": row.id, "event_id": event.public_id, "event_type": event.type, "attempt": row.attempt,
            "replay": row.replay, "outcome": str(row.outcome), "status_code": row.status_code,
            "latency_ms": row.latency_ms, "response_excerpt": row.response_excerpt, "error": row.error,
            "attempted_at": row.attempted_at}

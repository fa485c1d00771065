"""Outgoing webhook endpoints in the JSON API (admins; changes need a write token and are audited)."""
from __future__ import annotations

from typing import Any

from flask import g, jsonify, request
from marshmallow import ValidationError

from service.db import utcnow
from service.domain.integrations import endpoints as hooks
from service.errors import DomainError
from service.models import Role
from service.schemas import cursor_value
from service.schemas.webhooks import (
    ReplayOut,
    WebhookDeliveryListOut,
    WebhookDeliveryQuery,
    WebhookEndpointIn,
    WebhookEndpointListOut,
    WebhookEndpointOut,
    WebhookEndpointSecretOut,
    delivery_fields,
)
from service.web.api.base import bp, parse_query, require_token


def _body(schema: WebhookEndpointIn) -> dict[str, Any]:
    """The JSON body, validated; a 400 names every field to fix."""
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise DomainError('Send a JSON object, like {"url": "https://...", "event_types": ["member.created"]}, '
                          "with Content-Type: application/json.", code="invalid_body")
    try:
        return schema.load(data)
    except ValidationError as exc:
        messages = exc.normalized_messages()
        summary = "; ".join(f"{field}: {msgs}" for field, msgs in messages.items())
        raise DomainError(f"Bad request body. {summary}", code="invalid_body", fields=messages) from None


@bp.get("/v1/webhook-endpoints")
@require_token(Role.ADMIN)
def list_webhook_endpoints():
    found = hooks.endpoints()
    return jsonify(WebhookEndpointListOut().dump({"data": found, "has_more": False, "next_cursor": None}))


@bp.post("/v1/webhook-endpoints")
@require_token(Role.ADMIN, write=True)
def create_webhook_endpoint():
    form = _body(WebhookEndpointIn())
    endpoint, _secret = hooks.create_endpoint(g.api_user, form["url"], form["event_types"], form["description"], utcnow())
    return jsonify(WebhookEndpointSecretOut().dump(endpoint)), 201  # the secret, this once


@bp.get("/v1/webhook-endpoints/<int:endpoint_id>")
@require_token(Role.ADMIN)
def get_webhook_endpoint(endpoint_id: int):
    return jsonify(WebhookEndpointOut().dump(hooks.get_endpoint(endpoint_id)))


@bp.delete("/v1/webhook-endpoints/<int:endpoint_id>")
@require_token(Role.ADMIN, write=True)
def delete_webhook_endpoint(endpoint_id: int):
    hooks.delete_endpoint(g.api_user, endpoint_id, utcnow())
    return "", 204


@bp.post("/v1/webhook-endpoints/<int:endpoint_id>/rotate-secret")
@require_token(Role.ADMIN, write=True)
def rotate_webhook_secret(endpoint_id: int):
    endpoint, _secret = hooks.rotate_secret(g.api_user, endpoint_id, utcnow())
    return jsonify(WebhookEndpointSecretOut().dump(endpoint))  # the new secret, this once


@bp.post("/v1/webhook-endpoints/<int:endpoint_id>/enable")
@require_token(Role.ADMIN, write=True)
def enable_webhook_endpoint(endpoint_id: int):
    return jsonify(WebhookEndpointOut().dump(hooks.set_enabled(g.api_user, endpoint_id, True, utcnow())))


@bp.post("/v1/webhook-endpoints/<int:endpoint_id>/disable")
@require_token(Role.ADMIN, write=True)
def disable_webhook_endpoint(endpoint_id: int):
    return jsonify(WebhookEndpointOut().dump(hooks.set_enabled(g.api_user, endpoint_id, False, utcnow())))


@bp.get("/v1/webhook-endpoints/<int:endpoint_id>/deliveries")
@require_token(Role.ADMIN)
def list_webhook_deliveries(endpoint_id: int):
    args = parse_query(WebhookDeliveryQuery())
    found = hooks.deliveries(endpoint_id, limit=args["limit"] + 1, before=cursor_value(args))
    page, more = found[:args["limit"]], len(found) > args["limit"]
    return jsonify(WebhookDeliveryListOut().dump({"data": [delivery_fields(d) for d in page], "has_more": more,
                                                  "next_cursor": str(page[-1].row.id) if more else None}))


@bp.post("/v1/webhook-endpoints/<int:endpoint_id>/deliveries/<int:delivery_id>/replay")
@require_token(Role.ADMIN, write=True)
def replay_webhook_delivery(endpoint_id: int, delivery_id: int):
    event = hooks.replay(g.api_user, endpoint_id, delivery_id, utcnow())
    return jsonify(ReplayOut().dump({"queued": True, "event_id": event.public_id})), 202

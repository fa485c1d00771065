"""`/api/v1/webhook-endpoints`: admins only, changes with a write token, 4xx messages a person can
act on, the secret shown once, and answers that match the OpenAPI document."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from service.db import utcnow
from service.domain.billing.join import new_member
from service.gateways.outgoing_webhooks import WebhookSender
from service.jobs import deliver_outbox
from service.models import AuditEntry, WebhookEndpoint
from tests.web.api.test_openapi import check
from tests.webhook_receiver import Receiver

PUBLIC_URL = "https://93.184.216.34/hooks/membership"
BODY = {"url": PUBLIC_URL, "event_types": ["member.created", "member.status_changed"], "description": "CRM"}


@pytest.fixture
def doc(client):
    return client.get("/api/openapi.json").get_json()


def schema(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def test_tokens_and_roles(client, api_token, db_session):
    assert client.get("/api/v1/webhook-endpoints").status_code == 401
    assert client.get("/api/v1/webhook-endpoints", headers=api_token("support", "write")).status_code == 403
    read_only = api_token("admin", "read")
    assert client.get("/api/v1/webhook-endpoints", headers=read_only).status_code == 200
    refused = client.post("/api/v1/webhook-endpoints", json=BODY, headers=read_only)
    assert refused.status_code == 403 and "read-only" in refused.get_json()["error"]["message"]


def test_register_read_rotate_and_delete(client, api_token, db_session, doc):
    headers = api_token("admin", "write")
    created = client.post("/api/v1/webhook-endpoints", json=BODY, headers=headers)
    assert created.status_code == 201, created.get_json()
    body = created.get_json()
    check(body, schema("WebhookEndpointWithSecret"), doc)
    assert body["secret"].startswith("whsec_") and body["url"] == PUBLIC_URL and body["enabled"] is True
    assert body["event_types"] == ["member.created", "member.status_changed"]

    listed = client.get("/api/v1/webhook-endpoints", headers=headers).get_json()
    check(listed, schema("WebhookEndpointList"), doc)
    assert [e["id"] for e in listed["data"]] == [body["id"]] and "secret" not in listed["data"][0]
    one = client.get(f"/api/v1/webhook-endpoints/{body['id']}", headers=headers).get_json()
    check(one, schema("WebhookEndpoint"), doc)
    assert "secret" not in one

    rotated = client.post(f"/api/v1/webhook-endpoints/{body['id']}/rotate-secret", headers=headers).get_json()
    check(rotated, schema("WebhookEndpointWithSecret"), doc)
    assert rotated["secret"] != body["secret"] and rotated["previous_secret_expires_at"] is not None

    disabled = client.post(f"/api/v1/webhook-endpoints/{body['id']}/disable", headers=headers).get_json()
    assert disabled["enabled"] is False and disabled["disabled_reason"].startswith("disabled by ")
    assert client.post(f"/api/v1/webhook-endpoints/{body['id']}/enable", headers=headers).get_json()["enabled"] is True

    assert client.delete(f"/api/v1/webhook-endpoints/{body['id']}", headers=headers).status_code == 204
    gone = client.get(f"/api/v1/webhook-endpoints/{body['id']}", headers=headers)
    assert gone.status_code == 404
    check(gone.get_json(), schema("Error"), doc)
    actions = list(db_session.scalars(select(AuditEntry.action).where(AuditEntry.action.like("webhook%"))
                                      .order_by(AuditEntry.id)))
    assert actions == ["webhook_endpoint.created", "webhook_endpoint.secret_rotated", "webhook_endpoint.disabled",
                       "webhook_endpoint.enabled", "webhook_endpoint.deleted"]


@pytest.mark.parametrize("payload, status, code, says", [
    (None, 400, "invalid_body", "Send a JSON object"),
    ({"event_types": ["member.created"]}, 400, "invalid_body", "url"),
    ({**BODY, "event_types": []}, 400, "invalid_body", "Choose at least one event type"),
    ({**BODY, "event_types": ["member.deleted"]}, 400, "invalid_body", "Must be one of"),
    ({**BODY, "secret": "mine"}, 400, "invalid_body", "Unknown field"),
    ({**BODY, "url": "ftp://93.184.216.34/"}, 422, "validation_failed", "must start with https:// or http://"),
    ({**BODY, "url": "http://127.0.0.1:8080/"}, 422, "validation_failed", "WEBHOOK_ALLOW_PRIVATE_URLS=true"),
    ({**BODY, "url": "http://169.254.169.254/latest/meta-data/"}, 422, "validation_failed", "not a public address"),
    ({**BODY, "url": "http://localhost:5000/"}, 422, "validation_failed", "resolves to"),
])
def test_bad_input_is_a_4xx_that_says_what_to_fix(client, api_token, db_session, doc, payload, status, code, says):
    headers = api_token("admin", "write")
    response = (client.post("/api/v1/webhook-endpoints", data="url=x", headers=headers) if payload is None
                else client.post("/api/v1/webhook-endpoints", json=payload, headers=headers))
    assert response.status_code == status
    error = response.get_json()["error"]
    assert error["code"] == code and says in error["message"]
    check(response.get_json(), schema("Error"), doc)
    assert db_session.scalars(select(WebhookEndpoint)).first() is None


def test_the_delivery_log_pages_and_any_delivery_replays(client, api_token, db_session, app, doc, monkeypatch):
    monkeypatch.setitem(app.extensions, "webhooks", WebhookSender(allow_private=True, require_https=False))
    receiver = Receiver()
    try:
        headers = api_token("admin", "write")
        made = client.post("/api/v1/webhook-endpoints", json={"url": receiver.url, "event_types": ["*"]},
                           headers=headers).get_json()
        receiver.reset(made["secret"])
        for n in range(3):
            new_member(f"reader{n}@example.org", f"Reader {n}", utcnow(), source="join form")
        db_session.commit()
        deliver_outbox(10, keys=[f"webhook:{made['id']}"])
        assert len(receiver.events()) == 3

        first = client.get(f"/api/v1/webhook-endpoints/{made['id']}/deliveries?limit=2", headers=headers).get_json()
        check(first, schema("WebhookDeliveryList"), doc)
        assert first["has_more"] is True and len(first["data"]) == 2
        rest = client.get(f"/api/v1/webhook-endpoints/{made['id']}/deliveries?limit=2&cursor={first['next_cursor']}",
                          headers=headers).get_json()
        assert rest["has_more"] is False and len(rest["data"]) == 1
        oldest = rest["data"][0]
        assert oldest["outcome"] == "succeeded" and oldest["status_code"] == 200 and oldest["attempt"] == 1
        assert oldest["event_type"] == "member.created" and oldest["response_excerpt"] == '{"received": true}'
        bad = client.get(f"/api/v1/webhook-endpoints/{made['id']}/deliveries?limit=0", headers=headers)
        assert bad.status_code == 400 and "limit" in bad.get_json()["error"]["message"]

        replay = client.post(f"/api/v1/webhook-endpoints/{made['id']}/deliveries/{oldest['id']}/replay", headers=headers)
        assert replay.status_code == 202
        check(replay.get_json(), schema("Replay"), doc)
        assert replay.get_json() == {"queued": True, "event_id": oldest["event_id"]}
        deliver_outbox(10, keys=[f"webhook:{made['id']}"])
        assert [e["id"] for e in receiver.events()].count(oldest["event_id"]) == 2
        missing = client.post(f"/api/v1/webhook-endpoints/{made['id']}/deliveries/999999/replay", headers=headers)
        assert missing.status_code == 404
    finally:
        receiver.close()

"""The OpenAPI document, generated from the marshmallow schemas the API uses."""
from __future__ import annotations

from typing import Any

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from flask import jsonify

from service.domain.insight.figures import FIGURES
from service.schemas.contribution import (
    ContributionAttributionOut,
    ContributionListOut,
    ContributionOut,
    ContributionQuery,
    DedicationOut,
    StripeIdsOut,
)
from service.schemas.gift import GiftListOut, GiftOut, GiftPurchaserOut, GiftQuery, GiftRecipientOut
from service.schemas.insight import CohortCellOut, ConvertedOut, InsightOut, InsightStatsOut, MoneyOut
from service.schemas.member import MemberAttributionOut, MemberListOut, MemberOut, MemberQuery, NewsletterOut, PlanOut, SubscriptionOut
from service.schemas.newsletter import SubscriberListOut, SubscriberQuery
from service.schemas.staff_api import AuditListOut, AuditQuery, MemberDetailOut
from service.schemas.webhooks import (
    ReplayOut,
    WebhookDeliveryListOut,
    WebhookDeliveryOut,
    WebhookDeliveryQuery,
    WebhookEndpointIn,
    WebhookEndpointListOut,
    WebhookEndpointOut,
    WebhookEndpointSecretOut,
)
from service.web.api.base import bp

_ERROR = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {"code": {"type": "string"}, "message": {"type": "string"}, "fields": {"type": "object"}},
        }
    },
}


def _errors(*statuses: int) -> dict[str, Any]:
    texts = {400: "Bad parameters", 401: "Missing, malformed or revoked token", 403: "Role too low",
             404: "Not found"}
    return {str(s): {"description": texts[s], "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}} for s in statuses}


def _method_field(converter: Any, field: Any, **_: Any) -> dict[str, Any]:
    """Describe `fields.Method` outputs from their metadata (a schema, or a plain type)."""
    meta = field.metadata
    if "schema" in meta:
        ref = {"$ref": f"#/components/schemas/{meta['schema'].__name__.removesuffix('Out')}"}
        if meta.get("many"):
            return {"type": "array", "items": ref}
        return {"allOf": [ref], "nullable": True} if field.allow_none else ref
    if "type" in meta:
        return {"type": meta["type"], **({"format": meta["format"]} if "format" in meta else {}),
                **({"nullable": True} if field.allow_none else {})}
    return {}


def build_spec() -> dict[str, Any]:
    # apispec documents a None name as "inline the schema" but types the resolver as returning str.
    plugin = MarshmallowPlugin(schema_name_resolver=lambda schema: None)  # type: ignore[arg-type,return-value]
    spec = APISpec(title="Membership staff API", version="1", openapi_version="3.0.3", plugins=[plugin])
    assert plugin.converter is not None  # set by APISpec(plugins=[plugin]), which calls plugin.init_spec
    plugin.converter.add_attribute_function(_method_field)
    spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer"})
    spec.components.schema("Error", _ERROR)
    for name, schema in (("Plan", PlanOut), ("Subscription", SubscriptionOut), ("Newsletter", NewsletterOut),
                         ("MemberAttribution", MemberAttributionOut), ("Member", MemberOut), ("MemberList", MemberListOut)):
        spec.components.schema(name, schema=schema)
    security: list[dict[str, list[str]]] = [{"bearer": []}]
    spec.path(path="/api/v1/members", operations={"get": {
        "summary": "Find members", "operationId": "listMembers", "security": security,
        "parameters": [{"in": "query", "schema": MemberQuery}],
        "responses": {"200": {"description": "A page of members",
                              "content": {"application/json": {"schema": "MemberList"}}}, **_errors(400, 401, 403)},
    }})
    spec.path(path="/api/v1/members/{member_id}", operations={"get": {
        "summary": "One member", "operationId": "getMember", "security": security,
        "parameters": [{"in": "path", "name": "member_id", "required": True, "schema": {"type": "integer"}}],
        "responses": {"200": {"description": "The member", "content": {"application/json": {"schema": "Member"}}},
                      **_errors(401, 403, 404)},
    }})
    spec.path(path="/api/v1/members/{member_id}/resync", operations={"post": {
        "summary": "Re-read the member's subscriptions from Stripe now (support role; audited)",
        "operationId": "resyncMember", "security": security,
        "parameters": [{"in": "path", "name": "member_id", "required": True, "schema": {"type": "integer"}}],
        "responses": {"200": {"description": "The member after the resync",
                              "content": {"application/json": {"schema": "Member"}}},
                      **_errors(401, 403, 404), **_errors_billing()},
    }})
    _newsletter_paths(spec, security)
    _console_paths(spec, security)
    _contribution_paths(spec, security)
    _gift_paths(spec, security)
    _webhook_paths(spec, security)
    return spec.to_dict()


def _contribution_paths(spec: APISpec, security: list[dict[str, list[str]]]) -> None:
    """Contributions: a page of JSON, or every match as CSV (same filters)."""
    for name, schema in (("ContributionAttribution", ContributionAttributionOut), ("Dedication", DedicationOut),
                         ("StripeIds", StripeIdsOut), ("Contribution", ContributionOut),
                         ("ContributionList", ContributionListOut)):
        spec.components.schema(name, schema=schema)
    spec.path(path="/api/v1/contributions", operations={"get": {
        "summary": "Find contributions, newest paid first", "operationId": "listContributions", "security": security,
        "parameters": [{"in": "query", "schema": ContributionQuery}],
        "responses": {"200": {"description": "A page of contributions",
                              "content": {"application/json": {"schema": "ContributionList"}}}, **_errors(400, 401, 403)},
    }})
    spec.path(path="/api/v1/contributions.csv", operations={"get": {
        "summary": "Every matching contribution as CSV, for the accountant", "operationId": "exportContributions",
        "security": security, "parameters": [{"in": "query", "schema": ContributionQuery(exclude=("limit", "cursor"))}],
        "responses": {"200": {"description": "CSV: receipt_number, paid_at, member_id, email, name, anonymous, kind, "
                                             "currency, amount, fee_covered, refunded, disputed, net (amounts in major "
                                             "units, e.g. 25.00), campaign, Stripe ids",
                              "content": {"text/csv": {"schema": {"type": "string"}}}}, **_errors(400, 401, 403)},
    }})


def _gift_paths(spec: APISpec, security: list[dict[str, list[str]]]) -> None:
    """Gift memberships, newest first."""
    for name, schema in (("GiftPurchaser", GiftPurchaserOut), ("GiftRecipient", GiftRecipientOut), ("Gift", GiftOut),
                         ("GiftList", GiftListOut)):
        spec.components.schema(name, schema=schema)
    spec.path(path="/api/v1/gifts", operations={"get": {
        "summary": "Find gift memberships, newest first", "operationId": "listGifts", "security": security,
        "parameters": [{"in": "query", "schema": GiftQuery}],
        "responses": {"200": {"description": "A page of gifts", "content": {"application/json": {"schema": "GiftList"}}},
                      **_errors(400, 401, 403)},
    }})


def _console_paths(spec: APISpec, security: list[dict[str, list[str]]]) -> None:
    """What the staff console shows: a member's detail, the audit log, the dashboard's figures."""
    for name, schema in (("MemberDetail", MemberDetailOut), ("AuditList", AuditListOut), ("Money", MoneyOut),
                         ("Converted", ConvertedOut), ("CohortCell", CohortCellOut), ("Insight", InsightOut),
                         ("Stats", InsightStatsOut)):
        spec.components.schema(name, schema=schema)
    member_id = {"in": "path", "name": "member_id", "required": True, "schema": {"type": "integer"}}
    spec.path(path="/api/v1/members/{member_id}/detail", operations={"get": {
        "summary": "Everything the member page shows: reason in plain words, timeline, billing, consents, events",
        "operationId": "getMemberDetail", "security": security, "parameters": [member_id],
        "responses": {"200": {"description": "The member's detail",
                              "content": {"application/json": {"schema": "MemberDetail"}}}, **_errors(401, 403, 404)},
    }})
    spec.path(path="/api/v1/audit", operations={"get": {
        "summary": "The audit log of staff actions, newest first", "operationId": "listAudit", "security": security,
        "parameters": [{"in": "query", "schema": AuditQuery}],
        "responses": {"200": {"description": "A page of audit entries",
                              "content": {"application/json": {"schema": "AuditList"}}}, **_errors(400, 401, 403)},
    }})
    spec.path(path="/api/v1/stats", operations={"get": {
        "summary": "The dashboard's figures", "operationId": "getStats", "security": security,
        "responses": {"200": {"description": "Members by status, joins and lapses, revenue, webhook health, and "
                                             "`insight`: retention by join-month cohort, churn by cause, failed-payment "
                                             "recovery, recurring-revenue movements, campaigns, revenue per currency "
                                             "(converted amounts say which rate made them)",
                              "content": {"application/json": {"schema": "Stats"}}}, **_errors(401, 403)},
    }})
    spec.path(path="/api/v1/stats/{figure}.csv", operations={"get": {
        "summary": "One insight figure as CSV (amounts in major units, e.g. 25.00)", "operationId": "exportStatsFigure",
        "security": security,
        "parameters": [{"in": "path", "name": "figure", "required": True,
                        "schema": {"type": "string", "enum": list(FIGURES)}}],
        "responses": {"200": {"description": "CSV with a header line", "content": {"text/csv": {"schema": {"type": "string"}}}},
                      **_errors(401, 403, 404)},
    }})


def _webhook_paths(spec: APISpec, security: list[dict[str, list[str]]]) -> None:
    """Outgoing webhook endpoints (admins; changes need a write token): register, read, delete,
    rotate the secret, enable or disable, the delivery log and replay."""
    for name, schema in (("WebhookEndpointIn", WebhookEndpointIn), ("WebhookEndpoint", WebhookEndpointOut),
                         ("WebhookEndpointWithSecret", WebhookEndpointSecretOut),
                         ("WebhookEndpointList", WebhookEndpointListOut), ("WebhookDelivery", WebhookDeliveryOut),
                         ("WebhookDeliveryList", WebhookDeliveryListOut), ("Replay", ReplayOut)):
        spec.components.schema(name, schema=schema)
    ids = {"type": "integer", "minimum": 1, "maximum": 2**31 - 1}  # what the routes' <int:...> accept
    endpoint_id = {"in": "path", "name": "endpoint_id", "required": True, "schema": ids}
    refused = {"422": {"description": "The URL or event types cannot be used (the message says why)",
                       "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}}

    def answer(text: str, schema: str) -> dict[str, Any]:
        return {"description": text, "content": {"application/json": {"schema": schema}}}

    spec.path(path="/api/v1/webhook-endpoints", operations={
        "get": {"summary": "The webhook endpoints", "operationId": "listWebhookEndpoints", "security": security,
                "responses": {"200": answer("Every endpoint", "WebhookEndpointList"), **_errors(401, 403)}},
        "post": {"summary": "Register an endpoint; the answer holds its secret, shown only this once",
                 "operationId": "createWebhookEndpoint", "security": security,
                 "requestBody": {"required": True, "content": {"application/json": {"schema": "WebhookEndpointIn"}}},
                 "responses": {"201": answer("The endpoint and its secret", "WebhookEndpointWithSecret"),
                               **_errors(400, 401, 403), **refused}}})
    spec.path(path="/api/v1/webhook-endpoints/{endpoint_id}", operations={
        "get": {"summary": "One endpoint", "operationId": "getWebhookEndpoint", "security": security,
                "parameters": [endpoint_id],
                "responses": {"200": answer("The endpoint", "WebhookEndpoint"), **_errors(401, 403, 404)}},
        "delete": {"summary": "Delete an endpoint and its log", "operationId": "deleteWebhookEndpoint",
                   "security": security, "parameters": [endpoint_id],
                   "responses": {"204": {"description": "Deleted"}, **_errors(401, 403, 404)}}})
    for action, operation, summary in (
            ("rotate-secret", "rotateWebhookSecret", "A new secret, shown once; the old one signs too for 24 hours"),
            ("enable", "enableWebhookEndpoint", "Send events to the endpoint again, with a clean slate"),
            ("disable", "disableWebhookEndpoint", "Stop sending events to the endpoint")):
        result = (answer("The endpoint and its new secret", "WebhookEndpointWithSecret") if action == "rotate-secret"
                  else answer("The endpoint", "WebhookEndpoint"))
        spec.path(path=f"/api/v1/webhook-endpoints/{{endpoint_id}}/{action}", operations={"post": {
            "summary": summary, "operationId": operation, "security": security, "parameters": [endpoint_id],
            "responses": {"200": result, **_errors(401, 403, 404)}}})
    spec.path(path="/api/v1/webhook-endpoints/{endpoint_id}/deliveries", operations={"get": {
        "summary": "The endpoint's delivery log, newest first", "operationId": "listWebhookDeliveries",
        "security": security, "parameters": [endpoint_id, {"in": "query", "schema": WebhookDeliveryQuery}],
        "responses": {"200": answer("A page of delivery attempts", "WebhookDeliveryList"), **_errors(400, 401, 403, 404)},
    }})
    spec.path(path="/api/v1/webhook-endpoints/{endpoint_id}/deliveries/{delivery_id}/replay", operations={"post": {
        "summary": "Send a logged delivery's event again (queued for the worker)", "operationId": "replayWebhookDelivery",
        "security": security,
        "parameters": [endpoint_id, {"in": "path", "name": "delivery_id", "required": True, "schema": ids}],
        "responses": {"202": answer("Queued", "Replay"), **_errors(401, 403, 404), **refused},
    }})


def _errors_billing() -> dict[str, Any]:
    ref = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    return {"502": {"description": "Stripe refused the request", "content": ref},
            "503": {"description": "Stripe unavailable; try again", "content": ref}}


def _newsletter_paths(spec: APISpec, security: list[dict[str, list[str]]]) -> None:
    slug = {"in": "path", "name": "slug", "required": True, "schema": {"type": "string"},
            "description": "members-digest or daily-headlines"}
    spec.components.schema("SubscriberList", schema=SubscriberListOut)
    spec.path(path="/api/v1/newsletters/{slug}/subscribers", operations={"get": {
        "summary": "A list's subscribers (local provider), paged", "operationId": "listSubscribers",
        "security": security, "parameters": [slug, {"in": "query", "schema": SubscriberQuery}],
        "responses": {"200": {"description": "A page of subscribers",
                              "content": {"application/json": {"schema": "SubscriberList"}}},
                      **_errors(400, 401, 403, 404)},
    }})
    spec.path(path="/api/v1/newsletters/{slug}/subscribers.csv", operations={"get": {
        "summary": "A list's subscribers as CSV", "operationId": "exportSubscribers", "security": security,
        "parameters": [slug, {"in": "query", "schema": SubscriberQuery(only=("status",))}],
        "responses": {"200": {"description": "CSV: email, status, member_id, created_at, updated_at",
                              "content": {"text/csv": {"schema": {"type": "string"}}}},
                      **_errors(400, 401, 403, 404)},
    }})


@bp.get("/openapi.json")
def openapi_document():
    return jsonify(build_spec())

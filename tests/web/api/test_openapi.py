"""`/api/openapi.json` describes the API truthfully: a well-formed OpenAPI 3 document whose
schemas the real responses satisfy. (Neither jsonschema nor openapi-spec-validator is a
dependency, so a small checker for the subset of OpenAPI 3.0 the document uses is below.)"""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from service.db import utcnow
from service.models import MemberStatus, SubscriptionStatus
from tests.factories import make_member, make_subscription
from tests.web.api.test_members import CONTRACT_KEYS

HTTP_METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}
TYPES = {"object": dict, "array": list, "string": str, "integer": int, "number": (int, float), "boolean": bool}


@pytest.fixture
def doc(client) -> dict[str, Any]:
    response = client.get("/api/openapi.json")  # public: no token needed to read the spec
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    return response.get_json()


def resolve(doc: dict, ref: str) -> dict:
    assert ref.startswith("#/"), f"only local references are expected, got {ref}"
    node: Any = doc
    for part in ref[2:].split("/"):
        assert part in node, f"{ref} does not resolve"
        node = node[part]
    return node


def check(instance: Any, schema: dict, doc: dict, where: str = "$") -> None:
    """Assert `instance` satisfies `schema` (OpenAPI 3.0: $ref, allOf, nullable, type, enum,
    format date-time, properties, required, additionalProperties false, items)."""
    if "$ref" in schema:
        return check(instance, resolve(doc, schema["$ref"]), doc, where)
    if instance is None:
        assert schema.get("nullable") is True, f"{where} is null but the schema does not allow null"
        return None
    for part in schema.get("allOf", []):
        check(instance, part, doc, where)
    kind = schema.get("type")
    if kind:
        assert isinstance(instance, TYPES[kind]), f"{where}: {instance!r} is not {kind}"
        assert not (kind in ("integer", "number") and isinstance(instance, bool)), f"{where}: bool is not {kind}"
    if "enum" in schema:
        assert instance in schema["enum"], f"{where}: {instance!r} not in {schema['enum']}"
    if schema.get("format") == "date-time":
        assert datetime.fromisoformat(instance).tzinfo is not None, f"{where}: {instance} has no offset"
    if kind == "object":
        properties = schema.get("properties", {})
        missing = set(schema.get("required", [])) - set(instance)
        assert not missing, f"{where}: required keys missing: {missing}"
        if schema.get("additionalProperties") is False:
            assert set(instance) <= set(properties), f"{where}: undocumented keys {set(instance) - set(properties)}"
        for key, value in instance.items():
            if key in properties:
                check(value, properties[key], doc, f"{where}.{key}")
    if kind == "array":
        for i, item in enumerate(instance):
            check(item, schema["items"], doc, f"{where}[{i}]")
    return None


def all_refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        return ([node["$ref"]] if "$ref" in node else []) + [r for v in node.values() for r in all_refs(v)]
    if isinstance(node, list):
        return [r for v in node for r in all_refs(v)]
    return []


# --- the document itself -----------------------------------------------------------------


def test_the_document_is_well_formed_openapi_3(doc):
    assert doc["openapi"].startswith("3.")
    assert doc["info"]["title"] and doc["info"]["version"]
    schemes = doc["components"]["securitySchemes"]
    assert schemes["bearer"] == {"type": "http", "scheme": "bearer"}
    for path, item in doc["paths"].items():
        assert path.startswith("/")
        for method, operation in item.items():
            assert method in HTTP_METHODS
            assert operation["responses"] and all(r.get("description") for r in operation["responses"].values())
            assert all(name in schemes for requirement in operation.get("security", []) for name in requirement)
            for parameter in operation.get("parameters", []):
                assert {"name", "in", "schema"} <= set(parameter)
                assert parameter["in"] in {"query", "path", "header", "cookie"}
                if parameter["in"] == "path":
                    assert parameter["required"] is True and f"{{{parameter['name']}}}" in path
    for ref in all_refs(doc):
        resolve(doc, ref)


def test_both_member_paths_are_documented_with_their_parameters(doc):
    listing = doc["paths"]["/api/v1/members"]["get"]
    one = doc["paths"]["/api/v1/members/{member_id}"]["get"]
    assert {p["name"] for p in listing["parameters"]} == {"email", "q", "status", "plan", "joined_from", "joined_to",
                                                       "limit", "cursor"}
    assert {"200", "400", "401"} <= set(listing["responses"])
    assert {"200", "401", "404"} <= set(one["responses"])
    status = next(p for p in listing["parameters"] if p["name"] == "status")
    assert set(status["schema"]["enum"]) == {s.value for s in MemberStatus}


def test_the_member_schema_is_the_contract(doc):
    schemas = doc["components"]["schemas"]
    member = schemas["Member"]
    assert set(member["properties"]) == CONTRACT_KEYS
    assert set(member["required"]) == CONTRACT_KEYS  # every key is always there, null when empty
    assert set(schemas["Plan"]["properties"]) == {"code", "amount", "currency", "interval"}
    assert set(schemas["Subscription"]["properties"]) == {"id", "status", "current_period_end",
                                                          "cancel_at_period_end"}
    assert set(schemas["Newsletter"]["properties"]) == {"slug", "status"}
    assert set(schemas["MemberList"]["properties"]) == {"data", "has_more", "next_cursor"}
    assert set(schemas["MemberAttribution"]["properties"]) == {"first_touch", "latest_touch"}


# --- real responses against it ------------------------------------------------------------


VALID_MEMBER = {"id": 1, "email": "a@example.org", "name": "", "status": "pending", "has_access": False,
                "access_until": None, "plan": None, "subscription": None, "stripe_customer_id": None,
                "newsletters": [], "created_at": "2026-01-01T00:00:00+00:00",
                "updated_at": "2026-01-01T00:00:00+00:00", "access_source": None,
                "attribution": {"first_touch": None, "latest_touch": None}}


@pytest.mark.parametrize(
    "change, complaint",
    [
        ({"has_access": "yes"}, "is not boolean"),
        ({"status": "gold"}, "not in"),
        ({"colour": "red"}, "undocumented keys"),
        ({"created_at": "2026-01-01T00:00:00"}, "has no offset"),
        ({"email": None}, "does not allow null"),
        ({"newsletters": [{"slug": "x"}]}, "required keys missing"),
        ({"access_source": "gift"}, "not in"),
        ({"attribution": {"first_touch": None}}, "required keys missing"),
    ],
)
def test_the_checker_rejects_what_the_schema_forbids(doc, change, complaint):
    """The checker must be able to fail, or the tests that use it prove nothing."""
    member = {"$ref": "#/components/schemas/Member"}
    check(VALID_MEMBER, member, doc)
    with pytest.raises(AssertionError, match=complaint):
        check(VALID_MEMBER | change, member, doc)


def test_member_responses_satisfy_the_documented_schemas(client, api_token, doc, db_session):
    headers = api_token()
    paying = make_member(status=MemberStatus.ACTIVE, stripe_customer_id="cus_schema")
    make_subscription(paying, cancel_at_period_end=True)
    dunning = make_member(status=MemberStatus.PAST_DUE, name="Dunning Reader")
    make_subscription(dunning, SubscriptionStatus.PAST_DUE)
    comped = make_member(status=MemberStatus.COMPED, comp_since=utcnow() - timedelta(days=1),
                         first_touch={"campaign": "spring", "at": "2026-03-01T09:00:00+00:00"},
                         latest_touch={"utm_source": "radio", "at": "2026-04-01T09:00:00"})
    bare = make_member()

    for member in (paying, dunning, comped, bare):
        body = client.get(f"/api/v1/members/{member.id}", headers=headers).get_json()
        check(body, {"$ref": "#/components/schemas/Member"}, doc)

    page = client.get("/api/v1/members?limit=2", headers=headers).get_json()
    assert page["has_more"] is True
    check(page, {"$ref": "#/components/schemas/MemberList"}, doc)


@pytest.mark.parametrize("path, status", [("/api/v1/members?limit=0", 400), ("/api/v1/members/987654321", 404)])
def test_error_responses_satisfy_the_error_schema(client, api_token, doc, path, status):
    response = client.get(path, headers=api_token())
    assert response.status_code == status
    check(response.get_json(), {"$ref": "#/components/schemas/Error"}, doc)
    check(client.get(path).get_json(), {"$ref": "#/components/schemas/Error"}, doc)  # and the 401

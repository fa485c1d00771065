"""Hostile input: whatever arrives, the answer is a 4xx with a message, never a 5xx,
and nothing is stored. Property-based (hypothesis) over the webhook endpoint and the API."""
from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from service.models import StripeEvent
from tests.billing import sign

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
WEIRD_TEXT = st.text(alphabet=st.characters(blacklist_categories=["Cs"]), max_size=300)
# What a client can put in a header line: printable ASCII, no line breaks.
HEADER_TEXT = st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=300)
JSONISH = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | WEIRD_TEXT,
                       lambda inner: st.lists(inner, max_size=4) | st.dictionaries(WEIRD_TEXT, inner, max_size=4),
                       max_leaves=12)


def _stored(db_session) -> int:
    return db_session.scalar(select(func.count()).select_from(StripeEvent))


def _error_json(response) -> dict:
    body = response.get_json()
    assert body and body["error"]["code"] and body["error"]["message"], response.data[:200]
    return body


@SETTINGS
@given(body=st.binary(max_size=2000), header=st.one_of(st.none(), HEADER_TEXT))
def test_webhook_with_unsigned_garbage_is_400_and_stores_nothing(client, db_session, body, header):
    before = _stored(db_session)
    headers = {} if header is None else {"Stripe-Signature": header}
    response = client.post("/webhooks/stripe", data=body, headers=headers, content_type="application/json")
    assert response.status_code == 400
    _error_json(response)
    assert _stored(db_session) == before


@SETTINGS
@given(payload=JSONISH)
def test_webhook_with_signed_non_events_is_400_and_stores_nothing(client, db_session, payload):
    body = json.dumps(payload).encode()
    before = _stored(db_session)
    response = client.post("/webhooks/stripe", data=body, headers={"Stripe-Signature": sign(body)},
                           content_type="application/json")
    if isinstance(payload, dict) and isinstance(payload.get("id"), str) and isinstance(payload.get("type"), str):
        assert response.status_code < 500
    else:
        assert response.status_code == 400
        assert _stored(db_session) == before


@SETTINGS
@given(event_id=WEIRD_TEXT.filter(bool), type_=WEIRD_TEXT.filter(bool), obj=JSONISH)
def test_webhook_with_signed_strange_events_never_fails(client, db_session, event_id, type_, obj):
    body = json.dumps({"id": event_id, "type": type_, "created": "yesterday", "data": {"object": obj}}).encode()
    response = client.post("/webhooks/stripe", data=body, headers={"Stripe-Signature": sign(body)},
                           content_type="application/json")
    assert response.status_code in (200, 400), response.data[:300]


def test_a_huge_body_is_refused_with_413(client, db_session, app):
    body = b"x" * (app.config["MAX_CONTENT_LENGTH"] + 1)
    response = client.post("/webhooks/stripe", data=body, headers={"Stripe-Signature": sign(body)},
                           content_type="application/json")
    assert response.status_code == 413
    _error_json(response)


@SETTINGS
@given(params=st.dictionaries(st.sampled_from(["email", "q", "status", "limit", "cursor", "other", "q\x00"]),
                              WEIRD_TEXT, max_size=4))
def test_api_member_search_with_any_parameters_never_fails(client, db_session, api_token, params):
    response = client.get("/api/v1/members", query_string=params, headers=api_token("viewer"))
    assert response.status_code in (200, 400), response.data[:300]
    if response.status_code == 400:
        assert _error_json(response)["error"]["code"] in ("invalid_query", "invalid_characters")


@SETTINGS
@given(token=HEADER_TEXT, scheme=st.sampled_from(["Bearer", "bearer", "Basic", "", "Token"]))
def test_api_with_any_authorization_header_is_401_json(client, db_session, token, scheme):
    response = client.get("/api/v1/members", headers={"Authorization": f"{scheme} {token}"})
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_sql_and_html_in_search_are_plain_text(client, db_session, api_token):
    headers = api_token("viewer")
    for q in ("' OR 1=1 --", "%", "_", "<script>alert(1)</script>", "reader'; DROP TABLE members; --"):
        response = client.get("/api/v1/members", query_string={"q": q}, headers=headers)
        assert response.status_code == 200 and response.get_json()["data"] == []


def test_nul_characters_are_a_400_anywhere(client, db_session, api_token):
    headers = api_token("viewer")
    for query in ({"q": "ada\x00"}, {"plan": "\x00"}, {"email": "a\x00@example.org"}):
        response = client.get("/api/v1/members", query_string=query, headers=headers)
        assert response.status_code == 400, query
        assert "NUL" in response.get_json()["error"]["message"]
    import re

    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/").get_data(as_text=True)).group(1)
    form = client.post("/join", data={"name": "Ada\x00", "email": "ada@example.org", "plan": "monthly-5",
                                      "csrf_token": token})
    assert form.status_code == 400 and b"NUL character" in form.data

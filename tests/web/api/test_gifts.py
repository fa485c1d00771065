"""`GET /api/v1/gifts`: gift memberships in their shape, by status, a page at a time, and refusals."""
from __future__ import annotations

import pytest

from service.models import GiftStatus
from tests.factories import make_gift, make_member
from tests.web.api.test_openapi import check

KEYS = {"id", "status", "months", "amount", "currency", "deliver_on", "purchaser", "recipient", "contribution_id",
        "delivered_at", "expires_at", "redeemed_at", "redeemed_as", "credited_amount", "credited_currency", "revoked_at",
        "created_at"}


@pytest.fixture
def headers(api_token):
    return api_token("viewer")


def test_gifts_in_their_shape_newest_first_and_by_status(client, headers, db_session):
    grace = make_member(email="grace@example.org", name="Grace Giver")
    older = make_gift(grace, recipient_email="one@example.org", months=12, amount=5000)
    newer = make_gift(grace, recipient_email="two@example.org", currency="eur", status=GiftStatus.DELIVERED)
    body = client.get("/api/v1/gifts", headers=headers).get_json()
    assert [g["id"] for g in body["data"]] == [newer.id, older.id] and body["has_more"] is False
    first = body["data"][1]
    assert set(first) == KEYS
    assert (first["status"], first["months"], first["amount"], first["currency"]) == ("scheduled", 12, 5000, "usd")
    assert first["purchaser"] == {"member_id": grace.id, "name": "Grace Giver"}
    assert first["recipient"] == {"member_id": None, "name": "A Friend", "email": "one@example.org"}
    check(body, {"$ref": "#/components/schemas/GiftList"}, client.get("/api/openapi.json").get_json())  # as documented
    delivered = client.get("/api/v1/gifts?status=delivered", headers=headers).get_json()
    assert [g["id"] for g in delivered["data"]] == [newer.id]


def test_gifts_page_by_cursor(client, headers, db_session):
    grace = make_member()
    made = [make_gift(grace, recipient_email=f"r{n}@example.org") for n in range(3)]
    first = client.get("/api/v1/gifts?limit=2", headers=headers).get_json()
    assert [g["id"] for g in first["data"]] == [made[2].id, made[1].id] and first["has_more"] is True
    rest = client.get(f"/api/v1/gifts?limit=2&cursor={first['next_cursor']}", headers=headers).get_json()
    assert [g["id"] for g in rest["data"]] == [made[0].id] and rest["next_cursor"] is None


@pytest.mark.parametrize("query", ["status=lost", "limit=0", "limit=101", "cursor=abc", "colour=red"])
def test_a_bad_query_is_a_400_that_names_the_parameter(client, headers, query):
    answer = client.get(f"/api/v1/gifts?{query}", headers=headers)
    assert answer.status_code == 400
    assert query.split("=")[0] in answer.get_json()["error"]["message"]


def test_a_cursor_past_every_id_lists_from_the_newest(client, headers, db_session):
    newest = make_gift(make_member())
    answer = client.get("/api/v1/gifts?cursor=9999999999", headers=headers)
    assert answer.status_code == 200 and [g["id"] for g in answer.get_json()["data"]] == [newest.id]


def test_gifts_need_a_token(client):
    assert client.get("/api/v1/gifts").status_code == 401

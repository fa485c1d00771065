"""`GET /api/v1/members` and `/api/v1/members/<id>`: the contract's shape, filters, paging and refusals."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from service.db import utcnow
from service.domain.staff.users import create_api_token, revoke_api_token
from service.models import ListStatus, ListSubscription, MemberStatus, Newsletter
from tests.factories import make_member, make_staff, make_subscription

CONTRACT_KEYS = {"id", "email", "name", "status", "has_access", "access_until", "plan", "subscription",
                 "stripe_customer_id", "newsletters", "created_at", "updated_at", "access_source", "attribution"}
TOUCH_KEYS = {"utm_source", "utm_medium", "utm_campaign", "utm_content", "utm_term", "campaign", "referral", "at"}


@pytest.fixture
def headers(api_token):
    return api_token("viewer")


@pytest.fixture
def ada(db_session):
    """A paying member on the $5 monthly plan, in the members' digest."""
    member = make_member(email="Ada@Analytical.example", name="Ada Lovelace", status=MemberStatus.ACTIVE,
                         stripe_customer_id="cus_ada")
    period_end = (utcnow() + timedelta(days=30)).replace(microsecond=0)
    make_subscription(member, period_end=period_end, stripe_subscription_id="sub_ada")
    digest = db_session.scalars(select(Newsletter).where(Newsletter.slug == "members-digest")).one()
    db_session.add(ListSubscription(newsletter_id=digest.id, email=member.email, member_id=member.id,
                                    status=ListStatus.SUBSCRIBED))
    db_session.flush()
    return member


def utc(value: str) -> datetime:
    parsed = datetime.fromisoformat(value)
    assert parsed.utcoffset() == timedelta(0), f"{value} is not UTC"
    return parsed


def test_one_member_in_the_contract_shape(client, headers, ada):
    body = client.get(f"/api/v1/members/{ada.id}", headers=headers).get_json()
    sub = ada.subscriptions[0]

    assert set(body) == CONTRACT_KEYS
    assert {k: body[k] for k in ("id", "email", "name", "status", "has_access", "stripe_customer_id")} == {
        "id": ada.id, "email": "ada@analytical.example", "name": "Ada Lovelace", "status": "active",
        "has_access": True, "stripe_customer_id": "cus_ada"}
    assert body["plan"] == {"code": "monthly-5", "amount": 500, "currency": "usd", "interval": "month"}
    assert set(body["subscription"]) == {"id", "status", "current_period_end", "cancel_at_period_end"}
    assert (body["subscription"]["id"], body["subscription"]["status"]) == ("sub_ada", "active")
    assert body["subscription"]["cancel_at_period_end"] is False
    assert utc(body["subscription"]["current_period_end"]) == sub.current_period_end
    assert utc(body["access_until"]) == sub.current_period_end
    assert body["newsletters"] == [{"slug": "members-digest", "status": "subscribed"}]
    assert utc(body["created_at"]) == ada.created_at
    assert utc(body["updated_at"]) == ada.updated_at


def test_a_member_without_a_subscription_has_nulls_not_missing_keys(client, headers, db_session):
    member = make_member(name="")
    body = client.get(f"/api/v1/members/{member.id}", headers=headers).get_json()
    assert set(body) == CONTRACT_KEYS
    assert (body["status"], body["has_access"], body["access_until"]) == ("pending", False, None)
    assert (body["plan"], body["subscription"], body["stripe_customer_id"], body["newsletters"]) == (
        None, None, None, [])
    assert body["access_source"] is None
    assert body["attribution"] == {"first_touch": None, "latest_touch": None}


# --- what gives access, and what brought the member ----------------------------------------


def test_access_source_names_what_gives_access(client, headers, ada, db_session):
    now = utcnow()
    term = make_member(status=MemberStatus.ACTIVE, term_since=now - timedelta(days=3), term_until=now + timedelta(days=60))
    comped = make_member(status=MemberStatus.COMPED, comp_since=now - timedelta(days=1))
    ended = make_member(status=MemberStatus.LAPSED, term_since=now - timedelta(days=90), term_until=now - timedelta(days=1))
    sources = {m.id: client.get(f"/api/v1/members/{m.id}", headers=headers).get_json()["access_source"]
               for m in (ada, term, comped, ended)}
    assert sources == {ada.id: "subscription", term.id: "term", comped.id: "comp", ended.id: None}
    listed = client.get("/api/v1/members?status=comped", headers=headers).get_json()["data"]
    assert {m["id"]: m["access_source"] for m in listed}[comped.id] == "comp"


def test_attribution_shows_first_and_latest_touch_with_every_key(client, headers, db_session):
    member = make_member(first_touch={"utm_source": "newsletter", "campaign": "spring", "at": "2026-03-01T09:30:00+00:00"},
                         latest_touch={"utm_campaign": "autumn", "referral": "friend42", "at": "2026-09-02T10:00:00+00:00"})
    body = client.get(f"/api/v1/members/{member.id}", headers=headers).get_json()
    first, latest = body["attribution"]["first_touch"], body["attribution"]["latest_touch"]
    assert set(body["attribution"]) == {"first_touch", "latest_touch"}
    assert set(first) == set(latest) == TOUCH_KEYS
    assert (first["utm_source"], first["campaign"], first["utm_medium"]) == ("newsletter", "spring", None)
    assert (latest["utm_campaign"], latest["referral"], latest["campaign"]) == ("autumn", "friend42", None)
    assert utc(first["at"]) == datetime(2026, 3, 1, 9, 30, tzinfo=UTC)


def test_an_unknown_member_is_a_json_404(client, headers):
    response = client.get("/api/v1/members/987654321", headers=headers)
    assert response.status_code == 404
    assert response.get_json() == {"error": {"code": "not_found", "message": "No member with id 987654321."}}


# --- finding members ---------------------------------------------------------------


def emails(response) -> list[str]:
    assert response.status_code == 200, response.get_json()
    return [m["email"] for m in response.get_json()["data"]]


def test_find_by_email_ignores_case(client, headers, ada):
    body = client.get("/api/v1/members?email=ADA@analytical.EXAMPLE", headers=headers).get_json()
    assert [m["id"] for m in body["data"]] == [ada.id]
    assert (body["has_more"], body["next_cursor"]) == (False, None)
    assert set(body["data"][0]) == CONTRACT_KEYS


def test_find_by_q_and_status(client, headers, ada, db_session):
    make_member(email="babbage@analytical.example", name="Charles Babbage", status=MemberStatus.LAPSED)
    assert emails(client.get("/api/v1/members?q=lovelace", headers=headers)) == ["ada@analytical.example"]
    assert emails(client.get("/api/v1/members?q=BABB", headers=headers)) == ["babbage@analytical.example"]
    # "analytical" is in both emails, but neither starts with it nor is it in a name.
    assert emails(client.get("/api/v1/members?q=analytical", headers=headers)) == []
    assert emails(client.get("/api/v1/members?q=a&status=lapsed", headers=headers)) == ["babbage@analytical.example"]
    assert "ada@analytical.example" in emails(client.get("/api/v1/members?status=active", headers=headers))


def test_pages_follow_next_cursor_to_the_end(client, headers, db_session):
    made = [make_member(email=f"pager{n}@paging.example") for n in range(5)]
    url, seen, pages = "/api/v1/members?q=pager&limit=2", [], []
    while True:
        body = client.get(url, headers=headers).get_json()
        seen += [m["id"] for m in body["data"]]
        pages.append((len(body["data"]), body["has_more"]))
        if not body["has_more"]:
            assert body["next_cursor"] is None
            break
        assert isinstance(body["next_cursor"], str)
        url = f"/api/v1/members?q=pager&limit=2&cursor={body['next_cursor']}"
    assert seen == [m.id for m in reversed(made)]
    assert pages == [(2, True), (2, True), (1, False)]


# --- refusals -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "query, parameter",
    [
        ("colour=red", "colour"),
        ("limit=0", "limit"),
        ("limit=101", "limit"),
        ("limit=abc", "limit"),
        ("status=bogus", "status"),
        ("cursor=abc", "cursor"),
        ("cursor=-5", "cursor"),
        ("email=not-an-email", "email"),
    ],
)
def test_bad_query_parameters_are_a_400_naming_the_parameter(client, headers, query, parameter):
    response = client.get(f"/api/v1/members?{query}", headers=headers)
    assert response.status_code == 400
    error = response.get_json()["error"]
    assert error["code"] == "invalid_query"
    assert f"{parameter}:" in error["message"]
    assert parameter in error["fields"]


def _revoked(db_session) -> str:
    token, plain = create_api_token(make_staff().email)
    revoke_api_token(token.id)
    return f"Bearer {plain}"


def _deactivated(db_session) -> str:
    user = make_staff()
    _token, plain = create_api_token(user.email)
    user.active = False
    db_session.flush()
    return f"Bearer {plain}"


@pytest.mark.parametrize(
    "authorization",
    [None, "", "Token abc", "Bearer", "Bearer    ", "Basic dXNlcjpwYXNz", "Bearer mbr_unknown", _revoked, _deactivated],
    ids=["missing", "empty", "token-scheme", "bearer-alone", "bearer-blank", "basic", "unknown", "revoked",
         "deactivated"],
)
@pytest.mark.parametrize("path", ["/api/v1/members", "/api/v1/members/1"])
def test_requests_without_a_good_token_are_401(client, db_session, authorization, path):
    if callable(authorization):
        authorization = authorization(db_session)
    headers = {} if authorization is None else {"Authorization": authorization}
    response = client.get(path, headers=headers)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="membership"'
    assert response.get_json()["error"]["code"] == "unauthorized"


def test_ids_beyond_the_database_range_are_404_not_500(client, headers):
    for member_id in (2**31, 10**12):
        response = client.get(f"/api/v1/members/{member_id}", headers=headers)
        assert response.status_code == 404, member_id

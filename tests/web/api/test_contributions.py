"""`GET /api/v1/contributions` (and `.csv`): the contract's shape, each filter, paging, refusals,
and the CSV the accountant opens in a spreadsheet."""
from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest

from service.models import ContributionKind, DedicationType
from tests.factories import make_contribution, make_member
from tests.web.api.test_openapi import check

CONTRACT_KEYS = {"id", "member_id", "kind", "amount", "currency", "fee_covered", "refunded_amount", "paid_at", "campaign",
                 "attribution", "dedication", "anonymous", "receipt_number", "stripe"}
MARCH = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


@pytest.fixture
def headers(api_token):
    return api_token("viewer")


def ids(response) -> list[int]:
    assert response.status_code == 200, response.get_json()
    return [c["id"] for c in response.get_json()["data"]]


def test_a_contribution_in_the_contract_shape(client, headers, db_session):
    member = make_member()
    gift = make_contribution(member, 2625, "usd", kind=ContributionKind.ONE_TIME, paid_at=MARCH, fee_covered=125,
                             refunded_amount=500, campaign="spring", anonymous=True,
                             attribution={"utm_source": "newsletter", "utm_medium": "email", "utm_campaign": "spring-25",
                                          "utm_content": "button", "utm_term": "give", "campaign": "spring",
                                          "referral": "friend42"},
                             dedication_type=DedicationType.MEMORY, dedication_name="Grace Hopper",
                             dedication_notify_email="family@example.org", stripe_payment_intent_id="pi_shape",
                             stripe_charge_id="ch_shape")
    body = client.get("/api/v1/contributions", query_string={"member_id": member.id}, headers=headers).get_json()
    assert body == {"data": [{
        "id": gift.id, "member_id": member.id, "kind": "one_time", "amount": 2625, "currency": "usd", "fee_covered": 125,
        "refunded_amount": 500, "paid_at": "2026-03-10T12:00:00+00:00", "campaign": "spring",
        "attribution": {"utm_source": "newsletter", "utm_medium": "email", "utm_campaign": "spring-25",
                        "utm_content": "button", "utm_term": "give", "referral": "friend42"},
        "dedication": {"type": "memory", "name": "Grace Hopper"}, "anonymous": True,
        "receipt_number": gift.receipt_number, "stripe": {"invoice": None, "payment_intent": "pi_shape", "charge": "ch_shape"},
    }], "has_more": False, "next_cursor": None}


def test_empty_parts_are_nulls_not_missing_keys(client, headers, db_session):
    member = make_member()
    make_contribution(member, 500, kind=ContributionKind.MEMBERSHIP, stripe_invoice_id="in_bare",
                      stripe_payment_intent_id=None, stripe_charge_id=None)
    [row] = client.get("/api/v1/contributions", query_string={"member_id": member.id}, headers=headers).get_json()["data"]
    assert set(row) == CONTRACT_KEYS
    assert row["attribution"] == dict.fromkeys(("utm_source", "utm_medium", "utm_campaign", "utm_content", "utm_term",
                                                "referral"))
    assert (row["dedication"], row["campaign"], row["anonymous"], row["fee_covered"]) == (None, None, False, 0)
    assert row["stripe"] == {"invoice": "in_bare", "payment_intent": None, "charge": None}


def test_responses_satisfy_the_documented_schema(client, headers, db_session):
    doc = client.get("/api/openapi.json").get_json()
    member = make_member()
    make_contribution(member, dedication_type=DedicationType.HONOUR, dedication_name=None, attribution={"referral": "x"})
    make_contribution(member, kind=ContributionKind.GIFT_PURCHASE)
    body = client.get("/api/v1/contributions", query_string={"member_id": member.id, "limit": 1}, headers=headers).get_json()
    assert body["has_more"] is True
    check(body, {"$ref": "#/components/schemas/ContributionList"}, doc)
    assert set(doc["components"]["schemas"]["Contribution"]["required"]) == CONTRACT_KEYS


# --- filters ------------------------------------------------------------------------------------


@pytest.fixture
def spread(db_session):
    """Two readers' contributions across kinds, campaigns, currencies and days."""
    ada, bob = make_member(name="Ada"), make_member(name="Bob")
    return {
        "ada_march": make_contribution(ada, 500, kind=ContributionKind.MEMBERSHIP, paid_at=MARCH, campaign="spring"),
        "ada_april": make_contribution(ada, 500, kind=ContributionKind.MEMBERSHIP, paid_at=MARCH + timedelta(days=31)),
        "bob_gift": make_contribution(bob, 2500, kind=ContributionKind.ONE_TIME, paid_at=MARCH + timedelta(days=1),
                                      campaign="spring"),
        "bob_eur": make_contribution(bob, 1000, "eur", kind=ContributionKind.GIFT_PURCHASE,
                                     paid_at=MARCH + timedelta(days=2, hours=6), campaign="autumn"),
        "ada": ada, "bob": bob,
    }


def test_each_filter_narrows_the_list(client, headers, spread):
    s = spread

    def found(**query):
        return set(ids(client.get("/api/v1/contributions", query_string={"limit": 100, **query}, headers=headers)))

    mine = {s[k].id for k in ("ada_march", "ada_april", "bob_gift", "bob_eur")}
    assert found(member_id=s["ada"].id) == {s["ada_march"].id, s["ada_april"].id}
    assert found(kind="one_time") & mine == {s["bob_gift"].id}
    assert found(kind="gift_purchase") & mine == {s["bob_eur"].id}
    assert found(campaign="spring") & mine == {s["ada_march"].id, s["bob_gift"].id}
    assert found(currency="EUR") & mine == {s["bob_eur"].id}
    assert found(member_id=s["bob"].id, currency="usd") == {s["bob_gift"].id}
    # Days are UTC and both ends are included.
    assert found(since="2026-03-11", until="2026-03-12") & mine == {s["bob_gift"].id, s["bob_eur"].id}
    assert found(until="2026-03-10") & mine == {s["ada_march"].id}
    # Exact times: from `since` on, before `until`; an offset is honoured.
    assert found(since="2026-03-12T18:00:00Z") & mine == {s["bob_eur"].id, s["ada_april"].id}
    assert found(since="2026-03-12T19:00:00+01:00", until="2026-03-12T18:00:01Z") & mine == {s["bob_eur"].id}
    assert found(until="2026-03-12T18:00:00+00:00") & mine == {s["ada_march"].id, s["bob_gift"].id}
    assert found(since="2026-04-01", until="2026-03-01") == set()


def test_an_unencoded_plus_in_an_offset_still_reads_as_the_offset(client, headers, spread):
    # A "+" typed into a URL arrives as a space; "+01:00" is what the person meant.
    response = client.get("/api/v1/contributions?since=2026-03-12T19:00:00+01:00&limit=100", headers=headers)
    assert spread["bob_eur"].id in ids(response) and spread["bob_gift"].id not in ids(response)


# --- paging ------------------------------------------------------------------------------------


def test_pages_are_newest_paid_first_and_follow_next_cursor_to_the_end(client, headers, db_session):
    member = make_member()
    # Made out of order, and two paid at the same instant: the order is by payment, then id.
    made = [make_contribution(member, 100 + n, paid_at=MARCH + timedelta(days=d)) for n, d in enumerate([3, 1, 4, 1, 5])]
    expected = [c.id for c in sorted(made, key=lambda c: (c.paid_at, c.id), reverse=True)]
    url, seen, pages = f"/api/v1/contributions?member_id={member.id}&limit=2", [], []
    while True:
        body = client.get(url, headers=headers).get_json()
        seen += [c["id"] for c in body["data"]]
        pages.append((len(body["data"]), body["has_more"]))
        if not body["has_more"]:
            assert body["next_cursor"] is None
            break
        assert isinstance(body["next_cursor"], str)
        url = f"/api/v1/contributions?member_id={member.id}&limit=2&cursor={body['next_cursor']}"
    assert seen == expected
    assert pages == [(2, True), (2, True), (1, False)]


# --- refusals ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "query, parameter, words",
    [
        ("kind=donation", "kind", "Must be one of"),
        ("since=yesterday", "since", "Not a day (YYYY-MM-DD) or an ISO 8601 time"),
        ("until=2026-13-01", "until", "Not a day"),
        ("limit=0", "limit", ""),
        ("limit=101", "limit", ""),
        ("limit=ten", "limit", ""),
        ("cursor=abc", "cursor", "Not a cursor from a previous page."),
        ("cursor=12345", "cursor", "Not a cursor"),
        ("currency=dollars", "currency", "three-letter currency code"),
        ("member_id=0", "member_id", ""),
        ("campaign=", "campaign", ""),
        ("colour=red", "colour", "Unknown field"),
    ],
)
def test_bad_query_parameters_are_a_400_naming_the_parameter(client, headers, query, parameter, words):
    for path in ("/api/v1/contributions", "/api/v1/contributions.csv"):
        if path.endswith(".csv") and parameter in ("limit", "cursor"):
            continue  # the CSV has every row: it takes no paging parameters (refused as unknown below)
        response = client.get(f"{path}?{query}", headers=headers)
        assert response.status_code == 400, (path, query)
        error = response.get_json()["error"]
        assert error["code"] == "invalid_query"
        assert f"{parameter}:" in error["message"] and words in error["message"]
        assert parameter in error["fields"]
    assert client.get("/api/v1/contributions.csv?limit=5", headers=headers).status_code == 400


@pytest.mark.parametrize("query", ["since=0001-01-01T00:00:00%2B05:00", "until=9999-12-31T23:59:59-05:00",
                                   "since=0001-01-01&until=9999-12-31", "until=2026-03-10T12:00:00"])
def test_far_or_odd_dates_are_read_never_a_500(client, headers, query):
    assert client.get(f"/api/v1/contributions?{query}", headers=headers).status_code == 200
    assert client.get(f"/api/v1/contributions.csv?{query}", headers=headers).status_code == 200


@pytest.mark.parametrize("path", ["/api/v1/contributions", "/api/v1/contributions.csv"])
def test_a_token_is_needed_and_a_viewer_may_read(client, api_token, path):
    assert client.get(path).status_code == 401
    assert client.get(path, headers={"Authorization": "Bearer mbr_unknown"}).status_code == 401
    assert client.get(path, headers=api_token("viewer")).status_code == 200


# --- CSV ---------------------------------------------------------------------------------------


def test_csv_has_the_accountants_columns_and_the_same_filters(client, headers, spread):
    response = client.get("/api/v1/contributions.csv", query_string={"campaign": "spring"}, headers=headers)
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"] == 'attachment; filename="contributions.csv"'
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert [r["receipt_number"] for r in rows] == [spread["bob_gift"].receipt_number, spread["ada_march"].receipt_number]
    gift = rows[0]
    assert {k: gift[k] for k in ("member_id", "name", "kind", "currency", "amount", "net", "campaign", "paid_at")} == {
        "member_id": str(spread["bob"].id), "name": "Bob", "kind": "one_time", "currency": "usd", "amount": "25.00",
        "net": "25.00", "campaign": "spring", "paid_at": "2026-03-11T12:00:00+00:00"}


def test_csv_amounts_are_net_of_refunds_and_disputes(client, headers, db_session):
    member = make_member()
    make_contribution(member, 2625, fee_covered=125, refunded_amount=1000, disputed_amount=500)
    [row] = list(csv.DictReader(io.StringIO(client.get(
        "/api/v1/contributions.csv", query_string={"member_id": member.id}, headers=headers).get_data(as_text=True))))
    assert (row["amount"], row["fee_covered"], row["refunded"], row["disputed"], row["net"]) == (
        "26.25", "1.25", "10.00", "5.00", "11.25")


def test_csv_escapes_formula_like_values(client, headers, db_session):
    member = make_member(name="=HYPERLINK(\"http://evil.example\",\"click\")", email="-2+3@example.org")
    make_contribution(member, campaign="@SUM(A1)", anonymous=True)
    text = client.get("/api/v1/contributions.csv", query_string={"member_id": member.id}, headers=headers).get_data(as_text=True)
    [row] = list(csv.DictReader(io.StringIO(text)))
    assert row["name"] == "'=HYPERLINK(\"http://evil.example\",\"click\")"
    assert row["email"] == "'-2+3@example.org"
    assert row["campaign"] == "'@SUM(A1)"
    assert row["anonymous"] == "yes"


# --- the dashboard's figures in the API --------------------------------------------------------


def test_stats_carry_giving_figures_beside_the_existing_keys(client, headers, db_session):
    before = client.get("/api/v1/stats", headers=headers).get_json()
    member = make_member(first_touch={"campaign": "api-stats-drive", "at": "2026-01-01T00:00:00+00:00"})
    make_contribution(member, 4200, "chf", kind=ContributionKind.ONE_TIME, campaign="api-stats-drive")
    after = client.get("/api/v1/stats", headers=headers).get_json()
    assert set(before) <= set(after) and "giving" in after
    month = {(r["currency"], r["kind"]): r for r in after["giving"]["month"]}
    assert month[("chf", "one_time")]["amount"] >= 4200 and month[("chf", "one_time")]["count"] >= 1
    assert {"campaign": "api-stats-drive", "currency": "chf", "contributions": 1, "net": 4200} in after["giving"]["campaigns_by_revenue"]
    assert {"campaign": "api-stats-drive", "joins": 1} in after["giving"]["campaigns_by_joins"]
    doc = client.get("/api/openapi.json").get_json()
    check(after, {"$ref": "#/components/schemas/Stats"}, doc)

"""API parity with the console: member detail, audit log, stats, and the search filters."""
from __future__ import annotations

from datetime import timedelta

from service.db import utcnow
from service.domain.members.comps import grant_comp
from service.domain.members.status import set_status
from service.models import MemberStatus
from tests.factories import make_member, make_staff, make_subscription, plan


def test_member_detail_explains_the_status_with_its_timeline(client, db_session, api_token):
    member = make_member(name="Grace Hopper")
    make_subscription(member)
    set_status(member, MemberStatus.ACTIVE, utcnow(), stripe_event_id="evt_detail1")
    db_session.commit()
    response = client.get(f"/api/v1/members/{member.id}/detail", headers=api_token("viewer"))
    assert response.status_code == 200
    body = response.get_json()
    assert body["summary"].startswith("Paying member.") and body["has_access"] is True
    [change] = body["timeline"]
    assert (change["from_status"], change["to_status"], change["stripe_event_id"]) == ("pending", "active", "evt_detail1")
    assert body["subscriptions"][0]["status"] == "active" and body["subscriptions"][0]["amount"] == 500
    assert set(body) == {"summary", "has_access", "access_until", "timeline", "notes", "subscriptions", "invoices",
                         "issues", "consents", "events"}
    assert client.get("/api/v1/members/987654/detail", headers=api_token("viewer")).status_code == 404
    assert client.get(f"/api/v1/members/{member.id}/detail").status_code == 401


def test_audit_log_filters_by_action_and_member(client, db_session, api_token):
    member, other = make_member(), make_member()
    support = make_staff("support")
    grant_comp(member.id, support, utcnow(), until=utcnow() + timedelta(days=30))
    grant_comp(other.id, support, utcnow())
    db_session.commit()
    headers = api_token("viewer")
    body = client.get("/api/v1/audit", query_string={"action": "member.comp_granted", "member_id": member.id},
                      headers=headers).get_json()
    [entry] = body["data"]
    assert entry["member_id"] == member.id and entry["staff_user_id"] == support.id
    assert entry["before"]["status"] == "pending" and entry["after"]["status"] == "comped"
    by_actor = client.get("/api/v1/audit", query_string={"actor": support.email}, headers=headers).get_json()
    assert {e["member_id"] for e in by_actor["data"]} == {member.id, other.id}
    bad = client.get("/api/v1/audit", query_string={"since": "yesterday"}, headers=headers)
    assert bad.status_code == 400 and "since" in bad.get_json()["error"]["message"]


def test_stats_are_the_dashboards_figures(client, db_session, api_token):
    before = client.get("/api/v1/stats", headers=api_token("viewer")).get_json()
    paying = make_member(status=MemberStatus.ACTIVE)
    make_subscription(paying, plan=plan("yearly-50"))
    db_session.commit()
    after = client.get("/api/v1/stats", headers=api_token("viewer")).get_json()
    assert after["by_status"]["active"] == before["by_status"]["active"] + 1
    yearly = {r["plan"]: r for r in after["revenue"]}["yearly-50"]
    assert yearly["monthly"] >= 5000 // 12 and yearly["subscriptions"] >= 1
    assert len(after["weeks"]) == 12 and after["weeks"][-1]["joins"] >= 1
    assert set(after["webhooks"]) == {"last_event_at", "failed_events", "dead_events", "waiting_events", "outbox_backlog",
                                         "outbox_dead"}


def test_member_search_by_plan_and_joined_dates(client, db_session, api_token):
    yearly = make_member(email="yearly@example.org")
    make_subscription(yearly, plan=plan("yearly-50"))
    old = make_member(email="old@example.org", created_at=utcnow() - timedelta(days=400))
    db_session.commit()
    headers = api_token("viewer")
    on_plan = client.get("/api/v1/members", query_string={"plan": "yearly-50"}, headers=headers).get_json()
    assert yearly.id in {m["id"] for m in on_plan["data"]} and old.id not in {m["id"] for m in on_plan["data"]}
    since = (utcnow() - timedelta(days=30)).date().isoformat()
    recent = client.get("/api/v1/members", query_string={"joined_from": since, "limit": 100}, headers=headers).get_json()
    assert old.id not in {m["id"] for m in recent["data"]} and yearly.id in {m["id"] for m in recent["data"]}
    assert client.get("/api/v1/members", query_string={"joined_to": "soon"}, headers=headers).status_code == 400


def test_far_dates_mean_no_end_and_huge_numbers_are_400_never_500(client, db_session, api_token, staff_login):
    headers = api_token("viewer")
    member = make_member()
    db_session.commit()
    found = client.get("/api/v1/members", query_string={"joined_to": "9999-12-31", "joined_from": "0001-01-01"},
                       headers=headers)
    assert found.status_code == 200 and member.id in {m["id"] for m in found.get_json()["data"]}
    assert client.get("/api/v1/audit", query_string={"until": "9999-12-31"}, headers=headers).status_code == 200
    too_big = client.get("/api/v1/audit", query_string={"member_id": "99999999999999999999"}, headers=headers)
    assert too_big.status_code == 400
    staff = staff_login("viewer")
    for path in ("/staff/members?joined_to=9999-12-31", "/staff/members.csv?joined_to=9999-12-31",
                 "/staff/audit?until=9999-12-31"):
        assert staff.get(path).status_code == 200, path
    assert 400 <= staff.get("/staff/members?cursor=99999999999999999999").status_code < 500

"""The local provider's lists in the API and as CSV (API and `membership newsletters export`)."""
from __future__ import annotations

import csv
import io

import pytest

from service.domain.newsletter import subscriptions as nl
from service.models import ConsentSource


@pytest.fixture
def readers(db_session):
    emails = [f"list{n}@example.org" for n in range(3)]
    for email in emails:
        nl.resubscribe(email, "daily-headlines", ConsentSource.IMPORT)
    nl.unsubscribe(emails[1], "daily-headlines", nl.Actor(ConsentSource.STAFF))
    db_session.commit()
    return emails


def test_subscribers_are_paged_with_a_cursor(client, api_token, readers):
    headers = api_token()
    first = client.get("/api/v1/newsletters/daily-headlines/subscribers?limit=1", headers=headers).get_json()
    assert [s["email"] for s in first["data"]] == [readers[0]] and first["has_more"] is True
    assert set(first["data"][0]) == {"email", "status", "member_id", "created_at", "updated_at"}
    second = client.get(f"/api/v1/newsletters/daily-headlines/subscribers?limit=1&cursor={first['next_cursor']}",
                        headers=headers).get_json()
    assert [s["email"] for s in second["data"]] == [readers[2]]
    assert second == {**second, "has_more": False, "next_cursor": None}
    gone = client.get("/api/v1/newsletters/daily-headlines/subscribers?status=unsubscribed", headers=headers).get_json()
    assert [s["email"] for s in gone["data"]] == [readers[1]]


def test_bad_requests_are_clear_4xx(client, api_token, readers):
    headers = api_token()
    assert client.get("/api/v1/newsletters/daily-headlines/subscribers").status_code == 401
    unknown = client.get("/api/v1/newsletters/nope/subscribers", headers=headers)
    assert unknown.status_code == 404 and "no newsletter called 'nope'" in unknown.get_json()["error"]["message"]
    bad = client.get("/api/v1/newsletters/daily-headlines/subscribers?status=maybe", headers=headers)
    assert bad.status_code == 400 and "status" in bad.get_json()["error"]["message"]


def test_csv_export(client, api_token, readers):
    answer = client.get("/api/v1/newsletters/daily-headlines/subscribers.csv", headers=api_token())
    assert answer.status_code == 200 and answer.mimetype == "text/csv"
    assert 'filename="daily-headlines-subscribed.csv"' in answer.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(answer.get_data(as_text=True))))
    assert [r["email"] for r in rows] == [readers[0], readers[2]] and rows[0]["status"] == "subscribed"


def test_cli_export(cli, readers):
    result = cli("newsletters", "export", "daily-headlines")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == "email,status,member_id,subscribed_since,updated_at"
    assert [line.split(",")[0] for line in lines[1:]] == [readers[0], readers[2]]
    missing = cli("newsletters", "export", "nope")
    assert missing.exit_code == 1 and "no newsletter called 'nope'" in missing.output

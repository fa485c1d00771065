"""The dashboard's twelve-month figures are live while they are quick to compute; when computing
them is slow (INSIGHT_CACHE_AFTER_SECONDS, at a million members), the last result is served with
the time it was computed, the live figures stay live, and the worker computes it again."""
from __future__ import annotations

import html
import re
from datetime import timedelta

import pytest

from service.db import utcnow
from service.jobs import refresh_insight
from service.models import InsightSnapshot, MemberStatus
from tests.factories import make_contribution, make_member


def text(response) -> str:
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", response.get_data(as_text=True))))


def campaigns(body: dict) -> set[str]:
    return {c["campaign"] for c in body["insight"]["campaigns"]}


def test_quick_figures_are_computed_for_each_page(staff_login, db_session, api_token):
    staff, headers = staff_login("viewer"), api_token("viewer")
    assert "spring" not in text(staff.get("/staff/dashboard"))
    make_contribution(make_member(status=MemberStatus.ACTIVE), 2500, campaign="spring", paid_at=utcnow())
    db_session.commit()

    page = text(staff.get("/staff/dashboard"))
    assert "spring" in page and "were computed at" not in page
    assert "spring" in campaigns(client_json(staff, headers))
    assert db_session.query(InsightSnapshot).count() == 0


@pytest.fixture
def slow(app, monkeypatch):
    """Every computation counts as slow, as it would at a million members."""
    monkeypatch.setitem(app.config, "INSIGHT_CACHE_AFTER_SECONDS", 0)
    monkeypatch.setitem(app.config, "INSIGHT_CACHE_SECONDS", 900)


def test_slow_figures_are_kept_until_the_worker_computes_them_again(staff_login, db_session, api_token, slow):
    staff, headers = staff_login("viewer"), api_token("viewer")
    first = text(staff.get("/staff/dashboard"))  # computed now, and kept
    assert "were computed at" not in first and db_session.query(InsightSnapshot).count() == 1

    member = make_member(status=MemberStatus.ACTIVE)
    make_contribution(member, 2500, campaign="spring", paid_at=utcnow())
    db_session.commit()
    kept = text(staff.get("/staff/dashboard"))
    assert "spring" not in kept  # the twelve-month figures are the kept ones, and say so
    assert re.search(r"The twelve-month figures below were computed at \d{4}-\d\d-\d\d \d\d:\d\d UTC", kept)
    body = client_json(staff, headers)
    assert "spring" not in campaigns(body)
    assert body["by_status"]["active"] == 1  # the live figures are live

    assert refresh_insight(utcnow() + timedelta(minutes=5)) == 0  # less than half its life: left alone
    assert refresh_insight(utcnow() + timedelta(minutes=8)) == 1
    assert "spring" in text(staff.get("/staff/dashboard"))
    assert "spring" in campaigns(client_json(staff, headers))


def test_kept_figures_expire_and_a_quick_computation_forgets_them(staff_login, db_session, app, slow, monkeypatch):
    staff = staff_login("viewer")
    staff.get("/staff/dashboard")
    make_contribution(make_member(status=MemberStatus.ACTIVE), 2500, campaign="spring", paid_at=utcnow())
    db_session.commit()
    monkeypatch.setitem(app.config, "INSIGHT_CACHE_SECONDS", 0)  # nothing is kept: live again at once
    assert "spring" in text(staff.get("/staff/dashboard"))
    assert db_session.query(InsightSnapshot).count() == 0


def client_json(staff, headers) -> dict:
    response = staff.get("/api/v1/stats", headers=headers)
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    return response.get_json()

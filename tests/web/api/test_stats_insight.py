"""`GET /api/v1/stats` carries the insight figures beside its earlier keys, and each figure as CSV."""
from __future__ import annotations

import csv
import io
from datetime import timedelta
from decimal import Decimal

from service.db import utcnow
from service.domain.insight.periods import number_of, start_of
from service.extensions import db
from service.models import ActivityKind, MemberActivity, MemberStatus, SubscriptionStatus
from tests.factories import make_contribution, make_member, make_subscription, plan


def test_stats_carry_the_insight_figures_and_the_rate_each_amount_used(client, db_session, api_token, app, monkeypatch):
    monkeypatch.setitem(app.config, "FX_RATES", {"eur": Decimal("1.08")})
    this = number_of(utcnow())
    member = make_member(status=MemberStatus.ACTIVE)
    db.session.add(MemberActivity(member_id=member.id, kind=ActivityKind.STATUS_CHANGED, from_status=MemberStatus.PENDING,
                                  to_status=MemberStatus.ACTIVE, created_at=start_of(this - 2) + timedelta(days=1)))
    sub = make_subscription(member, SubscriptionStatus.ACTIVE, plan=plan("monthly-5"))
    sub.currency = "eur"  # EUR 5 a month: 540 US cents a month with FX_RATES
    make_contribution(member, 500, "eur", paid_at=start_of(this) + timedelta(hours=1), settlement_currency="usd",
                      exchange_rate="1.1", campaign="spring")
    db_session.commit()

    body = client.get("/api/v1/stats", headers=api_token("viewer")).get_json()
    # The earlier keys are all still there.
    assert {"by_status", "weeks", "revenue", "past_due", "past_due_count", "comps_ending", "webhooks", "giving"} <= set(body)
    eur_plan = next(r for r in body["revenue"] if r["currency"] == "eur")
    assert eur_plan["monthly"] == 500
    assert eur_plan["converted"] == {"currency": "eur", "amount": 500, "converted": {"amount": 540, "currency": "usd"},
                                     "rate_source": "fx_rates", "rate": "1.08"}
    assert body["revenue_converted"]["currency"] == "usd" and body["revenue_converted"]["amount"] >= 540

    insight = body["insight"]
    assert insight["reporting_currency"] == "usd" and insight["fx_rates"] == {"eur": "1.08"}
    cohort = next(c for c in insight["retention"] if c["month"] == start_of(this - 2).strftime("%Y-%m"))
    assert cohort["members"] == 1
    assert cohort["cells"][0] == {"months": 1, "retained": 1, "share": "1.0000"}
    assert cohort["cells"][-1] == {"months": 12, "retained": None, "share": None}
    assert {"month", "voluntary", "involuntary", "ended", "total"} == set(insight["churn"][0])
    assert set(insight["recovery"]) == {"months", "total"} and insight["recovery"]["total"]["month"] == "all"
    assert isinstance(insight["movements"], list)
    campaign = next(c for c in insight["campaigns"] if c["campaign"] == "spring")
    assert campaign["converted"] == {"amount": 550, "currency": "usd"}
    assert campaign["revenue"][0]["rate_source"] == "stripe"
    eur = next(r for r in insight["currencies"]["rows"] if r["currency"] == "eur")
    assert eur["rate_source"] == "stripe" and eur["net"]["converted"] == {"amount": 550, "currency": "usd"}
    assert eur["net"]["rate"] == "1.100000"


def test_each_figure_as_csv_through_the_api(client, db_session, api_token):
    headers = api_token("viewer")
    for figure in ("retention", "churn", "recovery", "movements", "campaigns", "currencies"):
        response = client.get(f"/api/v1/stats/{figure}.csv", headers=headers)
        assert response.status_code == 200 and response.mimetype == "text/csv"
        assert next(csv.reader(io.StringIO(response.get_data(as_text=True))))  # a header line
    missing = client.get("/api/v1/stats/nonsense.csv", headers=headers)
    assert missing.status_code == 404 and missing.get_json()["error"]["code"] == "not_found"
    assert client.get("/api/v1/stats/retention.csv").status_code == 401

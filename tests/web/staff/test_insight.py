"""The insight figures on the dashboard (retention heat map, churn, recovery, movements, revenue
per currency with the rate each amount used) and as CSV downloads."""
from __future__ import annotations

import csv
import html
import io
import re
from datetime import timedelta
from decimal import Decimal

import pytest

from service.db import utcnow
from service.domain.insight.periods import number_of, start_of
from service.extensions import db
from service.models import ActivityKind, Invoice, InvoiceStatus, MemberActivity, MemberStatus
from tests.factories import make_contribution, make_member, make_subscription


def text(response) -> str:
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    body = re.sub(r"<[^>]+>", " ", response.get_data(as_text=True))
    return re.sub(r"\s+", " ", html.unescape(body))


@pytest.fixture
def fx(app, monkeypatch):
    """CHF has a configured rate; GBP has none."""
    monkeypatch.setitem(app.config, "FX_RATES", {"chf": Decimal("1.13")})
    monkeypatch.setitem(app.config, "REPORTING_CURRENCY", "usd")


def seed_history(db_session) -> None:
    this = number_of(utcnow())
    joined = start_of(this - 3) + timedelta(days=2)
    member = make_member(status=MemberStatus.ACTIVE)  # joined three months ago, still a member
    db.session.add(MemberActivity(member_id=member.id, kind=ActivityKind.STATUS_CHANGED, from_status=MemberStatus.PENDING,
                                  to_status=MemberStatus.ACTIVE, created_at=joined))
    gone = make_member(status=MemberStatus.LAPSED)  # payments failed: involuntary churn this month
    db.session.add(MemberActivity(member_id=gone.id, kind=ActivityKind.STATUS_CHANGED, from_status=MemberStatus.PAST_DUE,
                                  to_status=MemberStatus.LAPSED, created_at=start_of(this) + timedelta(hours=1)))
    sub = make_subscription(member)
    paid = start_of(this) + timedelta(hours=2)
    db.session.add(Invoice(member_id=member.id, subscription_id=sub.id, stripe_invoice_id="in_insight_recovered",
                           status=InvoiceStatus.PAID, amount_due=500, amount_paid=500, currency="eur", attempt_count=2,
                           stripe_created_at=paid, paid_at=paid))
    make_contribution(member, 500, "eur", paid_at=paid, stripe_invoice_id="in_insight_recovered", campaign="autumn",
                      settlement_currency="usd", exchange_rate="1.1")  # Stripe: 550 US cents
    make_contribution(member, 1000, "chf", paid_at=paid, campaign="autumn")  # FX_RATES: 1130
    make_contribution(member, 700, "gbp", paid_at=paid)  # no rate
    db_session.commit()


def test_the_dashboard_shows_the_heat_map_and_every_figure(staff_login, db_session, fx):
    seed_history(db_session)
    response = staff_login("viewer").get("/staff/dashboard")
    body = response.get_data(as_text=True)
    page = text(response)
    # The heat map: an accessible SVG (title and description) and the same numbers in a table.
    assert "Members still members k months after joining, by join month" in body
    assert re.search(r'<svg[^>]*role="img"[^>]*aria-labelledby="chart-t\d+ chart-d\d+"', body)
    assert 'fill-opacity="0.70"' in body  # 100% kept after one month: the darkest cell
    assert "Retention by join month" in page and "1 (100%)" in page
    assert "Churn by cause" in page and "Failed-payment recovery" in page
    assert "Recurring revenue movements" in page
    # Revenue per currency, each with the rate it used.
    currencies = page[page.index("Revenue per currency, last 12 months"):]
    assert "EUR 1 €5.00 €5.00 $5.50 Stripe's rate (≈ 1.1)" in currencies
    assert "CHF 1 CHF10.00 CHF10.00 $11.30 FX_RATES 1.13" in currencies
    assert "GBP 1 £7.00 £7.00 – no rate" in currencies
    assert "Total in USD $16.80 without GBP (no rate)" in currencies
    recovery = page[page.index("Failed-payment recovery"):page.index("Recurring revenue movements")]
    assert "Recovered later 1 (100.0%)" in recovery and "€5.00 = $5.50 (EUR: Stripe's rate" in recovery
    # The existing campaign tables, extended with the converted revenue and the latest-touch joins.
    campaigns = page[page.index("Campaigns, last 12 months"):]
    assert "autumn 1 €5.00 $5.50 Stripe's rate" in campaigns
    for figure in ("retention", "churn", "recovery", "movements", "campaigns", "currencies"):
        assert f'href="/staff/insight/{figure}.csv"' in body


def test_each_figure_downloads_as_csv(staff_login, db_session, fx):
    seed_history(db_session)
    staff = staff_login("viewer")
    response = staff.get("/staff/insight/retention.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"] == 'attachment; filename="retention.csv"'
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    three_months_ago = start_of(number_of(utcnow()) - 3).strftime("%Y-%m")
    cohort = next(r for r in rows if r["cohort"] == three_months_ago)
    assert (cohort["members"], cohort["retained_1m"], cohort["share_1m"], cohort["retained_12m"]) == ("1", "1", "1.0000", "")
    currencies = list(csv.DictReader(io.StringIO(staff.get("/staff/insight/currencies.csv").get_data(as_text=True))))
    eur = next(r for r in currencies if r["currency"] == "eur")
    assert (eur["amount"], eur["converted"], eur["reporting_currency"], eur["rate_source"]) == ("5.00", "5.50", "usd", "stripe")
    gbp = next(r for r in currencies if r["currency"] == "gbp")
    assert (gbp["converted"], gbp["rate_source"]) == ("", "unavailable")
    for figure in ("churn", "recovery", "movements", "campaigns"):
        answer = staff.get(f"/staff/insight/{figure}.csv")
        assert answer.status_code == 200 and answer.get_data(as_text=True).count("\r\n") >= 1
    assert staff.get("/staff/insight/nonsense.csv").status_code == 404


def test_csv_needs_a_signed_in_staff_user(anonymous):
    assert anonymous.get("/staff/insight/retention.csv").status_code == 302

"""Reading contributions: totals per currency net of refunds, the export's batches, a member's
history, and the dashboard's giving figures."""
from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from service.domain.insight import contributions as giving
from service.domain.insight.contributions import ContributionFilter, Cursor, Totals
from service.models import ContributionKind
from tests.factories import make_contribution, make_member

NOW = datetime(2026, 5, 20, 15, 0, tzinfo=UTC)


def test_totals_per_currency_are_net_of_refunds_and_disputes(db_session):
    member = make_member()
    make_contribution(member, 2625, "usd", fee_covered=125, refunded_amount=1000)
    make_contribution(member, 500, "usd", disputed_amount=500)
    make_contribution(member, 1000, "usd", refunded_amount=600, disputed_amount=1000)  # never below zero
    make_contribution(member, 1500, "eur")
    assert giving.totals(ContributionFilter(member_id=member.id)) == {
        "eur": Totals(count=1, amount=1500, fee_covered=0, refunded=0, disputed=0, net=1500),
        "usd": Totals(count=3, amount=4125, fee_covered=125, refunded=1600, disputed=1500, net=1625),
    }
    assert giving.totals(ContributionFilter(member_id=member.id, currency="eur")) == {"eur": Totals(1, 1500, 0, 0, 0, 1500)}
    assert giving.totals(ContributionFilter(member_id=member.id, kind=ContributionKind.MEMBERSHIP)) == {}


def test_days_include_the_whole_day_and_times_are_exact(db_session):
    member = make_member()
    late = make_contribution(member, paid_at=datetime(2026, 3, 31, 23, 59, 59, tzinfo=UTC))
    early = make_contribution(member, paid_at=datetime(2026, 4, 1, tzinfo=UTC))

    def found(**f):
        page, _ = giving.page(ContributionFilter(member_id=member.id, **f))
        return [c.id for c in page]

    assert found(until=date(2026, 3, 31)) == [late.id]
    assert found(since=date(2026, 4, 1)) == [early.id]
    assert found(until=datetime(2026, 4, 1, tzinfo=UTC)) == [late.id]  # a time is an open end
    assert found(since=datetime(2026, 3, 31, 23, 59, 59, tzinfo=UTC)) == [early.id, late.id]


def test_cursor_round_trips_and_reads_any_well_formed_text():
    at = datetime(2026, 3, 10, 12, 0, 0, 123456, tzinfo=UTC)
    assert Cursor.decode(Cursor(at, 42).encode()) == Cursor(at, 42)
    assert Cursor.decode("0_1") == Cursor(datetime(1970, 1, 1, tzinfo=UTC), 1)
    far = Cursor.decode("99999999999999999_9999999999")
    assert far.id == 2**31 - 1 and far.paid_at.year > 5000


@pytest.mark.parametrize("release", [False, True])
def test_export_reads_every_row_in_batches_newest_first(db_session, release):
    member = make_member(name="Batch Reader")
    made = [make_contribution(member, 100 + n, paid_at=NOW - timedelta(days=n % 3)) for n in range(7)]
    rows = list(giving.iter_rows(ContributionFilter(member_id=member.id), chunk=2, release=release))
    assert [c.id for c, _email, _name in rows] == [c.id for c in sorted(made, key=lambda c: (c.paid_at, c.id), reverse=True)]
    assert {(email, name) for _c, email, name in rows} == {(member.email, "Batch Reader")}


def test_a_members_history_is_newest_first_and_bounded(db_session):
    member, other = make_member(), make_member()
    old = make_contribution(member, paid_at=NOW - timedelta(days=60))
    new = make_contribution(member, paid_at=NOW)
    make_contribution(other)
    assert [c.id for c in giving.history(member.id)] == [new.id, old.id]
    assert [c.id for c in giving.history(member.id, limit=1)] == [new.id]


def test_month_start_counts_back_across_years():
    assert giving.month_start(NOW) == datetime(2026, 5, 1, tzinfo=UTC)
    assert giving.month_start(NOW, 11) == datetime(2025, 6, 1, tzinfo=UTC)
    assert giving.month_start(datetime(2026, 1, 31, tzinfo=UTC), 1) == datetime(2025, 12, 1, tzinfo=UTC)
    assert giving.month_start(datetime(2026, 12, 5, tzinfo=UTC), -1) == datetime(2027, 1, 1, tzinfo=UTC)


def test_giving_figures_this_month_and_over_twelve_by_currency_and_kind(db_session):
    member = make_member()
    make_contribution(member, 500, kind=ContributionKind.MEMBERSHIP, paid_at=NOW - timedelta(days=2))
    make_contribution(member, 500, kind=ContributionKind.MEMBERSHIP, paid_at=datetime(2026, 4, 20, tzinfo=UTC))
    make_contribution(member, 2500, kind=ContributionKind.ONE_TIME, paid_at=NOW - timedelta(days=1), refunded_amount=1000)
    make_contribution(member, 1000, "eur", kind=ContributionKind.GIFT_PURCHASE, paid_at=datetime(2025, 6, 1, tzinfo=UTC))
    make_contribution(member, 9999, kind=ContributionKind.ONE_TIME, paid_at=datetime(2025, 5, 31, 23, 59, tzinfo=UTC))  # too old

    figures = giving.giving_figures(NOW)
    as_rows = lambda rows: {(r.currency, r.kind): (r.count, r.amount, r.net) for r in rows}
    assert (figures.month_start, figures.year_start) == (datetime(2026, 5, 1, tzinfo=UTC), datetime(2025, 6, 1, tzinfo=UTC))
    assert as_rows(figures.month) == {("usd", "membership"): (1, 500, 500), ("usd", "one_time"): (1, 2500, 1500)}
    assert as_rows(figures.year) == {("usd", "membership"): (2, 1000, 1000), ("usd", "one_time"): (1, 2500, 1500),
                                     ("eur", "gift_purchase"): (1, 1000, 1000)}


def test_campaigns_rank_by_revenue_per_currency_and_by_joins(db_session):
    payer = make_member()
    for campaign, amounts in (("spring", [500, 500, 2500]), ("autumn", [10000]), ("radio", [700])):
        for amount in amounts:
            make_contribution(payer, amount, campaign=campaign, paid_at=NOW - timedelta(days=10))
    make_contribution(payer, 5000, campaign="spring", paid_at=NOW - timedelta(days=10), refunded_amount=5000)
    make_contribution(payer, 3000, "eur", campaign="radio", paid_at=NOW - timedelta(days=3))
    make_contribution(payer, 99999, campaign="radio", paid_at=NOW - timedelta(days=400))  # outside the period
    make_contribution(payer, 800, paid_at=NOW)  # no campaign

    revenue = giving.campaigns_by_revenue(giving.month_start(NOW, 11), NOW, top=2)
    assert [(r.currency, r.campaign, r.contributions, r.net) for r in revenue] == [
        ("eur", "radio", 1, 3000), ("usd", "autumn", 1, 10000), ("usd", "spring", 4, 3500)]

    joined = NOW - timedelta(days=5)
    for touch in ({"campaign": "spring"}, {"utm_campaign": "spring"}, {"campaign": "spring", "utm_campaign": "other"},
                  {"utm_campaign": "radio"}, {"utm_source": "search"}):
        make_member(first_touch=touch, latest_touch={"campaign": "latest-only"}, created_at=joined)
    make_member(first_touch={"campaign": "radio"}, created_at=NOW - timedelta(days=400))  # joined before the period
    make_member(first_touch=None, created_at=joined)
    joins = giving.campaigns_by_joins(giving.month_start(NOW, 11), NOW)
    assert [(j.campaign, j.joins) for j in joins] == [("spring", 3), ("radio", 1)]

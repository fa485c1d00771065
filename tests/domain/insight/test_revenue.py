"""Recurring-revenue movements, failed-payment recovery and revenue per currency, on seeded
invoices and contributions whose right answers are worked out here by hand.

The day is fixed at 2026-07-15: movements cover the twelve complete months 2025-07 .. 2026-06.
"""
from __future__ import annotations

import itertools
import random
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from service.domain.billing.sync import sync_invoice
from service.domain.insight.fx import Rates, RateSource
from service.domain.insight.recovery import recovery
from service.domain.insight.revenue import movements, revenue_by_currency
from service.extensions import db
from service.models import Interval, Invoice, InvoiceStatus, Member, Subscription
from tests.factories import make_contribution, make_member, make_subscription, plan

NOW = datetime(2026, 7, 15, 12, tzinfo=UTC)
RATES = Rates("usd", {"eur": Decimal("1.08"), "chf": Decimal("1.13")})
_n = itertools.count(1)


def day(y: int, m: int, d: int) -> datetime:
    return datetime(y, m, d, 9, tzinfo=UTC)


def invoice(member: Member, sub: Subscription | None, created: datetime, amount: int, *,
            status: InvoiceStatus = InvoiceStatus.PAID, attempts: int = 1, currency: str = "usd") -> Invoice:
    """Stripe's invoice as the webhook handlers sync it (the recurring revenue is kept as it is written)."""
    paid = status is InvoiceStatus.PAID
    parent = {"subscription_details": {"subscription": sub.stripe_subscription_id}} if sub else None
    return sync_invoice(member, {
        "id": f"in_ins{next(_n):06d}", "status": status.value, "amount_due": amount, "amount_paid": amount if paid else 0,
        "currency": currency, "attempt_count": attempts, "created": int(created.timestamp()), "parent": parent,
        "status_transitions": {"paid_at": int(created.timestamp()) if paid else None}}, created)


def subscriber(interval: Interval = Interval.MONTH, currency: str = "usd") -> tuple[Member, Subscription]:
    member = make_member()
    sub = make_subscription(member, plan=plan("yearly-50") if interval is Interval.YEAR else plan())
    sub.interval, sub.currency = interval, currency
    db.session.flush()
    return member, sub


@pytest.mark.parametrize("order", ["as paid", "reversed", "shuffled"])
def test_movements_month_by_month(db_session, order):
    """The same figures however the invoices arrive: a retried payment or a replayed event syncs
    an older invoice after newer ones, and each member's revenue is re-sequenced."""
    history = []
    p, p_sub = subscriber()  # $5 Jan-Mar 2026, $10 Apr-May, nothing in June
    for month, amount in ((1, 500), (2, 500), (3, 500), (4, 1000), (5, 1000)):
        history.append((p, p_sub, day(2026, month, 15), amount, {}))
    history.append((p, p_sub, day(2026, 6, 15), 1000, {"status": InvoiceStatus.OPEN, "attempts": 2}))  # unpaid
    q, q_sub = subscriber()  # $5 Oct-Nov 2025, none in Dec, back at $8 in Jan-Feb, $6 from March
    for when, amount in ((day(2025, 10, 10), 500), (day(2025, 11, 10), 500), (day(2026, 1, 10), 800),
                         (day(2026, 2, 10), 800), *((day(2026, m, 10), 600) for m in (3, 4, 5, 6))):
        history.append((q, q_sub, when, amount, {}))
    r, r_sub = subscriber(Interval.YEAR)  # $50 a year, renewed: (5000 * 2 + 12) // 24 = 417 a month, throughout
    history += [(r, r_sub, day(2025, 3, 20), 5000, {}), (r, r_sub, day(2026, 3, 20), 5000, {})]
    s, s_sub = subscriber(Interval.YEAR)  # $50 on 2025-06-05 covers Jun 2025 .. May 2026, not renewed
    history.append((s, s_sub, day(2025, 6, 5), 5000, {}))
    t, t_sub = subscriber(Interval.WEEK)  # $1 a week in May: 100 * 36525 / 8400 = 434.8 -> 435 a month
    history += [(t, t_sub, day(2026, 5, d), 100, {}) for d in (4, 11, 18, 25)]
    u, u_sub = subscriber(currency="eur")  # EUR 5 from June: new, 500 * 1.08 = 540 USD with FX_RATES
    history.append((u, u_sub, day(2026, 6, 2), 500, {"currency": "eur"}))
    history.sort(key=lambda h: h[2])
    if order == "reversed":
        history.reverse()
    elif order == "shuffled":
        random.Random(18).shuffle(history)
    for member, sub, created, amount, extra in history:
        invoice(member, sub, created, amount, **extra)

    found = {(m.month, m.currency): m for m in movements(NOW, RATES)}
    usd = {month: found[(month, "usd")] for month, cur in found if cur == "usd"}
    assert sorted(usd) == [f"2025-{m:02d}" for m in range(7, 13)] + [f"2026-{m:02d}" for m in range(1, 7)]

    def moves(month: str) -> tuple[int, ...]:
        m = usd[month]
        return m.mrr, m.new, m.reactivated, m.expansion, m.contraction, m.churned

    # Jul-Sep 2025: R 417 + S 417 = 834, both covered since before July: no movement.
    assert moves("2025-07") == moves("2025-09") == (834, 0, 0, 0, 0, 0)
    assert moves("2025-10") == (1334, 500, 0, 0, 0, 0)  # Q new: nothing paid before
    assert moves("2025-11") == (1334, 0, 0, 0, 0, 0)
    assert moves("2025-12") == (834, 0, 0, 0, 0, 500)  # Q churned
    assert moves("2026-01") == (2134, 500, 800, 0, 0, 0)  # P new 500; Q back (paid before): reactivated 800
    assert moves("2026-02") == (2134, 0, 0, 0, 0, 0)
    assert moves("2026-03") == (1934, 0, 0, 0, 200, 0)  # Q 800 -> 600; R's renewal continues its coverage
    assert moves("2026-04") == (2434, 0, 0, 500, 0, 0)  # P 500 -> 1000
    assert moves("2026-05") == (2869, 435, 0, 0, 0, 0)  # T new
    # June: P (unpaid) 1000, S (not renewed) 417 and T 435 churn; Q 600 + R 417 remain.
    assert moves("2026-06") == (1017, 0, 0, 0, 0, 1852)
    assert usd["2026-06"].net == -1852 and usd["2026-06"].rate_source is RateSource.SAME

    eur = found[("2026-06", "eur")]
    assert (eur.mrr, eur.new, eur.rate_source) == (500, 500, RateSource.FX_RATES)
    assert eur.converted["new"] == 540 and eur.converted["mrr"] == 540


def test_recovery_counts_invoices_whose_first_attempt_failed(db_session):
    m, sub = subscriber()
    invoice(m, sub, day(2026, 5, 3), 500)  # paid at the first attempt: not counted
    invoice(m, sub, day(2026, 5, 6), 500, attempts=3)  # failed twice, then paid: recovered
    invoice(m, sub, day(2026, 6, 3), 500, status=InvoiceStatus.OPEN, attempts=2)  # still retrying
    invoice(m, sub, day(2026, 6, 4), 500, status=InvoiceStatus.UNCOLLECTIBLE, attempts=4)  # lost
    eur = invoice(m, sub, day(2026, 6, 5), 500, attempts=2, currency="eur")  # recovered, in EUR
    make_contribution(m, 500, "eur", stripe_invoice_id=eur.stripe_invoice_id, settlement_currency="usd",
                      exchange_rate="1.1", stripe_fee=45, stripe_net=505)  # Stripe: 500 EUR cents -> 550 USD cents
    invoice(m, sub, day(2026, 6, 6), 500, status=InvoiceStatus.DRAFT, attempts=0)  # not attempted yet
    invoice(m, sub, day(2025, 1, 6), 500, attempts=2)  # before the period

    months, total = recovery(day(2025, 8, 1), day(2026, 8, 1), RATES)
    by_month = {r.month: r for r in months}
    assert sorted(by_month) == ["2026-05", "2026-06"]
    may, june = by_month["2026-05"], by_month["2026-06"]
    assert (may.failed, may.recovered, may.retrying, may.lost, may.rate) == (1, 1, 0, 0, 1)
    assert (june.failed, june.recovered, june.retrying, june.lost) == (3, 1, 1, 1)
    # Over both months: 2 of 4 recovered; $5.00 + EUR 5.00 at Stripe's 1.1 = 500 + 550 = 1050 US cents.
    assert (total.failed, total.recovered, float(total.rate)) == (4, 2, 0.5)
    parts = {p.currency: p for p in total.revenue.values()}
    assert (parts["usd"].amount, parts["usd"].rate_source) == (500, RateSource.SAME)
    assert (parts["eur"].amount, parts["eur"].converted, parts["eur"].rate_source) == (500, 550, RateSource.STRIPE)
    assert total.converted() == 1050


def test_revenue_per_currency_uses_stripes_rate_then_fx_rates(db_session):
    m = make_member()
    paid = day(2026, 6, 1)
    make_contribution(m, 1000, "usd", paid_at=paid)  # no conversion
    # EUR settled in USD by Stripe at 1.0825: 1000 cents -> 1082.5 -> 1082 (half to even); refunded 200:
    # net 800 -> 866.0.  And one at 1.09: 500 -> 545.  Stripe part: 866 + 545 = 1411 for EUR 13.00 net.
    make_contribution(m, 1000, "eur", paid_at=paid, refunded_amount=200, settlement_currency="usd", exchange_rate="1.0825")
    make_contribution(m, 500, "eur", paid_at=paid, settlement_currency="usd", exchange_rate="1.09")
    make_contribution(m, 500, "eur", paid_at=paid)  # no balance transaction yet: FX_RATES 1.08 -> 540
    make_contribution(m, 1000, "chf", paid_at=paid, settlement_currency="chf")  # Stripe did not convert: 1.13 -> 1130
    make_contribution(m, 1000, "gbp", paid_at=paid)  # no rate at all: left out
    make_contribution(m, 1000, "jpy", paid_at=paid, settlement_currency="usd", exchange_rate="0.0067")  # 1000 yen -> 670
    make_contribution(m, 9999, "usd", paid_at=day(2025, 1, 1))  # before the period

    rows = {(r.currency, r.rate_source): r for r in revenue_by_currency(day(2025, 8, 1), day(2026, 8, 1), RATES)}
    assert set(rows) == {("usd", RateSource.SAME), ("eur", RateSource.STRIPE), ("eur", RateSource.FX_RATES),
                         ("chf", RateSource.FX_RATES), ("gbp", RateSource.UNAVAILABLE), ("jpy", RateSource.STRIPE)}
    stripe_eur = rows[("eur", RateSource.STRIPE)]
    assert (stripe_eur.contributions, stripe_eur.amount, stripe_eur.net.amount, stripe_eur.net.converted) == (2, 1500, 1300, 1411)
    assert stripe_eur.net.rate == Decimal("1.085385")  # 14.11 / 13.00, the effective average Stripe applied
    assert (rows[("eur", RateSource.FX_RATES)].net.converted, rows[("eur", RateSource.FX_RATES)].net.rate) == (540, Decimal("1.08"))
    assert rows[("chf", RateSource.FX_RATES)].net.converted == 1130
    assert rows[("gbp", RateSource.UNAVAILABLE)].net.converted is None
    assert rows[("jpy", RateSource.STRIPE)].net.converted == 670
    assert rows[("usd", RateSource.SAME)].net.converted == 1000


def test_invoices_written_without_their_revenue_are_counted_by_the_worker(db_session):
    """An invoice stored by the version still running while the migration ran has no recurring
    revenue yet: the worker's `revenue` job counts it, and the member's churn moves on."""
    from service.jobs import count_revenue

    member, sub = subscriber()
    invoice(member, sub, day(2026, 1, 10), 500)  # January, counted as it is synced
    late = Invoice(member_id=member.id, subscription_id=sub.id, stripe_invoice_id="in_uncounted", status=InvoiceStatus.PAID,
                   amount_due=500, amount_paid=500, currency="usd", attempt_count=1,
                   stripe_created_at=day(2026, 2, 10), paid_at=day(2026, 2, 10))  # February, as the old code wrote it
    db.session.add(late)
    db.session.flush()
    before = {m.month: m for m in movements(NOW, RATES)}
    assert before["2026-02"].churned == 500  # nothing counted covers February yet

    assert count_revenue(NOW) == 1
    after = {m.month: m for m in movements(NOW, RATES)}
    assert after["2026-02"].churned == 0 and after["2026-02"].mrr == 500 and after["2026-03"].churned == 500
    assert count_revenue(NOW) == 0  # nothing left to count

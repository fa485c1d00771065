"""The staff insight figures at a million members and ten million contributions, on PostgreSQL.

Seeds a database of its own (`bench_insight`, created here; never the test database) with
generate_series: N members joined evenly over five years, a subscription for each paying one
(a third yearly; 80% USD, the rest EUR, CHF and GBP), a status timeline (activated, some failing
then lapsing, some cancelling, some comped, some back again), 10 x N contributions (one in ten a
one-time gift, the rest paid invoices, each with its invoice; other currencies settled in USD at
a rate that moves daily, a campaign on one in seven), with one timeline line per contribution as
the service writes. Then it times each insight query in-process, the dashboard's live and
twelve-month figures, and the dashboard page (rendered, signed-in staff, through the WSGI app
without a socket) and GET /api/v1/stats, each with every figure computed and with the
twelve-month figures kept as INSIGHT_CACHE_SECONDS keeps them, against two baselines measured in the same run: `SELECT 1` (one round trip)
and `SELECT count(*) FROM contributions` (one pass over the largest table), and appends the
figures to bench/RESULTS.md.

    .venv/bin/python -m bench.insight [--members 1000000] [--runs 5] [--keep]

`--keep` leaves the database for EXPLAIN and reuses it when already seeded with as many members.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from sqlalchemy import text

from bench.common import ADMIN_URL, append_results, scratch_database, timed

NAME = "bench_insight"
CURRENCY = "CASE WHEN {i} % 20 < 16 THEN 'usd' WHEN {i} % 20 < 18 THEN 'eur' WHEN {i} % 20 = 18 THEN 'chf' ELSE 'gbp' END"
# Member i: 0-5 active, 6 cancelled (lapsed), 7 failed then lapsed (unpaid), 8 past_due, 9 comped
# after cancelling, and one in 25 never paid (pending).
STATUS = ("CASE WHEN i % 25 = 0 THEN 'pending' WHEN i % 10 < 6 THEN 'active' WHEN i % 10 IN (6, 7) THEN 'lapsed' "
          "WHEN i % 10 = 8 THEN 'past_due' ELSE 'comped' END")


def seed(conn: Any, n: int) -> None:
    conn.execute(text(f"""
        INSERT INTO members (id, email, name, status, status_changed_at, first_touch, latest_touch, stripe_customer_id,
                             created_at, updated_at)
        SELECT i, 'reader' || i || '@example.org', 'Reader ' || i, {STATUS}, now(),
               CASE WHEN i % 10 = 0 THEN json_build_object('campaign', 'camp-' || (i % 23)) END,
               CASE WHEN i % 8 = 0 THEN json_build_object('utm_campaign', 'camp-' || (i % 19)) END,
               'cus_' || i, now() - (i % 1826) * interval '1 day' - (i % 86400) * interval '1 second', now()
        FROM generate_series(1, :n) AS i"""), {"n": n})
    conn.execute(text("SELECT setval(pg_get_serial_sequence('members', 'id'), :n)"), {"n": n})
    conn.execute(text(f"""
        INSERT INTO subscriptions (id, member_id, plan_id, stripe_subscription_id, status, amount, currency, interval,
                                   interval_count, current_period_end, cancel_at_period_end, canceled_at, ended_at,
                                   stripe_created_at, synced_at, created_at, updated_at)
        SELECT m.id, m.id, p.id, 'sub_' || m.id,
               CASE m.id % 10 WHEN 6 THEN 'canceled' WHEN 7 THEN 'unpaid' WHEN 8 THEN 'past_due'
                              WHEN 9 THEN 'canceled' ELSE 'active' END,
               p.amount, {CURRENCY.format(i='m.id')}, p.interval, 1, now() + interval '20 days', false,
               CASE WHEN m.id % 10 IN (6, 9) THEN m.created_at + (m.id % 300) * interval '1 day' END,
               CASE WHEN m.id % 10 IN (6, 9) THEN m.created_at + (m.id % 300) * interval '1 day' END,
               m.created_at, now(), m.created_at, now()
        FROM members m JOIN plans p ON p.code = CASE WHEN m.id % 3 = 0 THEN 'yearly-50' ELSE 'monthly-5' END
        WHERE m.status <> 'pending'"""))
    conn.execute(text("SELECT setval(pg_get_serial_sequence('subscriptions', 'id'), :n)"), {"n": n})
    _timeline(conn)
    _contributions(conn, n)


def _timeline(conn: Any) -> None:
    """joined; activated a minute later; then per kind: failing and lapsing, cancelling, comped, back again."""
    at = "m.created_at + (m.id % 300) * interval '1 day'"
    conn.execute(text(f"""
        INSERT INTO member_activity (member_id, kind, from_status, to_status, detail, created_at)
        SELECT m.id, 'joined', NULL, NULL, '', m.created_at FROM members m
        UNION ALL SELECT m.id, 'status_changed', 'pending', 'active', '', m.created_at + interval '1 minute'
        FROM members m WHERE m.status <> 'pending'
        UNION ALL SELECT m.id, 'status_changed', 'active', 'past_due', '', {at} - interval '10 days'
        FROM members m WHERE m.id % 10 IN (7, 8) AND m.status <> 'pending'
        UNION ALL SELECT m.id, 'status_changed', 'past_due', 'lapsed', '', {at}
        FROM members m WHERE m.id % 10 = 7 AND m.status <> 'pending'
        UNION ALL SELECT m.id, 'status_changed', 'active', 'lapsed', '', {at}
        FROM members m WHERE m.id % 10 IN (6, 9) AND m.status <> 'pending'
        UNION ALL SELECT m.id, 'status_changed', 'lapsed', 'comped', '', {at} + interval '30 days'
        FROM members m WHERE m.id % 10 = 9 AND m.status <> 'pending'
        UNION ALL SELECT m.id, 'status_changed', 'lapsed', 'active', '', {at} + interval '60 days'
        FROM members m WHERE m.id % 30 = 6 AND m.status <> 'pending'"""))


def _contributions(conn: Any, n: int) -> None:
    """10 x n contributions: paid invoices of each member's subscription (one in ten a one-time gift)."""
    paid = ("CASE WHEN m.created_at + (j / :n) * interval '1 month' < now() THEN m.created_at + (j / :n) * interval '1 month' "
            "ELSE now() - ((j / :n) + 1) * interval '3 days' END")
    conn.execute(text(f"""
        INSERT INTO invoices (member_id, subscription_id, stripe_invoice_id, status, amount_due, amount_paid, currency,
                              billing_reason, attempt_count, stripe_created_at, paid_at, synced_at)
        SELECT s.member_id, s.id, 'in_' || j,
               CASE WHEN j % 97 = 3 THEN 'open' WHEN j % 193 = 5 THEN 'uncollectible' ELSE 'paid' END,
               s.amount, CASE WHEN j % 97 = 3 OR j % 193 = 5 THEN 0 ELSE s.amount END, s.currency,
               'subscription_cycle', CASE WHEN j % 50 = 1 THEN 2 WHEN j % 97 = 3 THEN 2 WHEN j % 193 = 5 THEN 4 ELSE 1 END,
               {paid}, {paid}, now()
        FROM generate_series(0, 10 * :n - 1) AS j JOIN members m ON m.id = 1 + j % :n
        JOIN subscriptions s ON s.member_id = m.id
        WHERE j % 10 <> 9"""), {"n": n})
    rate = "(1.08 + (extract(doy FROM {t}) % 40) / 1000.0)::numeric(8, 4)::text"
    # A gift, or (for the invoices left unpaid) a one-time gift in the same slot: 10 x n in all.
    gift = "j % 10 = 9 OR s.id IS NULL OR j % 97 = 3 OR j % 193 = 5"
    conn.execute(text(f"""
        INSERT INTO contributions (member_id, kind, amount, currency, stripe_invoice_id, stripe_net, stripe_fee,
                                   settlement_currency, exchange_rate, paid_at, campaign, attribution, receipt_number,
                                   created_at, updated_at)
        SELECT m.id, CASE WHEN {gift} THEN 'one_time' ELSE 'membership' END,
               CASE WHEN {gift} THEN 2500 ELSE s.amount END, {CURRENCY.format(i='m.id')},
               CASE WHEN NOT ({gift}) THEN 'in_' || j END, NULL, NULL, 'usd',
               CASE WHEN m.id % 20 >= 16 THEN {rate.format(t=paid)} END, {paid},
               CASE WHEN j % 7 = 0 THEN 'camp-' || (j % 23) END, '{{}}', 'R-' || j, now(), now()
        FROM generate_series(0, 10 * :n - 1) AS j JOIN members m ON m.id = 1 + j % :n
        LEFT JOIN subscriptions s ON s.member_id = m.id"""), {"n": n})
    conn.execute(text("""
        INSERT INTO member_activity (member_id, kind, detail, created_at)
        SELECT member_id, 'contributed', '', paid_at FROM contributions"""))


def counts(conn: Any) -> str:
    tables = ("members", "subscriptions", "member_activity", "invoices", "contributions")
    return ", ".join(f"{conn.execute(text(f'SELECT count(*) FROM {t}')).scalar():,} {t}" for t in tables)


def measure(fn: Callable[[], Any], runs: int) -> float:
    """Median seconds of `runs` runs after one warm-up run."""
    fn()
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def figures_to_time(rates: Any) -> dict[str, Callable[[], Any]]:
    from sqlalchemy import func, select

    from service.db import utcnow
    from service.domain.insight import campaigns, dashboard, figures, recovery, retention, revenue
    from service.extensions import db
    from service.models import Contribution

    now = utcnow()
    since, until = figures.period(now)
    return {
        "baseline: SELECT 1": lambda: db.session.execute(text("SELECT 1")).scalar(),
        "baseline: count(*) FROM contributions": lambda: db.session.scalar(select(func.count()).select_from(Contribution)),
        "retention cohorts (24 join months x 1, 2, 3, 6, 12)": lambda: retention.cohorts(now),
        "churn by cause (12 months)": lambda: retention.churn(now),
        "failed-payment recovery (12 months)": lambda: recovery.recovery(since, until, rates),
        "revenue movements (12 complete months)": lambda: revenue.movements(now, rates),
        "campaigns (12 months, converted)": lambda: campaigns.campaign_figures(since, until, rates),
        "revenue per currency (12 months, converted)": lambda: revenue.revenue_by_currency(since, until, rates),
        "dashboard.load (the live figures)": lambda: dashboard.load(now, rates=rates),
        "dashboard.long_figures (every twelve-month figure)": lambda: dashboard.long_figures(now, rates),
    }


@contextmanager
def database(keep: bool) -> Iterator[str]:
    if not keep:
        with scratch_database(NAME) as url:
            yield url
        return
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (NAME,)).fetchone() is None:
            conn.execute(f'CREATE DATABASE "{NAME}"')
    yield ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://") + f"/{NAME}"


def pages(app: Any, runs: int) -> dict[str, float]:
    """The dashboard page and GET /api/v1/stats through the WSGI app (no socket), signed in."""
    from service.domain.staff.users import create_api_token, create_staff_user
    from service.extensions import db
    from service.models import Role

    with app.app_context():
        email = f"bench-insight-{time.time_ns()}@example.org"  # a new one per run (--keep reuses the database)
        user = create_staff_user(email, Role.VIEWER, "correct horse battery staple")
        _token, plain = create_api_token(user.email)
        db.session.commit()
    client = app.test_client()
    token = client.get("/staff/login").get_data(as_text=True).split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    signed = client.post("/staff/login", data={"email": email, "password": "correct horse battery staple",
                                               "csrf_token": token, "next": ""})
    assert signed.status_code == 302, signed.status_code

    def get(path: str, **kw: Any) -> Callable[[], None]:
        def go() -> None:
            response = client.get(path, **kw)
            assert response.status_code == 200, response.status_code
        return go

    kept, live = {}, {}
    for label, path, kw in (("GET /staff/dashboard (rendered)", "/staff/dashboard", {}),
                            ("GET /api/v1/stats", "/api/v1/stats", {"headers": {"Authorization": f"Bearer {plain}"}})):
        app.config["INSIGHT_CACHE_SECONDS"] = 0  # every figure computed for each request
        live[f"{label}, every figure computed"] = measure(get(path, **kw), runs)
        app.config["INSIGHT_CACHE_SECONDS"] = 900  # the first request computes and keeps the long figures
        kept[f"{label}, twelve-month figures kept (INSIGHT_CACHE_SECONDS)"] = measure(get(path, **kw), runs)
    return {**live, **kept}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--members", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--no-results", action="store_true", help="print only; add nothing to bench/RESULTS.md")
    args = parser.parse_args()

    from service import create_app
    from service.domain.insight.fx import Rates
    from service.domain.insight.periods import for_reports
    from service.extensions import db
    from tests.conftest import migrate

    with database(args.keep) as url:
        migrate(url)
        app = create_app({"MEMBERSHIP_ENV": "test", "DATABASE_URL": url, "SECRET_KEY": "bench-" + "x" * 32,
                          "RATELIMIT_ENABLED": False, "CURRENCIES": "usd,eur,chf,gbp", "FX_RATES": "eur:1.08,chf:1.13"})
        engine = app.extensions["db_engine"]
        with engine.begin() as conn:
            seeded = conn.execute(text("SELECT count(*) FROM members")).scalar()
            seconds = counted = 0.0
            if seeded != args.members:
                seconds = timed(f"seed {args.members:,} members", lambda: seed(conn, args.members))
        if seconds:
            with app.app_context():
                from service.domain.billing import revenue

                counted = timed("recurring revenue on every invoice", lambda: (revenue.record(None), db.session.commit()))
        with engine.begin() as conn:
            conn.execute(text("ANALYZE"))
            rows = counts(conn)
        print(rows, flush=True)
        lines = [f"Seeded in {seconds:.0f} s (then {counted:.0f} s to count every invoice's recurring revenue, as "
                 "domain/billing/revenue.py does one member at a time when invoices are synced): {rows}"
                 if seconds else f"Reused the seeded database: {rows}",
                 f"Median of {args.runs} runs after a warm-up, in-process (domain queries, one connection); "
                 "ratios are to the baselines measured in this run"]
        results: dict[str, float] = {}
        with app.app_context():
            for_reports()  # as figures.load does for the dashboard: no JIT, sorts in memory
            for label, fn in figures_to_time(Rates("usd", app.config["FX_RATES"])).items():
                results[label] = measure(fn, args.runs)
                print(f"{label:50} {results[label] * 1000:9.1f} ms", flush=True)
            db.session.remove()
        timed_pages = pages(app, args.runs)
        results.update(timed_pages)
        for label, value in timed_pages.items():
            print(f"{label:50} {value * 1000:9.1f} ms", flush=True)
        one, scan = results.pop("baseline: SELECT 1"), results.pop("baseline: count(*) FROM contributions")
        lines.append(f"Baselines: SELECT 1 {one * 1000:.2f} ms; count(*) over contributions {scan * 1000:.0f} ms")
        lines += [f"{label}: {value * 1000:.0f} ms = {value / scan:.2f} x the count(*) pass, "
                  f"{value / one:,.0f} x SELECT 1" for label, value in results.items()]
        engine.dispose()
    if args.no_results:
        return
    append_results("Insight figures at a million members (bench/insight.py)",
                   " ".join([".venv/bin/python -m bench.insight", *sys.argv[1:]]), lines)


if __name__ == "__main__":
    main()

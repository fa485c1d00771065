"""Staff search and the member page at a million members, on PostgreSQL.

Seeds a scratch database (created and dropped here, never the test database)
with N members, a subscription for each non-pending one and two timeline rows
each, using INSERT ... SELECT generate_series; then times every search shape
and the member page (domain query plus the rendered page through the app) and
appends p50/p95 to bench/RESULTS.md.

    .venv/bin/python -m bench.staff_search [--members 1000000] [--runs 200]

Aim (issue 7): p95 under 20 ms for email and prefix lookups, under 100 ms for
substring search and the member page.
"""
from __future__ import annotations

import argparse
import random
import sys
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import text

from bench.common import append_results, percentile, scratch_database, timed

FIRST = ["Ada", "Grace", "Alan", "Ida", "Tim", "Mary", "Claude", "Edith", "Linus", "Barbara", "Ken", "Frances",
         "Dennis", "Radia", "John", "Hedy", "Donald", "Margaret", "Niklaus", "Sophie"]
LAST = ["Lovelace", "Hopper", "Turing", "Rhodes", "Berners", "Shelley", "Shannon", "Clarke", "Torvalds", "Liskov",
        "Thompson", "Allen", "Ritchie", "Perlman", "Backus", "Lamarr", "Knuth", "Hamilton", "Wirth", "Wilson",
        "Okafor", "Nakamura", "Fernandes", "Kowalski", "Andersson", "Haddad", "Novak", "Ivanova", "Moreau", "Rossi"]
STATUS = ("CASE WHEN i % 20 < 12 THEN 'active' WHEN i % 20 = 12 THEN 'past_due' WHEN i % 20 < 17 THEN 'lapsed' "
          "WHEN i % 20 = 17 THEN 'comped' ELSE 'pending' END")
SUB_STATUS = ("CASE m.status WHEN 'active' THEN 'active' WHEN 'past_due' THEN 'past_due' ELSE 'canceled' END")
HEAVY_INDEXES = ["ix_members_name_trgm", "ix_members_email_trgm", "ix_members_email_pattern"]


def seed(conn: Any, n: int) -> None:
    """Members, subscriptions and activity in three statements; the trigram indexes are built afterwards."""
    from service.db import Base

    first, last = "ARRAY[" + ",".join(f"'{x}'" for x in FIRST) + "]", "ARRAY[" + ",".join(f"'{x}'" for x in LAST) + "]"
    for name in HEAVY_INDEXES:
        conn.execute(text(f"DROP INDEX {name}"))
    conn.execute(text(f"""
        INSERT INTO members (id, email, name, status, status_changed_at, comp_since, comp_until, stripe_customer_id,
                             created_at, updated_at)
        SELECT i, 'reader' || i || '@example.org', ({first})[1 + i % 20] || ' ' || ({last})[1 + (i / 20) % 30],
               {STATUS}, now() - (i % 700) * interval '1 day',
               CASE WHEN i % 20 = 17 THEN now() - interval '10 days' END,
               CASE WHEN i % 20 = 17 THEN now() + (i % 90) * interval '1 day' END,
               'cus_' || i, now() - ((:n - i) / 1500.0) * interval '1 day', now()
        FROM generate_series(1, :n) AS i"""), {"n": n})
    conn.execute(text("SELECT setval(pg_get_serial_sequence('members', 'id'), :n)"), {"n": n})
    conn.execute(text(f"""
        INSERT INTO subscriptions (member_id, plan_id, stripe_subscription_id, status, amount, currency, interval,
                                   current_period_end, cancel_at_period_end, stripe_created_at, synced_at,
                                   created_at, updated_at)
        SELECT m.id, p.id, 'sub_' || m.id, {SUB_STATUS}, p.amount, p.currency, p.interval,
               now() + interval '20 days', false, m.created_at, now(), m.created_at, now()
        FROM members m JOIN plans p ON p.code = CASE WHEN m.id % 3 = 0 THEN 'yearly-50' ELSE 'monthly-5' END
        WHERE m.status <> 'pending'"""))
    conn.execute(text("""
        INSERT INTO member_activity (member_id, kind, from_status, to_status, stripe_event_id, detail, created_at)
        SELECT m.id, 'joined', NULL, NULL, NULL, '', m.created_at FROM members m
        UNION ALL
        SELECT m.id, 'status_changed', 'pending', m.status, 'evt_' || m.id, '', m.created_at + interval '1 minute'
        FROM members m WHERE m.status <> 'pending'"""))
    for table in Base.metadata.sorted_tables:
        for index in table.indexes:
            if index.name in HEAVY_INDEXES:
                from sqlalchemy.schema import CreateIndex

                conn.execute(CreateIndex(index))
    conn.execute(text("ANALYZE"))


def measure(fn: Callable[[], Any], runs: int) -> tuple[float, float]:
    fn()  # warm the caches once
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        times.append((time.perf_counter() - started) * 1000)
    return percentile(times, 50), percentile(times, 95)


def shapes(n: int) -> dict[str, Callable[[], Any]]:
    from service.db import utcnow
    from service.domain.insight import member_view
    from service.domain.insight.search import MemberFilter, search
    from service.extensions import db
    from service.models import MemberStatus

    rnd = random.Random(7)

    def run(f: Callable[[], MemberFilter]) -> Callable[[], Any]:
        def go() -> Any:
            page = search(f(), limit=25)
            db.session.expunge_all()
            return page
        return go

    def page() -> Any:
        result = member_view.load(rnd.randint(1, n), utcnow())
        db.session.expunge_all()
        return result

    return {
        "email, exact": run(lambda: MemberFilter(email=f"reader{rnd.randint(1, n)}@example.org")),
        "email prefix (q=reader12345)": run(lambda: MemberFilter(q=f"reader{rnd.randint(10000, 99999)}")),
        "name substring, common (q=lovel)": run(lambda: MemberFilter(q="lovel")),
        "name substring, rare (q=zzqx)": run(lambda: MemberFilter(q="zzqx")),
        "status comped": run(lambda: MemberFilter(status=MemberStatus.COMPED)),
        "status past_due + plan yearly-50": run(lambda: MemberFilter(status=MemberStatus.PAST_DUE, plan="yearly-50")),
        "joined in a 7-day range": run(lambda: MemberFilter(joined_from=(utcnow().date().replace(day=1)),
                                                           joined_to=utcnow().date().replace(day=7))),
        "member page (all its queries)": page,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--members", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=200)
    args = parser.parse_args()

    from service import create_app
    from service.extensions import db
    from tests.conftest import migrate

    with scratch_database("bench_staff_search") as url:
        migrate(url)
        app = create_app({"MEMBERSHIP_ENV": "test", "DATABASE_URL": url, "SECRET_KEY": "bench",
                          "RATELIMIT_ENABLED": False})
        engine = app.extensions["db_engine"]
        with engine.begin() as conn:
            seconds = timed(f"seed {args.members:,} members", lambda: seed(conn, args.members))
        lines = [f"{args.members:,} members, seeded in {seconds:.0f} s; {args.runs} runs per shape, one connection"]
        with app.app_context():
            for label, fn in shapes(args.members).items():
                p50, p95 = measure(fn, args.runs)
                print(f"{label:40} p50 {p50:6.1f} ms  p95 {p95:6.1f} ms", flush=True)
                lines.append(f"{label}: p50 {p50:.1f} ms, p95 {p95:.1f} ms")
            db.session.remove()
        engine.dispose()
    append_results("Staff search and member page (bench/staff_search.py)",
                   " ".join([".venv/bin/python -m bench.staff_search", *sys.argv[1:]]), lines)


if __name__ == "__main__":
    main()

"""Staff search and the member page at a million members, on PostgreSQL, in-process and over HTTP.

Seeds a scratch database (created and dropped here, never the test database)
with what a long-running newsroom holds, using INSERT ... SELECT: N members, a
subscription for each non-pending one, two timeline rows each, a paid invoice
and its contribution per subscription, the members' digest subscription of
every non-pending member with its consent records (a subscribe, and a lapse for
those who left), and an applied inbox event per subscription. Then it times:

- in-process, every search shape and the member page (the domain queries and
  ORM loading, one connection, no HTTP);
- over HTTP, on gunicorn (2 processes) as one signed-in staff viewer, the staff
  search page (GET /staff/members) for an exact email, an email prefix, a
  common and a rare name substring, the API's member search by email (GET
  /api/v1/members?email=, with that viewer's read token), and the member page
  (GET /staff/members/<id>): sequential requests after a warm-up, each checked
  to be a 200 (and for the email lookups, to hold the member asked for). GET
  /healthz, timed before and after them on the same session, is the baseline:
  each p50 is also given as a multiple of it;

and appends p50/p95, the ratios and whether each aim is met to bench/RESULTS.md.

    .venv/bin/python -m bench.staff_search [--members 1000000] [--runs 200] [--http-runs 500]

Aims (issue 18): p95 under 20 ms for email and prefix lookups, under 60 ms for
substring search and the member page, over HTTP. tests/domain/insight/
test_member_view_plans.py checks that each member-page query is an index search.
"""
from __future__ import annotations

import argparse
import random
import sys
import time
from collections.abc import Callable
from typing import Any, NamedTuple

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
    seed_history(conn)
    for table in Base.metadata.sorted_tables:
        for index in table.indexes:
            if index.name in HEAVY_INDEXES:
                from sqlalchemy.schema import CreateIndex

                conn.execute(CreateIndex(index))
    conn.execute(text("ANALYZE"))


def seed_history(conn: Any) -> None:
    """The rest of a long history: invoices and contributions, the digest and its consent records, the inbox."""
    conn.execute(text("""
        INSERT INTO invoices (member_id, subscription_id, stripe_invoice_id, status, amount_due, amount_paid, currency,
                              billing_reason, attempt_count, stripe_created_at, paid_at, synced_at)
        SELECT s.member_id, s.id, 'in_' || s.id, 'paid', s.amount, s.amount, s.currency, 'subscription_create', 1,
               s.stripe_created_at, s.stripe_created_at, now()
        FROM subscriptions s"""))
    conn.execute(text("""
        INSERT INTO contributions (member_id, kind, amount, currency, stripe_invoice_id, paid_at, attribution,
                                   receipt_number, created_at, updated_at)
        SELECT i.member_id, 'membership', i.amount_paid, i.currency, i.stripe_invoice_id, i.paid_at, '{}',
               to_char(i.paid_at, 'YYYY') || '-' || lpad(i.id::text, 7, '0'), i.paid_at, i.paid_at
        FROM invoices i"""))
    conn.execute(text("""
        INSERT INTO list_subscriptions (newsletter_id, email, member_id, status, created_at, updated_at)
        SELECT n.id, m.email, m.id,
               CASE WHEN m.status IN ('active', 'past_due', 'comped') THEN 'subscribed' ELSE 'lapsed' END,
               m.created_at, m.status_changed_at
        FROM members m JOIN newsletters n ON n.slug = 'members-digest'
        WHERE m.status <> 'pending'"""))
    conn.execute(text("""
        INSERT INTO consent_records (newsletter_id, email, member_id, action, source, created_at)
        SELECT ls.newsletter_id, ls.email, ls.member_id, 'subscribe', 'membership', ls.created_at
        FROM list_subscriptions ls
        UNION ALL
        SELECT ls.newsletter_id, ls.email, ls.member_id, 'lapse', 'membership', ls.updated_at
        FROM list_subscriptions ls WHERE ls.status = 'lapsed'"""))
    conn.execute(text("""
        INSERT INTO stripe_events (stripe_event_id, type, livemode, api_version, stripe_created_at, object_id, payload,
                                   status, member_id, attempts, received_at, applied_at)
        SELECT 'evt_seed_' || s.id, 'invoice.paid', false, '2026-10-28.endive', s.stripe_created_at, 'in_' || s.id,
               '{"object": "event"}', 'applied', s.member_id, 1, s.stripe_created_at, s.stripe_created_at
        FROM subscriptions s"""))


def counts(conn: Any) -> str:
    tables = ("members", "subscriptions", "invoices", "contributions", "member_activity", "list_subscriptions",
              "consent_records", "stripe_events")
    return ", ".join(f"{conn.execute(text(f'SELECT count(*) FROM {t}')).scalar():,} {t}" for t in tables)


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


class Target(NamedTuple):
    """One kind of request timed over HTTP: `make()` gives a path and a check of the response."""

    label: str
    aim_ms: float | None  # the p95 aim; None for the baseline
    make: Callable[[], tuple[str, Callable[[Any], bool]]]
    api: bool = False  # sent with the API token instead of relying on the staff session


def http_targets(n: int) -> list[Target]:
    """The staff console's search shapes and member page, the API's email lookup, and /healthz as the baseline."""
    rnd = random.Random(11)

    def ok(_response: Any) -> bool:
        return True

    def email(api: bool) -> Callable[[], tuple[str, Callable[[Any], bool]]]:
        def make() -> tuple[str, Callable[[Any], bool]]:
            address = f"reader{rnd.randint(1, n)}@example.org"
            if api:
                return f"/api/v1/members?email={address}", lambda r: [m["email"] for m in r.json()["data"]] == [address]
            # The address as a result's link text, not as echoed in the export link.
            return f"/staff/members?email={address}", lambda r: f">{address}</a>" in r.text
        return make

    def prefix() -> tuple[str, Callable[[Any], bool]]:
        needle = f"reader{rnd.randint(10000, 99999) if n >= 99999 else rnd.randint(1, n)}"
        return f"/staff/members?q={needle}", lambda r: f">{needle}" in r.text

    return [
        Target("GET /healthz (baseline)", None, lambda: ("/healthz", ok)),
        Target("staff search, email exact", 20, email(api=False)),
        Target("staff search, email prefix (q=reader12345)", 20, prefix),
        Target("staff search, name substring, common (q=lovel)", 60,
               lambda: ("/staff/members?q=lovel", lambda r: "Lovelace" in r.text)),
        Target("staff search, name substring, rare (q=zzqx)", 60,
               lambda: ("/staff/members?q=zzqx", lambda r: "No members match." in r.text)),
        Target("API member search, email exact", 20, email(api=True), api=True),
        Target("member page", 60, lambda: (f"/staff/members/{rnd.randint(1, n)}", ok)),
    ]


def over_http(url: str, targets: list[Target], runs: int) -> list[tuple[Target, float, float]]:
    """Time each target with sequential GETs on gunicorn (2 processes), as one signed-in staff viewer
    (one cookie session; the API's requests carry that viewer's read token), after a warm-up of every target.

    The baseline (the first target) is timed again after the others: the returned list ends with that second
    measurement."""
    import re

    import requests

    from bench.common import BIN, ROOT, free_port, start, wait_until_up
    from service import create_app
    from service.domain.staff.users import create_api_token, create_staff_user
    from service.extensions import db
    from service.models import Role

    env = {"DATABASE_URL": url, "SECRET_KEY": "bench-" + "x" * 32, "RATELIMIT_ENABLED": "false", "LOG_LEVEL": "WARNING",
           "BILLING_BACKEND": "sandbox", "MAIL_URL": "console"}
    app = create_app({**env, "MEMBERSHIP_ENV": "test"})
    with app.app_context():
        create_staff_user("bench-staff@example.org", Role.VIEWER, "correct horse battery staple")
        _token, plain = create_api_token("bench-staff@example.org", "bench")
        db.session.commit()
    app.extensions["db_engine"].dispose()
    port = free_port()
    (ROOT / "bench" / "out").mkdir(exist_ok=True)
    web = start([str(BIN / "gunicorn"), "-w", "2", "-k", "gthread", "--threads", "2", "-b", f"127.0.0.1:{port}",
                 "service:create_app()"], {**env, "BASE_URL": f"http://127.0.0.1:{port}"},
                ROOT / "bench" / "out" / "staff-gunicorn.log")
    try:
        base = f"http://127.0.0.1:{port}"
        wait_until_up(f"{base}/healthz")
        http = requests.Session()
        form = re.search(r'name="csrf_token" value="([^"]+)"', http.get(f"{base}/staff/login").text)
        assert form is not None, "no CSRF token on the staff sign-in page"
        signed_in = http.post(f"{base}/staff/login", data={"email": "bench-staff@example.org",
                                                            "csrf_token": form.group(1),
                                                            "password": "correct horse battery staple", "next": ""},
                              allow_redirects=False)
        assert signed_in.status_code == 302, signed_in.text[:500]
        api_headers = {"Authorization": f"Bearer {plain}", "Accept": "application/json"}

        def getter(target: Target) -> Callable[[], None]:
            def get() -> None:
                path, check = target.make()
                response = http.get(base + path, headers=api_headers if target.api else None, allow_redirects=False)
                assert response.status_code == 200, (path, response.status_code, response.text[:300])
                assert check(response), (path, response.text[:1000])
            return get

        gets = [getter(target) for target in targets]
        for _ in range(20):  # warm both processes on every kind of request
            for get in gets:
                get()
        timed_ = [(target, *measure(get, runs)) for target, get in zip(targets, gets, strict=True)]
        return [*timed_, (targets[0], *measure(gets[0], runs))]
    finally:
        web.terminate()
        web.wait(timeout=20)


def http_lines(results: list[tuple[Target, float, float]], runs: int) -> list[str]:
    """Each target's p50/p95 and its p50 as a multiple of the baseline's (the mean of its two measurements),
    then a verdict on the aims."""
    (base, b50, b95), *timed_, (_, a50, a95) = results
    baseline = (b50 + a50) / 2
    lines = [f"Over HTTP (gunicorn -w 2 gthread, one signed-in staff viewer, {runs} sequential requests per kind "
             f"after 20 of each to warm up): {base.label} p50 {b50:.1f} ms, p95 {b95:.1f} ms before the others, "
             f"p50 {a50:.1f} ms, p95 {a95:.1f} ms after; ratios below are p50 ÷ {baseline:.1f} ms (their mean)"]
    verdicts = []
    for target, p50, p95 in timed_:
        assert target.aim_ms is not None
        met = p95 < target.aim_ms
        lines.append(f"{target.label}: p50 {p50:.1f} ms = {p50 / baseline:.1f} x healthz, p95 {p95:.1f} ms "
                     f"(aim p95 < {target.aim_ms:.0f} ms: {'met' if met else 'NOT met'})")
        verdicts.append((target.label, met))
    missed = [label for label, met in verdicts if not met]
    lines.append("Aims over HTTP (p95 under 20 ms for email and prefix lookups, under 60 ms for substring search and "
                 "the member page): " + ("all met." if not missed else "not met for " + "; ".join(missed) + "."))
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--members", type=int, default=1_000_000, help="members to seed (default 1,000,000)")
    parser.add_argument("--runs", type=int, default=200, help="in-process runs per search shape (default 200)")
    parser.add_argument("--http-runs", type=int, default=500,
                        help="sequential HTTP requests per kind of request, after the warm-up (default 500)")
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
            rows = counts(conn)
        print(rows, flush=True)
        lines = [f"Seeded in {seconds:.0f} s: {rows}",
                 f"In-process (domain queries, ORM loading, no HTTP): {args.runs} runs per shape, one connection"]
        with app.app_context():
            for label, fn in shapes(args.members).items():
                p50, p95 = measure(fn, args.runs)
                print(f"{label:40} p50 {p50:6.1f} ms  p95 {p95:6.1f} ms", flush=True)
                lines.append(f"{label}: p50 {p50:.1f} ms, p95 {p95:.1f} ms")
            db.session.remove()
        engine.dispose()
        results = over_http(url, http_targets(args.members), args.http_runs)
        for target, p50, p95 in results:
            print(f"{target.label:50} p50 {p50:6.1f} ms  p95 {p95:6.1f} ms", flush=True)
        lines.extend(http_lines(results, args.http_runs))
    append_results("Staff search and member page (bench/staff_search.py)",
                   " ".join([".venv/bin/python -m bench.staff_search", *sys.argv[1:]]), lines)


if __name__ == "__main__":
    main()

"""Fault run: nothing lost, nothing applied twice, while the database restarts and a worker dies.

    .venv/bin/python bench/faults.py [--events 10000]

1. Seeds members who join through the sandbox's checkout; some then cancel now,
   some cancel at period end, some cancel and rejoin, until Stripe (the sandbox)
   has emitted at least --events events. Deliveries are held meanwhile.
2. Starts gunicorn on PostgreSQL (webhooks only stored: WEBHOOK_APPLY_INLINE=false)
   and two `membership worker` processes, then lets the sandbox deliver every event
   signed, duplicated and shuffled, retrying any non-2xx with backoff, as Stripe does.
3. Mid-run it restarts PostgreSQL and kills a worker with SIGKILL (a new one starts).
4. When the sandbox has nothing left to deliver and the inbox nothing left to apply,
   it checks, from the sandbox's own delivery log and its own view of every
   subscription (not the service's code):
   - every event answered 2xx is stored; every stored event is settled once;
   - every event the service ever answered 5xx was retried and ended stored;
   - every member's status equals the status computed from Stripe's subscriptions;
   - no member has a repeated status change (each change is recorded once).
Restarting PostgreSQL disturbs anything else using it: run this alone, or on a
cluster of its own:
    pg_createcluster 15 faults --port 5433 -- --auth=trust && pg_ctlcluster 15 faults start
    BENCH_ADMIN_URL=postgresql://postgres@127.0.0.1:5433/postgres .venv/bin/python bench/faults.py --cluster faults
"""
from __future__ import annotations

import argparse
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests
import stripe
from sqlalchemy import create_engine, text

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import BIN, ROOT, append_results, free_port, scratch_database, start, wait_until_up  # noqa: E402

SECRET = "whsec_faults"


def pg_restart(cluster: str) -> None:
    version = sorted(os.listdir("/etc/postgresql"))[0]
    subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", version, cluster, "restart", "-m", "fast"], check=True)


def service_env(url: str, sandbox: str) -> dict[str, str]:
    return {"DATABASE_URL": url, "SECRET_KEY": "faults-" + "x" * 32, "BILLING_BACKEND": "sandbox",
            "STRIPE_API_BASE": sandbox, "STRIPE_WEBHOOK_SECRET": SECRET, "RATELIMIT_ENABLED": "false",
            "LOG_LEVEL": "WARNING", "WEBHOOK_APPLY_INLINE": "false", "OUTBOX_DELIVER_INLINE": "false",
            "MAIL_URL": "console", "BASE_URL": "http://127.0.0.1"}


def seed(env: dict[str, str], target_events: int, sandbox: str) -> int:
    """Members and their Stripe history, until the sandbox has emitted enough events."""
    from service import create_app
    from service.extensions import db
    from service.models import Member

    app = create_app(env)
    http = requests.Session()
    members = 0
    with app.app_context():
        gateway = app.extensions["payments"]
        price = gateway.ensure_price(lookup_key="membership_monthly_5", product_name="Membership: Monthly",
                                     amount=500, currency="usd", interval="month")

        def checkout(member: Member, key: str) -> str:
            session = gateway.create_checkout_session(
                member_id=member.id, customer_id=member.stripe_customer_id, line_item={"price": price["id"]},
                success_url="http://127.0.0.1/join/success?session_id={CHECKOUT_SESSION_ID}",
                cancel_url="http://127.0.0.1/join/cancelled", key=key)
            http.post(session["url"], data={"card_number": "4242424242424242"}, allow_redirects=False).raise_for_status()
            return gateway.retrieve_checkout_session(session["id"])["subscription"]

        # Deliveries are held and each event is queued twice (duplicates): pending / 2 events so far.
        while members % 25 or _pending(sandbox) < 2 * target_events:
            member = Member(email=f"fault{members}@example.org", name=f"Fault {members}")
            db.session.add(member)
            db.session.flush()
            member.stripe_customer_id = gateway.create_customer(member_id=member.id, email=member.email,
                                                                name=member.name)["id"]
            db.session.commit()
            sub = checkout(member, f"faults-{members}")
            match members % 10:
                case 0 | 1:
                    gateway.cancel_subscription_now(sub, key="faults")
                case 2 | 3:
                    gateway.set_cancel_at_period_end(sub, True, key="faults")
                case 4:
                    gateway.cancel_subscription_now(sub, key="faults")
                    checkout(member, f"faults-{members}-again")
            members += 1
    app.extensions["db_engine"].dispose()
    return members


def expected_status(sdk: stripe.StripeClient, customer: str) -> str:
    """The member's status from Stripe's subscriptions alone, by DESIGN.md's table."""
    statuses = {s.status for s in sdk.v1.subscriptions.list({"customer": customer, "status": "all"}).auto_paging_iter()}
    if statuses & {"active", "trialing"}:
        return "active"
    if "past_due" in statuses:
        return "past_due"
    return "lapsed" if statuses else "pending"


def wait_for(label: str, done, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not done():
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out waiting for {label}")
        time.sleep(1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=10000, help="events the sandbox emits at least")
    parser.add_argument("--cluster", default="main",
                        help="the PostgreSQL cluster to restart (pg_lsclusters); set BENCH_ADMIN_URL to reach it, e.g. "
                             "a second cluster on port 5433 so nothing else is disturbed")
    args = parser.parse_args()
    logs = ROOT / "bench" / "out"
    logs.mkdir(exist_ok=True)
    state = Path(tempfile.mkdtemp()) / "sandbox.sqlite3"
    with scratch_database("membership_bench_faults") as url:
        sandbox_port, web_port = free_port(), free_port()
        sandbox_url = f"http://127.0.0.1:{sandbox_port}"
        env = service_env(url, sandbox_url)
        start([str(BIN / "membership"), "db", "upgrade"], env, logs / "faults-migrate.log").wait()
        sandbox = start([sys.executable, "-m", "stripe_sandbox", "--port", str(sandbox_port), "--db", str(state),
                         "--webhook-url", f"http://127.0.0.1:{web_port}/webhooks/stripe", "--webhook-secret", SECRET],
                        {"SANDBOX_WEBHOOK_BACKOFF": "0.5", "SANDBOX_WEBHOOK_BACKOFF_CAP": "4",
                         "SANDBOX_WEBHOOK_MAX_ATTEMPTS": "40", "SANDBOX_WEBHOOK_TIMEOUT": "10"}, logs / "faults-sandbox.log")
        procs: list[subprocess.Popen] = [sandbox]
        try:
            wait_until_up(f"{sandbox_url}/sandbox/clock")
            # Held while seeding; every event queued twice and delivered in shuffled order.
            requests.post(f"{sandbox_url}/sandbox/webhooks/config",
                          data={"paused": "true", "duplicates": "true", "shuffle": "true"}).raise_for_status()
            t0 = time.monotonic()
            members = seed(env, args.events, sandbox_url)
            print(f"seeded {members} members in {time.monotonic() - t0:.0f} s", flush=True)

            web = start([str(BIN / "gunicorn"), "-w", "3", "-k", "gthread", "--threads", "4", "-b",
                         f"127.0.0.1:{web_port}", "service:create_app()"], env, logs / "faults-gunicorn.log")
            workers = [start([str(BIN / "membership"), "worker", "--interval", "0.5"], env, logs / f"faults-worker{i}.log")
                       for i in range(2)]
            procs += [web, *workers]
            wait_until_up(f"http://127.0.0.1:{web_port}/healthz")
            requests.post(f"{sandbox_url}/sandbox/webhooks/config", data={"paused": "false"}).raise_for_status()
            total = _pending(sandbox_url)
            wait_for("a third of the deliveries", lambda: _pending(sandbox_url) < total * 2 / 3, 900)
            print("restarting PostgreSQL", flush=True)
            pg_restart(args.cluster)
            wait_for("half of the deliveries", lambda: _pending(sandbox_url) < total / 2, 900)
            print("killing a worker", flush=True)
            workers[0].send_signal(signal.SIGKILL)
            procs.append(start([str(BIN / "membership"), "worker", "--interval", "0.5"], env, logs / "faults-worker2.log"))
            wait_for("every delivery", lambda: _pending(sandbox_url) == 0, 1800)
            # Events whose apply failed while the database was down wait for their backoff; flush them.
            subprocess.run([str(BIN / "membership"), "events", "retry", "--all"], env={**os.environ, **env},
                           cwd=ROOT, capture_output=True)
            lines = verify(url, state, sandbox_url, total)
        finally:
            for p in procs:
                if p.poll() is None:
                    p.terminate()
            for p in procs:
                p.wait(timeout=30)
    append_results("Fault run: PostgreSQL restarted and a worker killed mid-delivery", "python bench/faults.py "
                   + " ".join(sys.argv[1:]), lines)
    print("\n".join(lines))
    if any("FAILED" in line for line in lines):
        raise SystemExit(1)


def _pending(sandbox_url: str) -> int:
    return requests.get(f"{sandbox_url}/sandbox/webhooks/deliveries", timeout=30).json()["pending"]


def verify(url: str, sandbox_state: Path, sandbox_url: str, deliveries_queued: int) -> list[str]:
    log = sqlite3.connect(sandbox_state)
    attempts = log.execute("SELECT event_id, status FROM deliveries").fetchall()
    events = {e for e, in log.execute("SELECT DISTINCT event_id FROM deliveries")}
    answered_2xx = {e for e, s in attempts if s is not None and 200 <= s < 300}
    answered_5xx = {e for e, s in attempts if s is None or s >= 500}
    engine = create_engine(url)
    with engine.connect() as conn:
        stored = dict(conn.execute(text("SELECT stripe_event_id, status FROM stripe_events")).all())
        repeated = conn.execute(text(
            "SELECT count(*) FROM (SELECT member_id, to_status, count(*) c FROM member_activity "
            "WHERE kind = 'status_changed' GROUP BY member_id, from_status, to_status, stripe_event_id "
            "HAVING count(*) > 1) t")).scalar()
        members = conn.execute(text("SELECT stripe_customer_id, status FROM members")).all()
    engine.dispose()
    sdk = stripe.StripeClient("sk_test_faults", base_addresses={"api": sandbox_url})
    mismatched = [c for c, status in members if expected_status(sdk, c) != status]
    lost = answered_2xx - stored.keys()
    unsettled = [e for e, s in stored.items() if s not in ("applied", "ignored")]
    retried_ok = answered_5xx & stored.keys()
    ok = not lost and not unsettled and not mismatched and not repeated and retried_ok == answered_5xx
    verdict = "OK" if ok else "FAILED"
    return [
        f"Events emitted by the sandbox: {len(events):,}; deliveries queued (with duplicates): {deliveries_queued:,}; "
        f"delivery attempts: {len(attempts):,}",
        f"Answered 2xx: {len(answered_2xx):,} events; answered 5xx or unanswered at least once: {len(answered_5xx):,}, "
        f"of which stored after the sender's retries: {len(retried_ok):,}",
        f"Stored: {len(stored):,}; lost (2xx but not stored): {len(lost)}; not settled: {len(unsettled)}",
        f"Members: {len(members):,}; status differs from Stripe's: {len(mismatched)}; repeated status changes: {repeated}",
        f"Verdict: {verdict}",
    ]


if __name__ == "__main__":
    main()

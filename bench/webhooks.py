"""Webhook throughput on gunicorn + PostgreSQL with the Stripe sandbox (a benchmark, not a test).

    .venv/bin/python bench/webhooks.py [--events 10000] [--members 200]

Measures, in one run:
1. a trivial endpoint's requests/s (GET /healthz), the ceiling of the web stack here;
2. acknowledgement throughput and p50/p99 latency of unique signed events
   (WEBHOOK_APPLY_INLINE=false: verify, store in the inbox, answer);
3. apply throughput: `membership worker` processes turning the stored events into
   member state (each apply re-reads the subscription from the sandbox);
4. inline mode (the default): verify, store and apply in the request.
Then it checks every event was stored once and applied exactly once, and appends
the figures to bench/RESULTS.md. Runs against a scratch database it drops afterwards.
"""
from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import secrets
import sys
import time
from pathlib import Path

import requests
from sqlalchemy import func, select

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import BIN, ROOT, append_results, blast, free_port, scratch_database, start, summary, wait_until_up  # noqa: E402

SECRET = "whsec_bench"


def env_for(url: str, sandbox: str, inline: bool) -> dict[str, str]:
    return {"DATABASE_URL": url, "SECRET_KEY": "bench-" + "x" * 32, "BILLING_BACKEND": "sandbox",
            "STRIPE_API_BASE": sandbox, "STRIPE_WEBHOOK_SECRET": SECRET, "RATELIMIT_ENABLED": "false",
            "LOG_LEVEL": "WARNING", "WEBHOOK_APPLY_INLINE": str(inline).lower(), "OUTBOX_DELIVER_INLINE": "false",
            "MAIL_URL": "console", "BASE_URL": "http://127.0.0.1"}


def seed_members(env: dict[str, str], count: int) -> list[tuple[str, str, int]]:
    """Members with a paid $5/month subscription on the sandbox: (sub id, customer id, member id)."""
    from service import create_app
    from service.db import utcnow
    from service.domain.billing.sync import Cause, sync_subscription
    from service.extensions import db
    from service.models import Member

    app = create_app(env)
    out = []
    with app.app_context():
        gateway = app.extensions["payments"]
        price = gateway.ensure_price(lookup_key="membership_monthly_5", product_name="Membership: Monthly",
                                     amount=500, currency="usd", interval="month")
        http = requests.Session()
        for n in range(count):
            member = Member(email=f"bench{n}@example.org", name=f"Bench {n}")
            db.session.add(member)
            db.session.flush()
            customer = gateway.create_customer(member_id=member.id, email=member.email, name=member.name)
            member.stripe_customer_id = customer["id"]
            session = gateway.create_checkout_session(
                member_id=member.id, customer_id=customer["id"], line_item={"price": price["id"]},
                success_url="http://127.0.0.1/join/success?session_id={CHECKOUT_SESSION_ID}",
                cancel_url="http://127.0.0.1/join/cancelled", key=f"bench-{n}")
            http.post(session["url"], data={"card_number": "4242424242424242", "email": member.email},
                      allow_redirects=False).raise_for_status()
            sub = gateway.retrieve_subscription(gateway.retrieve_checkout_session(session["id"])["subscription"])
            sync_subscription(member, sub, utcnow(), cause=Cause(detail="bench seed"))
            db.session.commit()
            out.append((sub["id"], customer["id"], member.id))
    app.extensions["db_engine"].dispose()
    return out


def signed_events(subs: list[tuple[str, str, int]], count: int, tag: str) -> list[tuple[str, bytes, dict[str, str]]]:
    batch = []
    t = int(time.time())
    for i in range(count):
        sub_id, customer, member_id = subs[i % len(subs)]
        event = {"id": f"evt_bench_{tag}_{i}_{secrets.token_hex(4)}", "object": "event", "type": "customer.subscription.updated",
                 "api_version": "2026-10-28.endive", "created": t, "livemode": False,
                 "data": {"object": {"id": sub_id, "object": "subscription", "customer": customer,
                                     "metadata": {"member_id": str(member_id)}}}}
        body = json.dumps(event).encode()
        mac = hmac.new(SECRET.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
        batch.append(("/webhooks/stripe", body, {"Stripe-Signature": f"t={t},v1={mac}", "Content-Type": "application/json"}))
    return batch


def post_events(port: int, events: list[tuple[str, bytes, dict[str, str]]], connections: int, label: str) -> str:
    """Post the signed events in parallel; one result line with throughput and latency."""
    wall, results = blast(port, "POST", events, connections)
    ok = sum(1 for status, _ in results if status == 200)
    line = (f"{label}, {len(events):,} unique events: {ok / wall:,.0f} events/s, "
            f"{ok} answered 200 ({summary([r[1] for r in results])})")
    print(line, flush=True)
    return line


def gunicorn(env: dict[str, str], port: int, workers: int, log: Path):
    args = [str(BIN / "gunicorn"), "-w", str(workers), "-k", "gthread", "--threads", "4", "-b", f"127.0.0.1:{port}",
            "--keep-alive", "30", "service:create_app()"]
    proc = start(args, env, log)
    wait_until_up(f"http://127.0.0.1:{port}/healthz")
    return proc


def inbox_counts(env: dict[str, str]) -> dict[str, int]:
    from service import create_app
    from service.extensions import db
    from service.models import StripeEvent

    app = create_app(env)
    with app.app_context():
        rows = db.session.execute(select(StripeEvent.status, func.count(), func.max(StripeEvent.attempts))
                                  .group_by(StripeEvent.status)).all()
    app.extensions["db_engine"].dispose()
    return {str(s): n for s, n, _ in rows} | {"max_attempts": max((a for *_, a in rows), default=0)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=10000, help="unique events for the ack and apply phases")
    parser.add_argument("--inline-events", type=int, default=2000, help="events for the inline phase")
    parser.add_argument("--members", type=int, default=200, help="members with a paid subscription")
    parser.add_argument("--connections", type=int, default=8, help="parallel keep-alive client connections")
    parser.add_argument("--web-workers", type=int, default=3, help="gunicorn worker processes")
    parser.add_argument("--apply-workers", type=int, default=2, help="`membership worker` processes")
    args = parser.parse_args()
    logs = ROOT / "bench" / "out"
    logs.mkdir(exist_ok=True)
    lines: list[str] = []
    with scratch_database("membership_bench_webhooks") as url:
        sandbox_port, web_port = free_port(), free_port()
        sandbox_url = f"http://127.0.0.1:{sandbox_port}"
        env = env_for(url, sandbox_url, inline=False)
        start([str(BIN / "membership"), "db", "upgrade"], env, logs / "migrate.log").wait()
        sandbox = start([sys.executable, "-m", "stripe_sandbox", "--port", str(sandbox_port)], {}, logs / "sandbox.log")
        procs = [sandbox]
        try:
            wait_until_up(f"{sandbox_url}/sandbox/clock")
            started = time.perf_counter()
            subs = seed_members(env, args.members)
            print(f"seeded {len(subs)} paying members in {time.perf_counter() - started:.1f} s", flush=True)

            web = gunicorn(env, web_port, args.web_workers, logs / "gunicorn.log")
            procs.append(web)
            health = [("/healthz", b"", {})] * 5000
            wall, results = blast(web_port, "GET", health, args.connections)
            lines.append(f"GET /healthz: {len(results) / wall:,.0f} requests/s ({summary([r[1] for r in results])})")
            print(lines[-1], flush=True)

            lines.append(post_events(web_port, signed_events(subs, args.events, "ack"), args.connections,
                                     "Acknowledge (verify + store)"))

            started = time.perf_counter()
            workers = [start([str(BIN / "membership"), "worker", "--interval", "0.2"], env, logs / f"worker{i}.log")
                       for i in range(args.apply_workers)]
            procs += workers
            while inbox_counts(env).get("received", 0) > 0:
                time.sleep(0.5)
            elapsed = time.perf_counter() - started
            lines.append(f"Apply ({args.apply_workers} `membership worker` processes; one sandbox read per subscription per burst): "
                         f"{args.events / elapsed:,.0f} events/s")
            print(lines[-1], flush=True)
            for w in workers:
                w.terminate()
            web.terminate()
            web.wait()

            inline_env = env_for(url, sandbox_url, inline=True)
            web = gunicorn(inline_env, web_port, args.web_workers, logs / "gunicorn-inline.log")
            procs.append(web)
            lines.append(post_events(web_port, signed_events(subs, args.inline_events, "inline"), args.connections,
                                     "Inline (verify + store + apply in the request)"))

            counts = inbox_counts(env)
            total = args.events + args.inline_events
            exact = counts.get("applied", 0) == total and counts["max_attempts"] == 1 and len(counts) == 2
            lines.append(f"Check: {counts.get('applied', 0):,} of {total:,} events stored once and applied once "
                         f"(max attempts per event {counts['max_attempts']}): {'OK' if exact else 'FAILED ' + str(counts)}")
            print(lines[-1], flush=True)
        finally:
            for p in procs:
                p.terminate()
            for p in procs:
                p.wait(timeout=20)
    command = "python bench/webhooks.py " + " ".join(sys.argv[1:])
    append_results("Webhooks: acknowledge and apply (gunicorn, PostgreSQL, sandbox)", command.strip(), lines)
    if not exact:
        raise SystemExit(1)


if __name__ == "__main__":
    main()

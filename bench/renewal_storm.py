"""The renewal storm (issue 18, item 5): one command, a benchmark, not a test.

    .venv/bin/python bench/renewal_storm.py [--subscriptions 20000] [--window 600] [--workers 2] [--threads 16]
        [--latency 0.15] [--reads 100] [--reads-per-worker 45] [--finalize-after 30] [--timeout 1800]

--subscriptions monthly members, paying and synced, renew within --window seconds (evenly spread).
Each renewal brings five events in Stripe's order for a renewal
(https://docs.stripe.com/billing/subscriptions/webhooks, "Subscription renewal"; the sandbox follows
it too, stripe_sandbox/renewals.py): at the period end `customer.subscription.updated` (the period
advances) and `invoice.created` (a draft); then Stripe finalizes the draft and charges it,
`invoice.finalized`, `invoice.paid`, `invoice.payment_succeeded` (Stripe waits about an hour after
invoice.created, https://docs.stripe.com/invoicing/integration/workflow-transitions; compressed
here to --finalize-after seconds so the whole renewal falls in the window). charge.succeeded and
payment_intent.succeeded come too but have no handler (stored and ignored, no read): left out.
The events are stored in the inbox as they arrive (what the stored acknowledgement does;
its cost is bench/webhooks.py's), and --workers `membership worker` processes apply them
(WEBHOOK_APPLY_INLINE=false, PostgreSQL, a scratch database), each with --threads threads applying
events (WORKER_THREADS) and STRIPE_READS_PER_SECOND=--reads-per-worker.

The Stripe double (a process of its own, started here) answers what applying a renewal reads
(the subscription; the invoice, plain or with its subscription and payments expanded as
`retrieve_invoice_in_full` asks; its invoice payments; the PaymentIntent with its charge's balance
transaction) in the shapes the sandbox gives for a real renewal (captured from it at the start),
after --latency seconds, and allows --reads reads in any one second: beyond that it answers 429
with Retry-After, as https://docs.stripe.com/rate-limits describes. It logs every request.

Reported: the time until every member is right (subscription in its new period and active, the
renewal invoice recorded as a contribution, member active), Stripe reads used (per renewal, and
the peak in any second), the 429s and that each was retried to a 200, and the inbox's end state.
With --timeout, a storm still going then is reported as far as it got, with its rate.
"""
from __future__ import annotations

import argparse
import collections
import json
import math
import os
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import psycopg
import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import BIN, append_results, free_port, scratch_database, start, wait_until_up  # noqa: E402
from service.gateways.stripe_gateway import INVOICE_EXPANSIONS, StripeGateway  # noqa: E402

OUT = Path(__file__).resolve().parent / "out"
API_VERSION = "2026-10-28.endive"
KEY = "sk_test_storm"


# --- the Stripe double ------------------------------------------------------------------------


class Double:
    """Renewed objects for subscription i, built from the sandbox's templates by swapping ids."""

    def __init__(self, templates: dict[str, Any], latency: float, reads: int):
        self.t, self.latency, self.reads = templates, latency, reads
        self.lock = threading.Lock()
        self.window: collections.deque[float] = collections.deque()  # times of reads allowed in the last second
        self.ok: collections.Counter[str] = collections.Counter()
        self.limited: collections.Counter[str] = collections.Counter()  # path -> 429s
        self.retried: set[str] = set()  # paths answered 200 after a 429
        self.per_second: collections.Counter[int] = collections.Counter()

    def admit(self, path: str) -> float | None:
        """None: allowed; else the seconds until a read would be."""
        with self.lock:
            now = time.monotonic()
            while self.window and self.window[0] <= now - 1.0:
                self.window.popleft()
            if len(self.window) >= self.reads:
                self.limited[path] += 1
                return self.window[0] + 1.0 - now
            self.window.append(now)
            self.ok[path] += 1
            self.per_second[int(now)] += 1
            if path in self.limited:
                self.retried.add(path)
            return None

    def stats(self) -> dict[str, Any]:
        """The request log's figures, read under the lock (the storm's reads go on meanwhile)."""
        with self.lock:
            return {"ok": sum(self.ok.values()), "limited": sum(self.limited.values()),
                    "limited_paths": len(self.limited), "retried_paths": len(self.retried),
                    "peak_per_second": max(self.per_second.values(), default=0), "by_kind": _by_kind(self.ok)}

    def ids(self, i: int) -> dict[str, str]:
        return {"sub": f"sub_storm_{i}", "cus": f"cus_storm_{i}", "in": f"in_storm_{i}", "pi": f"pi_storm_{i}",
                "ch": f"ch_storm_{i}"}

    def render(self, name: str, i: int) -> dict[str, Any]:
        text = self.t[name]
        for kind, new in self.ids(i).items():
            text = text.replace(self.t["ids"][kind], new)
        obj = json.loads(text)
        meta = {"member_id": str(i)}
        if name == "subscription":
            obj["metadata"] = meta
            start_at = self.t["renews_at"]  # every renewal: the same new period
            for item in obj["items"]["data"]:
                item["current_period_start"], item["current_period_end"] = start_at, start_at + 30 * 86400
        if name in ("invoice", "invoice_full"):
            obj["parent"]["subscription_details"]["metadata"] = meta
        if name == "invoice_full":
            obj["parent"]["subscription_details"]["subscription"] = self.render("subscription", i)
        return obj

    def answer(self, path: str) -> tuple[int, dict[str, Any]]:
        parts = urlsplit(path)
        segments = parts.path.strip("/").split("/")
        query = parse_qs(parts.query)
        try:
            if segments[:2] == ["v1", "subscriptions"] and len(segments) == 3:
                return 200, self.render("subscription", _index(segments[2]))
            if segments[:2] == ["v1", "invoices"] and len(segments) == 3:
                expand = {path for key, paths in query.items() if key.startswith("expand[") for path in paths}
                full = expand == set(INVOICE_EXPANSIONS)
                return 200, self.render("invoice_full" if full else "invoice", _index(segments[2]))
            if segments == ["v1", "invoice_payments"]:
                return 200, self.render("invoice_payments", _index(query["invoice"][0]))
            if segments[:2] == ["v1", "payment_intents"] and len(segments) == 3:
                return 200, self.render("payment_intent", _index(segments[2]))
        except (KeyError, ValueError):
            pass
        return 404, {"error": {"type": "invalid_request_error", "code": "resource_missing", "message": path}}


def _index(stripe_id: str) -> int:
    return int(stripe_id.rsplit("_", 1)[1])


def serve_double(port: int, templates: Path, latency: float, reads: int) -> None:
    double = Double(json.loads(templates.read_text()), latency, reads)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:  # noqa: N802 - BaseHTTPRequestHandler's name
            if self.path == "/_stats":
                return self.send(200, double.stats())
            time.sleep(double.latency)
            wait = double.admit(self.path.split("?")[0] if "invoice_payments" not in self.path else self.path)
            if wait is not None:
                return self.send(429, {"error": {"type": "invalid_request_error", "code": "rate_limit",
                                                 "message": "Too many requests hit the API too quickly."}},
                                 {"Retry-After": str(max(1, math.ceil(wait)))})
            status, body = double.answer(self.path)
            return self.send(status, body)

        def send(self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> None:
            payload = json.dumps(body).encode()
            self.send_response(status)
            for name, value in {"Content-Type": "application/json", "Content-Length": str(len(payload)),
                                "Request-Id": "req_storm", **(headers or {})}.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    server.serve_forever()


def _by_kind(counter: collections.Counter[str]) -> dict[str, int]:
    kinds: collections.Counter[str] = collections.Counter()
    for path, n in counter.items():
        kinds[path.split("?")[0].split("/")[2]] += n
    return dict(kinds)


# --- templates from the sandbox ---------------------------------------------------------------


def capture_templates(path: Path) -> None:
    """One real renewal on the sandbox: pay a $5/month checkout, move the clock past the period
    end and the draft's finalization, and keep the objects applying its events reads."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    sandbox = start([sys.executable, "-m", "stripe_sandbox", "--port", str(port)], {}, OUT / "storm-sandbox.log")
    try:
        wait_until_up(f"{url}/sandbox/clock")
        gateway = StripeGateway(KEY, api_base=url)
        price = gateway.ensure_price(lookup_key="membership_monthly_5", product_name="Membership: Monthly",
                                     amount=500, currency="usd", interval="month")
        customer = gateway.create_customer(member_id=1, email="storm@example.org", name="Storm")
        session = gateway.create_checkout_session(
            member_id=1, customer_id=customer["id"], line_item={"price": price["id"]},
            success_url="http://127.0.0.1/join/success?session_id={CHECKOUT_SESSION_ID}",
            cancel_url="http://127.0.0.1/join/cancelled", key="storm-template")
        requests.post(session["url"], data={"card_number": "4242424242424242", "email": "storm@example.org"},
                      allow_redirects=False, timeout=30).raise_for_status()
        sub_id = gateway.retrieve_checkout_session(session["id"])["subscription"]
        requests.post(f"{url}/sandbox/clock/advance", data={"days": 32}, timeout=60).raise_for_status()
        http = requests.Session()
        http.headers.update({"Authorization": f"Bearer {KEY}", "Stripe-Version": API_VERSION})

        def get(p: str, **params: Any) -> dict[str, Any]:
            response = http.get(url + p, params=params, timeout=30)
            response.raise_for_status()
            return response.json()

        sub = get(f"/v1/subscriptions/{sub_id}")
        invoice = get(f"/v1/invoices/{sub['latest_invoice']}")
        invoice_full = get(f"/v1/invoices/{invoice['id']}", **{"expand[]": list(INVOICE_EXPANSIONS)})
        payments = get("/v1/invoice_payments", invoice=invoice["id"], status="paid")
        intent_id = payments["data"][0]["payment"]["payment_intent"]
        intent = get(f"/v1/payment_intents/{intent_id}", **{"expand[]": "latest_charge.balance_transaction"})
        if invoice["status"] != "paid" or intent["status"] != "succeeded":
            raise RuntimeError(f"the sandbox's renewal did not pay: invoice {invoice['status']}, intent {intent['status']}")
        charge = intent["latest_charge"]
        path.write_text(json.dumps({
            "ids": {"sub": sub["id"], "cus": customer["id"], "in": invoice["id"], "pi": intent["id"], "ch": charge["id"]},
            "renews_at": int(time.time()),
            "subscription": json.dumps(sub), "invoice": json.dumps(invoice), "invoice_full": json.dumps(invoice_full),
            "invoice_payments": json.dumps(payments), "payment_intent": json.dumps(intent)}))
    finally:
        sandbox.terminate()
        sandbox.wait(timeout=20)


# --- the members, the events, the check -------------------------------------------------------


def seed(url: str, n: int, renews_at: datetime) -> None:
    """n paying members, synced a month ago, whose period ends at `renews_at`."""
    with psycopg.connect(url.replace("+psycopg", "")) as conn:
        conn.execute("""
            INSERT INTO members (id, email, name, status, status_changed_at, stripe_customer_id, created_at, updated_at)
            SELECT i, 'storm' || i || '@example.org', 'Storm ' || i, 'active', now() - interval '40 days',
                   'cus_storm_' || i, now() - interval '40 days', now()
            FROM generate_series(1, %s) AS i""", (n,))
        conn.execute("SELECT setval(pg_get_serial_sequence('members', 'id'), %s)", (n,))
        conn.execute("""
            INSERT INTO subscriptions (member_id, plan_id, stripe_subscription_id, status, amount, currency, interval,
                                       current_period_end, cancel_at_period_end, stripe_created_at, synced_at,
                                       created_at, updated_at)
            SELECT m.id, p.id, 'sub_storm_' || m.id, 'active', 500, 'usd', 'month', %s, false,
                   m.created_at, now() - interval '30 days', m.created_at, now()
            FROM members m JOIN plans p ON p.code = 'monthly-5'""", (renews_at,))
        conn.execute("ANALYZE")


def events_for(i: int, created: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Subscription i's renewal: the events at the period end, and those at finalization."""
    meta = {"member_id": str(i)}
    sub = {"id": f"sub_storm_{i}", "object": "subscription", "customer": f"cus_storm_{i}", "metadata": meta}
    invoice = {"id": f"in_storm_{i}", "object": "invoice", "customer": f"cus_storm_{i}",
               "parent": {"type": "subscription_details",
                          "subscription_details": {"subscription": f"sub_storm_{i}", "metadata": meta}}}

    def event(kind: str, obj: dict[str, Any]) -> dict[str, Any]:
        return {"id": f"evt_storm_{i}_{kind}", "object": "event", "type": kind, "api_version": API_VERSION,
                "created": created, "livemode": False, "data": {"object": obj}}

    return ([event("customer.subscription.updated", sub), event("invoice.created", invoice)],
            [event("invoice.finalized", invoice), event("invoice.paid", invoice),
             event("invoice.payment_succeeded", invoice)])


def store(conn: psycopg.Connection, events: list[dict[str, Any]]) -> None:
    if not events:
        return
    now = datetime.now(UTC)
    with conn.cursor() as cur:
        cur.executemany("""
            INSERT INTO stripe_events (stripe_event_id, type, livemode, api_version, stripe_created_at, object_id,
                                       payload, status, attempts, received_at)
            VALUES (%s, %s, false, %s, %s, %s, %s, 'received', 0, %s) ON CONFLICT DO NOTHING""",
            [(e["id"], e["type"], API_VERSION, now, e["data"]["object"]["id"], json.dumps(e), now) for e in events])
    conn.commit()


def right(url: str, renewed_after: datetime) -> int:
    """Members whose renewal is fully applied: new period, active, the invoice recorded."""
    with psycopg.connect(url.replace("+psycopg", ""), autocommit=True) as conn:
        return int(conn.execute("""
            SELECT count(*) FROM members m
            JOIN subscriptions s ON s.member_id = m.id AND s.status = 'active' AND s.current_period_end > %s
            JOIN contributions c ON c.member_id = m.id AND c.stripe_invoice_id = 'in_storm_' || m.id
            WHERE m.status = 'active'""", (renewed_after,)).fetchone()[0])


def inbox_state(url: str) -> dict[str, int]:
    with psycopg.connect(url.replace("+psycopg", ""), autocommit=True) as conn:
        return dict(conn.execute("SELECT status, count(*) FROM stripe_events GROUP BY status").fetchall())


def rate_limit_failures(url: str) -> int:
    with psycopg.connect(url.replace("+psycopg", ""), autocommit=True) as conn:
        return int(conn.execute("SELECT count(*) FROM stripe_events WHERE last_error LIKE %s",
                                ("%RateLimitError%",)).fetchone()[0])


# --- the run ----------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--subscriptions", type=int, default=20000)
    parser.add_argument("--window", type=float, default=600, help="seconds over which the renewals fall")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=16, help="threads applying events in each worker (WORKER_THREADS)")
    parser.add_argument("--latency", type=float, default=0.15, help="the double's answer time, seconds")
    parser.add_argument("--reads", type=int, default=100, help="reads the double allows in any one second")
    # 2 x 45 leaves the double's 100 a second room for the jitter of 150 ms answers on a loaded
    # machine: at 2 x 50 (with a burst of a whole second's reads then), 5,000 renewals drew 193 429s.
    parser.add_argument("--reads-per-worker", type=int, default=45, help="STRIPE_READS_PER_SECOND of each worker")
    parser.add_argument("--finalize-after", type=float, default=30, help="seconds from invoice.created to finalized")
    parser.add_argument("--timeout", type=float, default=1800, help="stop after this many seconds from the first event")
    parser.add_argument("--double", nargs=3, metavar=("PORT", "TEMPLATES", "LATENCY:READS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.double:
        latency, reads = args.double[2].split(":")
        return serve_double(int(args.double[0]), Path(args.double[1]), float(latency), int(reads))
    OUT.mkdir(exist_ok=True)
    templates = OUT / "storm-templates.json"
    capture_templates(templates)
    lines: list[str] = []

    def say(line: str) -> None:
        print(line, flush=True)
        lines.append(line)

    with scratch_database("bench_storm") as url:
        double_port = free_port()
        double_url = f"http://127.0.0.1:{double_port}"
        env = {"DATABASE_URL": url, "SECRET_KEY": "bench-" + "x" * 32, "BILLING_BACKEND": "sandbox",
               "STRIPE_API_BASE": double_url, "STRIPE_WEBHOOK_SECRET": "whsec_storm", "RATELIMIT_ENABLED": "false",
               "LOG_LEVEL": "WARNING", "WEBHOOK_APPLY_INLINE": "false", "OUTBOX_DELIVER_INLINE": "false",
               "MAIL_URL": "console", "BASE_URL": "http://127.0.0.1",
               "STRIPE_READS_PER_SECOND": str(args.reads_per_worker), "WORKER_THREADS": str(args.threads)}
        start([str(BIN / "membership"), "db", "upgrade"], env, OUT / "storm-migrate.log").wait()
        renews_at = datetime.now(UTC) + timedelta(seconds=30)
        seed(url, args.subscriptions, renews_at)
        double = start([sys.executable, __file__, "--double", str(double_port), str(templates),
                        f"{args.latency}:{args.reads}"], {}, OUT / "storm-double.log")
        workers = []
        try:
            wait_until_up(f"{double_url}/_stats")
            workers = [start([str(BIN / "membership"), "worker", "--interval", "0.5"], env, OUT / f"storm-worker-{k}.log")
                       for k in range(args.workers)]
            time.sleep(3)
            n, started = args.subscriptions, time.monotonic()
            due: list[tuple[float, list[dict[str, Any]]]] = []
            for i in range(1, n + 1):
                at = (i - 1) / n * args.window
                first, later = events_for(i, int(time.time() + at))
                due += [(at, first), (at + args.finalize_after, later)]
            due.sort(key=lambda d: d[0])
            done_at, progress, k, polled = None, [], 0, 0.0
            with psycopg.connect(url.replace("+psycopg", "")) as feed:
                while True:
                    elapsed = time.monotonic() - started
                    batch = []
                    while k < len(due) and due[k][0] <= elapsed:
                        batch += due[k][1]
                        k += 1
                    store(feed, batch)
                    if elapsed - polled >= 10:
                        polled = elapsed
                        count = right(url, renews_at + timedelta(days=1))
                        progress.append((elapsed, count))
                        print(f"{elapsed:6.0f} s: {k:,} of {len(due):,} event groups arrived, {count:,} members right",
                              flush=True)
                        if count >= n:
                            done_at = elapsed
                            break
                    if elapsed > args.timeout:
                        break
                    time.sleep(0.2)
            stats = requests.get(f"{double_url}/_stats", timeout=10).json()
        finally:
            for proc in workers:
                proc.terminate()
            for proc in workers:
                proc.wait(timeout=60)
            double.terminate()
            double.wait(timeout=20)
        final = right(url, renews_at + timedelta(days=1))
        inbox = inbox_state(url)
        failures = rate_limit_failures(url)

    last_arrival = due[-1][0]
    renewals_per_s = final / (progress[-1][0] if progress else 1)
    say(f"Storm: {n:,} monthly subscriptions renewing over {args.window:.0f} s, five events each in Stripe's order "
        f"({n * 5:,} events; the invoice's three {args.finalize_after:.0f} s after the first two), {args.workers} workers "
        f"(`membership worker`, PostgreSQL), WORKER_THREADS={args.threads} and "
        f"STRIPE_READS_PER_SECOND={args.reads_per_worker} each; Stripe double: "
        f"{args.latency * 1000:.0f} ms per answer, {args.reads} reads in any second, then 429 with Retry-After")
    if done_at is not None:
        say(f"Every member right after {done_at:,.0f} s from the first event ({done_at - last_arrival:,.0f} s after the "
            f"last arrived)" + (f"; aim 900 s: {'reached' if done_at <= 900 else 'missed'}" if n >= 20000 else
                                  " (a smaller storm than the aim's 20,000)"))
    else:
        say(f"Stopped at --timeout: {final:,} of {n:,} members right after {progress[-1][0]:,.0f} s "
            f"({renewals_per_s:.2f} renewals/s; at that rate all {n:,} would take about {n / max(renewals_per_s, 1e-9):,.0f} s); "
            "aim 900 s: missed")
    say("  progress (s: members right): " + ", ".join(f"{t:.0f}: {c:,}" for t, c in progress[:: max(1, len(progress) // 12)]))
    reads = stats["ok"]
    say(f"Stripe reads answered: {reads:,} ({reads / max(final, 1):.2f} per renewal applied; by kind {stats['by_kind']}); "
        f"peak {stats['peak_per_second']} in one second (budget {args.reads})")
    say(f"429s: {stats['limited']:,} on {stats['limited_paths']:,} objects, {stats['retried_paths']:,} of them answered 200 "
        f"on a later try; inbox events whose last error was a rate limit: {failures:,}; inbox at the end: {inbox}")
    say(f"Load while it ran: {os.getloadavg()[0]:.2f} (1-min load average at the end)")
    append_results("Renewal storm (bench/renewal_storm.py)", "python bench/renewal_storm.py " + " ".join(sys.argv[1:]), lines)


if __name__ == "__main__":
    main()

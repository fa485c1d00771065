"""Webhooks at the speed of the machine (issue 18): one command, one run, ratios to a baseline
measured in the same run (a benchmark, not a test).

    .venv/bin/python bench/webhooks.py [--members 2000] [--worker-members 1000] [--connections 16]
                                       [--duration 10] [--backlogs 1000,50000] [--peer djstripe]

On a scratch PostgreSQL database (created and dropped here), gunicorn (-w 2, gthread) and the
Stripe sandbox as the Stripe double, with load from wrk (bench/webhooks.lua), not from a Python
client sharing the CPU, and the gateway's Stripe read budget off (READS_PER_SECOND):
1. Baselines: Flask's hello world (bench/hello.py) and the service's GET /healthz, under the
   same gunicorn settings.
2. Stored acknowledgement (WEBHOOK_APPLY_INLINE=false): unique signed events for --duration s.
3. Applied in the request (WEBHOOK_APPLY_INLINE=true): one customer.subscription.updated per
   member, each posted once over the connections, in two rounds: the first activates every
   member (subscription row, status change and timeline, members' digest and consent record,
   welcome email and list sync queued), the second is a plain update.
4. Stored, then applied by two `membership worker` processes: one event per member of another
   --worker-members, stored at once and drained, in the same two rounds (activation, update).
5. The claim's cost against the backlog: backlogs of each size in --backlogs over the same
   --worker-members, of events that arrived before their subscription's last read (so no Stripe read:
   the database's share of the work is at its largest), drained by the workers; PostgreSQL's
   CPU per event at each size, and their ratio. Where the server runs without autovacuum (this
   machine's does), the bench vacuums the tables a backlog drain rewrites every 5 s and counts
   that CPU apart ("vacuum"; `Vacuum` says how it differs from autovacuum).
With `--peer djstripe`, between 3 and 4: Flask's hello world again, then dj-stripe 2.11.0 on the
same work as 3 (the same subscriptions on the same sandbox, the same events, its own virtualenv
and database; see bench/peer_djstripe.py) between two of Django's hello world; each side's ratios
to the mean of its two hello worlds, and ours divided by its.
For each path: events/s and its ratio to hello world, latency (wrk), CPU per event by process
(web, workers, PostgreSQL's backends for this database, sandbox) from /proc, transactions
per event from pg_stat_database, and for events applied in the request Stripe calls per event
from the sandbox's request log. Statements per event are counted by
tests/web/webhooks/test_round_trips.py. Then every event is checked stored once and applied
once, and the figures are appended to bench/RESULTS.md.
"""
from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import os
import secrets
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Collection
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, NamedTuple

import psycopg
import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import ADMIN_URL, BIN, ROOT, append_results, free_port, scratch_database, start, wait_until_up  # noqa: E402

SECRET = "whsec_bench"
OUT = ROOT / "bench" / "out"
LUA = ROOT / "bench" / "webhooks.lua"
TICK = os.sysconf("SC_CLK_TCK")
WRK_THREADS = 2
# The gateway's Stripe read budget per process (service/config.py; default 25, Stripe's sandbox
# limit): 0, no limit, so the figures are the machine's speed and not the account's budget
# (BENCH_STRIPE_READS_PER_SECOND=25 measures with the default; two web processes at 25 reads a
# second each cap events applied in the request near 50 a second).
READS_PER_SECOND = os.environ.get("BENCH_STRIPE_READS_PER_SECOND", "0")
# Seconds between the vacuums of a backlog drain when the server runs without autovacuum (`Vacuum`).
VACUUM_EVERY = 5.0


class Sub(NamedTuple):
    subscription_id: str
    customer_id: str
    member_id: int


class Phase(NamedTuple):
    rate: float  # events (or requests) per second
    wrk: dict[str, Any]
    cpu: dict[str, float]  # CPU seconds by process group
    transactions: int


def env_for(url: str, sandbox: str, inline: bool) -> dict[str, str]:
    return {"DATABASE_URL": url, "SECRET_KEY": "bench-" + "x" * 32, "BILLING_BACKEND": "sandbox",
            "STRIPE_API_BASE": sandbox, "STRIPE_WEBHOOK_SECRET": SECRET, "RATELIMIT_ENABLED": "false",
            "LOG_LEVEL": "WARNING", "WEBHOOK_APPLY_INLINE": str(inline).lower(), "OUTBOX_DELIVER_INLINE": "false",
            "MAIL_URL": "console", "BASE_URL": "http://127.0.0.1", "STRIPE_READS_PER_SECOND": READS_PER_SECOND}


# --- CPU and transactions, read from /proc and PostgreSQL ------------------------------


def cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICK  # utime, stime (fields 14 and 15 of stat)


def with_children(pid: int) -> list[int]:
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (FileNotFoundError, ProcessLookupError, IndexError):
                continue
            parents.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo.extend(parents.get(current, []))
    return found


def backends(database: str, kind: str, exclude: Collection[int] = ()) -> list[int]:
    """This database's backends of one kind: 'client backend' (the service's connections) or
    'autovacuum worker' (the vacuum and analyze the load makes necessary, counted apart)."""
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        pids = [row[0] for row in conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = %s AND backend_type = %s", (database, kind))]
    return [pid for pid in pids if pid not in exclude]


def transactions(database: str) -> int:
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute("SELECT pg_stat_force_next_flush()")
        row = conn.execute("SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = %s",
                           (database,)).fetchone()
    return int(row[0]) if row else 0


class Meter:
    """CPU seconds of each group of processes between two readings (PostgreSQL: this database's
    client backends, less the benchmark's own, and its autovacuum workers apart; an autovacuum
    worker that ended between the readings is not counted). Transactions are read apart, once the processes that ran
    them have exited (a backend reports its statistics when it ends, or every few seconds)."""

    def __init__(self, database: str, groups: dict[str, Callable[[], list[int]]], exclude_backends: Collection[int] = ()):
        self.database, self.groups, self.exclude = database, groups, exclude_backends

    def read(self) -> dict[str, dict[int, float]]:
        groups = {name: {pid: cpu_seconds(pid) for pid in pids()} for name, pids in self.groups.items()}
        groups["postgres"] = {pid: cpu_seconds(pid) for pid in backends(self.database, "client backend", self.exclude)}
        groups["autovacuum"] = {pid: cpu_seconds(pid) for pid in backends(self.database, "autovacuum worker")}
        return groups

    @staticmethod
    def spent(before: dict[str, dict[int, float]], after: dict[str, dict[int, float]]) -> dict[str, float]:
        return {name: sum(seconds - before.get(name, {}).get(pid, 0.0) for pid, seconds in pids.items())
                for name, pids in after.items()}


def transactions_since(database: str, before: int, polls_before: int) -> int:
    """Transactions of this database since `before`, less the benchmark's own polling."""
    time.sleep(1.0)
    return transactions(database) - before - (POLLS[0] - polls_before)


# --- the service and its members -----------------------------------------------------


def seed_members(env: dict[str, str], count: int) -> list[Sub]:
    """Members who paid for $5/month on the sandbox, not yet synced: the first event of each activates them."""
    from service import create_app
    from service.extensions import db
    from service.models import Member

    app = create_app(env)
    with app.app_context():
        gateway = app.extensions["payments"]
        price = gateway.ensure_price(lookup_key="membership_monthly_5", product_name="Membership: Monthly",
                                     amount=500, currency="usd", interval="month")
        members = [Member(email=f"bench{n}@example.org", name=f"Bench {n}") for n in range(count)]
        db.session.add_all(members)
        db.session.flush()
        people = [(m.id, m.email, m.name) for m in members]

        def pay(person: tuple[int, str, str]) -> tuple[str, str]:
            member_id, email, name = person
            customer = gateway.create_customer(member_id=member_id, email=email, name=name)
            session = gateway.create_checkout_session(
                member_id=member_id, customer_id=customer["id"], line_item={"price": price["id"]},
                success_url="http://127.0.0.1/join/success?session_id={CHECKOUT_SESSION_ID}",
                cancel_url="http://127.0.0.1/join/cancelled", key=f"bench-{member_id}")
            requests.post(session["url"], data={"card_number": "4242424242424242", "email": email},
                          allow_redirects=False, timeout=30).raise_for_status()
            return gateway.retrieve_checkout_session(session["id"])["subscription"], customer["id"]

        with ThreadPoolExecutor(4) as pool:
            paid = list(pool.map(pay, people))
        for member, (_sub_id, customer_id) in zip(members, paid, strict=True):
            member.stripe_customer_id = customer_id
        db.session.commit()
    app.extensions["db_engine"].dispose()
    return [Sub(sub_id, customer_id, member_id) for (member_id, _, _), (sub_id, customer_id) in zip(people, paid, strict=True)]


def event_for(sub: Sub, tag: str, n: int, created: int) -> dict[str, Any]:
    return {"id": f"evt_bench_{tag}_{n}_{secrets.token_hex(4)}", "object": "event",
            "type": "customer.subscription.updated", "api_version": "2026-10-28.endive", "created": created,
            "livemode": False,
            "data": {"object": {"id": sub.subscription_id, "object": "subscription", "customer": sub.customer_id,
                                "metadata": {"member_id": str(sub.member_id)}}}}


def signed_file(events: list[dict[str, Any]], path: Path) -> Path:
    """One line per event for wrk: the Stripe-Signature header, a tab, the body."""
    t = int(time.time())
    with path.open("w") as out:
        for event in events:
            body = json.dumps(event, separators=(",", ":"))
            mac = hmac.new(SECRET.encode(), f"{t}.{body}".encode(), hashlib.sha256).hexdigest()
            out.write(f"t={t},v1={mac}\t{body}\n")
    return path


def gunicorn(target: str, env: dict[str, str], port: int, log: Path, ready: str = "/healthz") -> subprocess.Popen:
    args = [str(BIN / "gunicorn"), "-w", "2", "-k", "gthread", "--threads", "4", "-b", f"127.0.0.1:{port}",
            "--keep-alive", "30", target]
    proc = start(args, env, log)
    wait_until_up(f"http://127.0.0.1:{port}{ready}")
    return proc


def wrk(url: str, connections: int, seconds: float, events: Path | None = None,
        until: Callable[[], bool] | None = None, path: str = "/webhooks/stripe", idle: str = "/healthz") -> dict[str, Any]:
    """Run wrk; with `until`, stop it (SIGINT: it reports what it did) once that holds. The events
    go to `path`; a connection with none left to send GETs `idle`."""
    args = ["wrk", "-t", str(WRK_THREADS), "-c", str(connections), "-d", f"{int(seconds)}s", "--timeout", "30s",
            "-s", str(LUA), url]
    if events is not None:
        args += ["--", str(events), str(WRK_THREADS), path, idle]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    started = time.perf_counter()
    if until is not None:
        while proc.poll() is None and not until():
            time.sleep(0.1)
        elapsed = time.perf_counter() - started
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
    output, _ = proc.communicate(timeout=60)
    line = next((ln for ln in output.splitlines() if ln.startswith("RESULT ")), None)
    if line is None:
        raise RuntimeError(f"wrk said:\n{output}")
    result = json.loads(line[len("RESULT "):])
    result["elapsed"] = elapsed if until is not None else result["duration_us"] / 1e6
    return result


POLLS = [0]  # transactions the benchmark itself ran on the database (its polling)


def count(url: str, sql: str, *params: Any) -> int:
    POLLS[0] += 1
    with psycopg.connect(url.replace("+psycopg", ""), autocommit=True) as conn:
        return int(conn.execute(sql, params).fetchone()[0])


def stripe_calls(log: Path) -> int:
    """API requests the sandbox has logged so far (werkzeug writes a line per request)."""
    if not log.exists():
        return 0
    with log.open("rb") as lines:
        return sum(1 for line in lines if b'"GET /v1/' in line or b'"POST /v1/' in line or b'"DELETE /v1/' in line)


def latency(result: dict[str, Any]) -> str:
    return f"p50 {result['p50_us'] / 1000:.1f} ms, p99 {result['p99_us'] / 1000:.1f} ms"


def per_event(cpu: dict[str, float], events: int, *names: str) -> str:
    return ", ".join(f"{name} {cpu.get(name, 0.0) / events * 1000:.2f} ms" for name in names)


# --- the phases ------------------------------------------------------------------------


def baseline(target: str, env: dict[str, str], path: str, args: argparse.Namespace, label: str) -> dict[str, Any]:
    port = free_port()
    return measure_then_stop(gunicorn(target, env, port, OUT / f"{label}.log", ready=path),
                             f"http://127.0.0.1:{port}{path}", args)


def measure_then_stop(web: subprocess.Popen, url: str, args: argparse.Namespace) -> dict[str, Any]:
    """wrk against a started server's URL after a warm-up; the server is stopped afterwards."""
    try:
        wrk(url, args.connections, 2)  # warm up
        return wrk(url, args.connections, args.duration)
    finally:
        web.terminate()
        web.wait()


def post_phase(env: dict[str, str], database: str, url: str, events: list[dict[str, Any]], tag: str,
               args: argparse.Namespace, *, settled: bool) -> Phase:
    """Post the events once each; with `settled`, until all are applied, else for --duration s."""
    port = free_port()
    web = gunicorn("service:create_app()", env, port, OUT / f"gunicorn-{tag}.log")
    try:
        wrk(f"http://127.0.0.1:{port}/healthz", args.connections, 1)  # warm up both processes
        meter = Meter(database, {"web": lambda: with_children(web.pid), "sandbox": lambda: with_children(args.sandbox_pid)})
        before, xacts, polls = meter.read(), transactions(database), POLLS[0]
        done = (lambda: count(url, "SELECT count(*) FROM stripe_events WHERE stripe_event_id LIKE %s AND status <> 'received'",
                              f"evt_bench_{tag}_%") >= len(events)) if settled else None
        result = wrk(f"http://127.0.0.1:{port}/", args.connections, max(600, len(events) // 2) if settled else args.duration,
                     signed_file(events, OUT / f"{tag}.events"), until=done)
        if done is not None and not done():
            raise RuntimeError(f"{tag}: wrk ended before every event was applied (see {OUT}/gunicorn-{tag}.log)")
        cpu = Meter.spent(before, meter.read())
    finally:
        web.terminate()
        web.wait()
    spent = transactions_since(database, xacts, polls)
    stored = count(url, "SELECT count(*) FROM stripe_events WHERE stripe_event_id LIKE %s", f"evt_bench_{tag}_%")
    return Phase(stored / result["elapsed"], result, cpu, spent)


def drain(env: dict[str, str], database: str, url: str, events: list[dict[str, Any]], label: str, workers: int,
          sandbox_pid: int, received_at: datetime | None = None, vacuum_every: float = 0.0) -> tuple[Phase, float]:
    """Store the events at once (received at `received_at`, default now), then time `workers`
    `membership worker` processes draining them (with `vacuum_every`, and autovacuum off on the
    server, vacuumed that often: `Vacuum`)."""
    from sqlalchemy import create_engine, insert

    from service.models import InboxStatus, StripeEvent

    now = datetime.now(UTC)
    rows = [{"stripe_event_id": event["id"], "type": event["type"], "livemode": False,
             "api_version": event["api_version"], "stripe_created_at": now, "object_id": event["data"]["object"]["id"],
             "payload": event, "status": InboxStatus.RECEIVED, "attempts": 0, "received_at": received_at or now}
            for event in events]
    engine = create_engine(url)
    vacuum = Vacuum(url, vacuum_every)  # before the workers: nothing to stop if it cannot connect
    procs = [start([str(BIN / "membership"), "worker", "--interval", "0.2"], env, OUT / f"worker-{label}-{i}.log")
             for i in range(workers)]
    try:
        time.sleep(3)  # started and idle: their start-up is not counted
        with engine.connect() as conn:
            own = conn.exec_driver_sql("SELECT pg_backend_pid()").scalar()
            conn.commit()
            meter = Meter(database, {"worker": lambda: [p for proc in procs for p in with_children(proc.pid)],
                                     "sandbox": lambda: with_children(sandbox_pid), "vacuum": vacuum.backends},
                          exclude_backends={own, *vacuum.backends()})
            before, xacts, polls = meter.read(), transactions(database), POLLS[0]
            with conn.begin():
                for chunk in range(0, len(rows), 1000):
                    conn.execute(insert(StripeEvent), rows[chunk:chunk + 1000])
            vacuum.start()
            started = time.perf_counter()
            samples, sampled = [(0, before)], started
            while (waiting := count(url, "SELECT count(*) FROM stripe_events WHERE status = 'received'")) > 0:
                if len(events) >= 10000 and time.perf_counter() - sampled > 2:  # how the cost moves as the backlog shrinks
                    samples.append((len(events) - waiting, meter.read()))
                    sampled = time.perf_counter()
                time.sleep(0.05)
            elapsed = time.perf_counter() - started
            after = meter.read()
            samples.append((len(events), after))
            cpu = Meter.spent(before, after)
    finally:
        vacuum.stop()
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(timeout=30)
        engine.dispose()
    spent = transactions_since(database, xacts, polls) - 2  # less the benchmark's own two (the vacuum's stay in)
    return Phase(len(events) / elapsed, {"samples": _fifths(samples), "vacuum": vacuum.report()}, cpu, spent), elapsed


class Vacuum:
    """Vacuum during a drain where the server runs without autovacuum (this machine's PostgreSQL
    has `autovacuum = off`; production's default is on, and the migrations ask it to visit the
    inbox and the outbox after 1 % of their rows changed): VACUUM (ANALYZE) of the tables a
    drain rewrites every `every` seconds, on a connection of its own whose CPU is counted apart
    ("vacuum"), as autovacuum's workers' is. It is not autovacuum: it runs more often (its
    naptime is 60 s), without autovacuum's cost delay, and on `members` and `subscriptions`
    too, so a large backlog's dead rows are cleared sooner than production would; the results
    give the ratio with and without its CPU. Nothing runs when autovacuum is on, or `every` is 0."""

    TABLES = "stripe_events, subscriptions, members"

    def __init__(self, url: str, every: float):
        self.conn = psycopg.connect(url.replace("+psycopg", ""), autocommit=True)
        self.every = every
        self.needed = every > 0 and self.conn.execute("SHOW autovacuum").fetchone()[0] == "off"
        self.pid = self.conn.execute("SELECT pg_backend_pid()").fetchone()[0]
        self.runs, self.error = 0, ""
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def backends(self) -> list[int]:
        return [self.pid]

    def start(self) -> None:
        if self.needed:
            self._thread.start()

    def _loop(self) -> None:
        while not self._stop.wait(self.every):
            try:
                self.conn.execute(f"VACUUM (ANALYZE) {self.TABLES}")
            except psycopg.Error as exc:  # said in the results, not lost with the thread
                self.error = f"{type(exc).__name__}: {exc}"
                return
            self.runs += 1

    def report(self) -> str:
        if not self.needed:
            return ""
        return f"vacuumed {self.runs} times" + (f", then failed: {self.error}" if self.error else "")

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()
        self.conn.close()


def _fifths(samples: list[tuple[int, dict[str, dict[int, float]]]]) -> list[float]:
    """PostgreSQL CPU per event (ms) over each fifth of a drain, from the samples nearest its bounds."""
    total = samples[-1][0]
    if total < 10000 or len(samples) < 6:
        return []
    out = []
    for k in range(5):
        start = min(samples, key=lambda sample: abs(sample[0] - total * k / 5))
        end = min(samples, key=lambda sample: abs(sample[0] - total * (k + 1) / 5))
        spent = Meter.spent(start[1], end[1]).get("postgres", 0.0)
        out.append(spent / max(end[0] - start[0], 1) * 1000)
    return out


def check(url: str, expected: int) -> str:
    with psycopg.connect(url.replace("+psycopg", ""), autocommit=True) as conn:
        rows = dict(conn.execute("SELECT status, count(*) FROM stripe_events WHERE stripe_event_id LIKE %s "
                                 "GROUP BY status", ("evt_bench_%",)).fetchall())
        most = conn.execute("SELECT coalesce(max(attempts), 0) FROM stripe_events").fetchone()[0]
        members = dict(conn.execute("SELECT status, count(*) FROM members GROUP BY status").fetchall())
    ok = rows == {"applied": expected} and most == 1 and set(members) == {"active"}
    return (f"Check: {rows.get('applied', 0):,} of {expected:,} events applied, each once (max attempts {most}); "
            f"members by status {members}: {'OK' if ok else 'FAILED ' + str(rows)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--members", type=int, default=2000, help="members whose events are applied in the request")
    parser.add_argument("--worker-members", type=int, default=1000, help="members whose events the workers apply")
    parser.add_argument("--connections", type=int, default=16, help="wrk connections")
    parser.add_argument("--duration", type=int, default=10, help="seconds for the baselines and the acknowledgement")
    parser.add_argument("--backlogs", default="1000,50000", help="backlogs for the claim's cost, comma-separated")
    parser.add_argument("--workers", type=int, default=2, help="`membership worker` processes")
    parser.add_argument("--peer", choices=["djstripe"], help="also measure dj-stripe on the applied rounds' work")
    args = parser.parse_args()
    backlogs = [int(b) for b in args.backlogs.split(",")]
    OUT.mkdir(exist_ok=True)
    lines: list[str] = []

    def say(line: str) -> None:
        print(line, flush=True)
        lines.append(line)

    database = "membership_bench_webhooks"
    with scratch_database(database) as url:
        sandbox_port = free_port()
        sandbox_url = f"http://127.0.0.1:{sandbox_port}"
        stored_env, inline_env = env_for(url, sandbox_url, inline=False), env_for(url, sandbox_url, inline=True)
        start([str(BIN / "membership"), "db", "upgrade"], stored_env, OUT / "migrate.log").wait()
        sandbox = start([sys.executable, "-m", "stripe_sandbox", "--port", str(sandbox_port)], {}, OUT / "sandbox.log")
        args.sandbox_pid = sandbox.pid
        try:
            wait_until_up(f"{sandbox_url}/sandbox/clock")
            started = time.perf_counter()
            subs = seed_members(stored_env, args.members + args.worker_members)
            print(f"seeded {len(subs)} paying members in {time.perf_counter() - started:.0f} s", flush=True)

            hello = baseline("bench.hello:app", stored_env, "/", args, "hello")
            base = hello["requests"] / hello["elapsed"]
            say(f"Flask hello world: {base:,.0f} requests/s ({latency(hello)})")
            health = baseline("service:create_app()", stored_env, "/healthz", args, "healthz")
            rate = health["requests"] / health["elapsed"]
            say(f"GET /healthz: {rate:,.0f} requests/s = {rate / base:.1%} of hello ({latency(health)})")

            created = int(time.time())
            ack_events = [event_for(subs[n % len(subs)], "ack", n, created) for n in range(max(60000, args.duration * 8000))]
            ack = post_phase(stored_env, database, url, ack_events, "ack", args, settled=False)
            stored = count(url, "SELECT count(*) FROM stripe_events WHERE stripe_event_id LIKE %s", "evt_bench_ack_%")
            say(f"Stored acknowledgement (verify, insert, commit, 200): {ack.rate:,.0f} events/s = {ack.rate / base:.1%} "
                f"of hello ({latency(ack.wrk)}; {stored:,} stored, non-2xx {ack.wrk['non_2xx']}); per event: "
                f"{per_event(ack.cpu, stored, 'web', 'postgres')} CPU, {ack.transactions / stored:.2f} transactions")
            with psycopg.connect(url.replace("+psycopg", ""), autocommit=True) as conn:
                conn.execute("DELETE FROM stripe_events WHERE stripe_event_id LIKE %s", ("evt_bench_ack_%",))

            ours: dict[str, float] = {}
            for tag, what in (("activate", "first event of each member (activation)"), ("update", "second event (an update)")):
                created = int(time.time())
                events = [event_for(sub, tag, n, created) for n, sub in enumerate(subs[:args.members])]
                calls = stripe_calls(OUT / "sandbox.log")
                phase = post_phase(inline_env, database, url, events, tag, args, settled=True)
                calls = stripe_calls(OUT / "sandbox.log") - calls
                ours[tag] = phase.rate
                say(f"Applied in the request, {what}, {len(events):,} members: {phase.rate:,.0f} events/s = "
                    f"{phase.rate / base:.2%} of hello ({latency(phase.wrk)}); per event: "
                    f"{per_event(phase.cpu, len(events), 'web', 'postgres', 'sandbox')} CPU, "
                    f"{phase.transactions / len(events):.2f} transactions, {calls / len(events):.2f} Stripe calls")

            if args.peer == "djstripe":
                from bench import peer_djstripe

                again = baseline("bench.hello:app", stored_env, "/", args, "hello-again")
                mean = (base + again["requests"] / again["elapsed"]) / 2
                ours = {tag: rate / mean for tag, rate in ours.items()}
                say(f"Flask hello world again, after the applied rounds: {again['requests'] / again['elapsed']:,.0f} "
                    f"requests/s; against the mean of the two ({mean:,.0f}): first event {ours['activate']:.2%}, "
                    f"second event {ours['update']:.2%}")
                peer_lines, theirs = peer_djstripe.run(sandbox_url, sandbox.pid, OUT / "sandbox.log",
                                                       subs[:args.members], args)
                lines.extend(peer_lines)
                say("Ours against dj-stripe, each as a share of its own framework's hello world (the mean of the two "
                    "measured around its rounds) in this run: "
                    + "; ".join(f"{what} {ours[tag]:.2%} against {theirs['dj' + tag]:.2%} = "
                                f"{ours[tag] / theirs['dj' + tag]:.1f}x"
                                for tag, what in (("activate", "first event"), ("update", "second event")))
                    + " (aim: 8x on both: " + ("reached" if all(ours[t] >= 8 * theirs["dj" + t] for t in ("activate", "update"))
                                               else "not reached") + ")")

            later = subs[args.members:]
            for tag, what in (("wactivate", "first event of each member (activation)"), ("wupdate", "second event (an update)")):
                created = int(time.time())
                events = [event_for(sub, tag, n, created) for n, sub in enumerate(later)]
                phase, elapsed = drain(stored_env, database, url, events, tag, args.workers, sandbox.pid)
                say(f"Stored, then applied by {args.workers} workers, {what}, {len(events):,} members: {phase.rate:,.0f} "
                    f"events/s ({elapsed:.1f} s); per event: {per_event(phase.cpu, len(events), 'postgres', 'worker', 'sandbox')} "
                    f"CPU, {phase.transactions / len(events):.3f} transactions")

            # The claim's cost against the backlog: the same members (a batch holds 100 different ones),
            # events that arrived before their subscription's last read (no Stripe read: the database's
            # share of the work is at its largest), and only the backlog's size differs.
            hundred = later
            with psycopg.connect(url.replace("+psycopg", ""), autocommit=True) as conn:
                last_read = conn.execute("SELECT min(synced_at) FROM subscriptions WHERE stripe_subscription_id = ANY(%s)",
                                         ([sub.subscription_id for sub in hundred],)).fetchone()[0]
            cost: dict[int, float] = {}
            with_vacuum: dict[int, float] = {}
            for backlog in backlogs:
                created = int(time.time())
                events = [event_for(hundred[n % len(hundred)], f"drain{backlog}", n, created) for n in range(backlog)]
                phase, elapsed = drain(stored_env, database, url, events, f"drain{backlog}", args.workers, sandbox.pid,
                                       received_at=last_read - timedelta(seconds=10), vacuum_every=VACUUM_EVERY)
                cost[backlog] = phase.cpu.get("postgres", 0.0) / backlog
                with_vacuum[backlog] = cost[backlog] + (phase.cpu.get("vacuum", 0.0) + phase.cpu.get("autovacuum", 0.0)) / backlog
                vacuumed = f"; {phase.wrk['vacuum']}" if phase.wrk.get("vacuum") else ""
                say(f"Worker apply, backlog of {backlog:,} over {len(hundred):,} members (no Stripe read needed), {args.workers} "
                    f"workers: {phase.rate:,.0f} events/s ({elapsed:.1f} s); per event: "
                    f"{per_event(phase.cpu, backlog, 'postgres', 'worker', 'autovacuum', 'vacuum')} CPU, "
                    f"{phase.transactions / backlog:.3f} transactions{vacuumed}")
                if phase.wrk.get("samples"):
                    say(f"  the same drain by fifths, from {backlog:,} waiting to none, PostgreSQL CPU per event: "
                        + ", ".join(f"{ms:.2f}" for ms in phase.wrk["samples"]) + " ms")
            if len(cost) > 1:
                small, large = min(cost), max(cost)
                say(f"PostgreSQL CPU per event at a backlog of {large:,} is {cost[large] / cost[small]:.2f}x that at "
                    f"{small:,}, {with_vacuum[large] / with_vacuum[small]:.2f}x with the vacuum's CPU added to both "
                    f"(aim: within 1.2x)")
            expected = 2 * len(subs) + sum(backlogs)
            say(check(url, expected))
        finally:
            sandbox.terminate()
            sandbox.wait(timeout=20)
    command = "python bench/webhooks.py " + " ".join(sys.argv[1:])
    append_results("Webhooks at the speed of the machine (bench/webhooks.py: wrk, gunicorn -w 2, PostgreSQL, sandbox)",
                   command.strip(), lines)
    if not lines[-1].endswith("OK") or any(line.endswith("FAILED") for line in lines):
        raise SystemExit(1)


if __name__ == "__main__":
    main()

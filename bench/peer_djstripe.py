"""dj-stripe 2.11.0 on the same work as bench/webhooks.py's events applied in the request
(issue 18, item 4): a peer measured against its own hello world, so its ratio compares with ours
(a benchmark, not a test; dj-stripe is never a dependency of the service).

    .venv/bin/python bench/peer_djstripe.py [--members 2000] [--connections 16] [--duration 10]

or, in the same run as ours, `.venv/bin/python bench/webhooks.py --peer djstripe`.

On first use it makes a virtualenv of its own, bench/.peer/venv (git-ignored), with PEER_PACKAGES
from PyPI; nothing is installed at run time. Then, on a scratch PostgreSQL database
(`bench_djstripe`, created and dropped here) and a Django project written to a temporary folder
(startproject's middleware, persistent database connections, dj-stripe's webhook URL
`/stripe/webhook/<uuid>/` behind a `WebhookEndpoint` row with the signing secret, and a hello
world view), served by gunicorn -w 2 (gthread, 4 threads: bench/webhooks.py's settings) with the
stripe SDK's api_base on the Stripe sandbox:
1. Seeds what dj-stripe would know of each member: a Django user, its Stripe customer (synced
   from the sandbox with `Customer.sync_from_stripe_data`, the user as subscriber), the price and
   product, the account and its API key. Alone, the script first makes the members' subscriptions
   on a sandbox of its own (customer, Checkout Session, paid with a test card); from
   bench/webhooks.py it takes the same subscriptions that its own rounds used.
2. Hello world for --duration s with wrk: Django's own (a settings module with no app, no
   middleware and no database, as bench/hello.py is Flask's), the baseline of the ratios; and the
   same view inside the dj-stripe project (startproject's middleware), reported beside it.
3. One `customer.subscription.updated` per subscription, signed, POSTed once each over the
   connections (bench/webhooks.lua), in two rounds: the first, when dj-stripe has no row for the
   subscription yet (it creates the Subscription and its SubscriptionItem), then a second (an
   update of both). dj-stripe stores the request (WebhookEventTrigger), checks the signature,
   stores the Event, retrieves the subscription from the API (one Stripe call) and syncs it.
4. Django's hello world again; the rounds' ratios are to the mean of the two, as the machine's
   load may move in between.
After each round every event is checked stored and processed once, without error, and every
subscription's row created or updated; Stripe calls are counted from the sandbox's request log.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import psycopg
import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import ADMIN_URL, ROOT, append_results, free_port, scratch_database, start, wait_until_up  # noqa: E402
from bench.webhooks import (  # noqa: E402
    OUT,
    POLLS,
    SECRET,
    Meter,
    Sub,
    count,
    event_for,
    latency,
    measure_then_stop,
    per_event,
    signed_file,
    stripe_calls,
    transactions,
    transactions_since,
    with_children,
    wrk,
)

VENV = ROOT / "bench" / ".peer" / "venv"
PEER_PACKAGES = ["dj-stripe==2.11.0", "Django==5.2.19", "gunicorn==27.0.1", "psycopg[binary]==3.3.9"]
DATABASE = "bench_djstripe"
API_KEY = "sk_test_benchdjstripe0000000000000000"
ACCOUNT = "acct_bench_djstripe"
HELLO = "/hello/"
# The endpoint's signature tolerance (dj-stripe's per-endpoint setting; Stripe's default is 300 s):
# the events are signed when a round starts, and on a loaded machine a round can outlast 300 s.
TOLERANCE = 3600

SETTINGS = '''"""Settings of the Django project bench/peer_djstripe.py writes for dj-stripe 2.11.0."""
SECRET_KEY = "bench-" + "x" * 44
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
ROOT_URLCONF = "peer_urls"
WSGI_APPLICATION = "peer_wsgi.application"
USE_TZ = True
INSTALLED_APPS = ["django.contrib.auth", "django.contrib.contenttypes", "django.contrib.sessions",
                  "django.contrib.messages", "djstripe"]
MIDDLEWARE = [  # what `django-admin startproject` writes
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]
DATABASES = {{"default": {{"ENGINE": "django.db.backends.postgresql", "NAME": {database!r}, "USER": {user!r},
                           "HOST": {host!r}, "PORT": {port!r}, "CONN_MAX_AGE": None}}}}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
STRIPE_LIVE_MODE = False
STRIPE_TEST_SECRET_KEY = {api_key!r}
STRIPE_API_HOST = {sandbox!r}
DJSTRIPE_FOREIGN_KEY_TO_FIELD = "id"
LOGGING = {{"version": 1, "disable_existing_loggers": False,
           "handlers": {{"console": {{"class": "logging.StreamHandler"}}}},
           "root": {{"handlers": ["console"], "level": "WARNING"}}}}
'''

URLS = '''from django.http import HttpResponse
from django.urls import include, path


def hello(request):
    return HttpResponse("Hello, World!")


urlpatterns = [path("hello/", hello), path("stripe/", include("djstripe.urls", namespace="djstripe"))]
'''

# Django's hello world, as bench/hello.py is Flask's: no app, no middleware, no database.
HELLO_SETTINGS = '''"""Django's hello world for bench/peer_djstripe.py: no app, no middleware, no database."""
SECRET_KEY = "bench-" + "x" * 44
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
ROOT_URLCONF = "peer_urls_hello"
USE_TZ = True
INSTALLED_APPS = []
MIDDLEWARE = []
'''

HELLO_URLS = '''from django.http import HttpResponse
from django.urls import path


def hello(request):
    return HttpResponse("Hello, World!")


urlpatterns = [path("hello/", hello)]
'''

WSGI = '''from django.core.wsgi import get_wsgi_application

application = get_wsgi_application()
'''

# Run in the peer's virtualenv: what dj-stripe would know of the members before their events.
SEED = '''import json
import sys
from concurrent.futures import ThreadPoolExecutor

import django

django.setup()

import stripe  # noqa: E402
from django.contrib.auth.models import User  # noqa: E402
from django.db import connection  # noqa: E402

from djstripe.enums import APIKeyType  # noqa: E402
from djstripe.models import Account, APIKey, Customer, Price, WebhookEndpoint  # noqa: E402
from djstripe.settings import djstripe_settings  # noqa: E402

job = json.load(open(sys.argv[1]))
key, version = job["api_key"], djstripe_settings.STRIPE_API_VERSION
account = Account.objects.create(id=job["account"], livemode=False, stripe_data={"id": job["account"], "object": "account"})
APIKey.objects.create(secret=key, type=APIKeyType.secret, livemode=False, djstripe_owner_account=account)
endpoint = WebhookEndpoint.objects.create(
    id="we_bench_djstripe", livemode=False, api_version=version, enabled_events=["*"], secret=job["secret"],
    status="enabled", url="http://127.0.0.1/stripe/webhook/", djstripe_owner_account=account,
    djstripe_tolerance=job["tolerance"])
first = stripe.Subscription.retrieve(job["subs"][0]["subscription"], api_key=key, stripe_version=version)
Price.sync_from_stripe_data(stripe.Price.retrieve(first["items"]["data"][0]["price"]["id"], api_key=key,
                                                  stripe_version=version), api_key=key)
users = User.objects.bulk_create([User(username=f"bench{n}", email=f"bench{n}@example.org")
                                  for n in range(len(job["subs"]))])


def sync(pair):
    user, sub = pair
    try:
        Customer.sync_from_stripe_data(stripe.Customer.retrieve(sub["customer"], api_key=key, stripe_version=version),
                                       api_key=key)
        Customer.objects.filter(id=sub["customer"]).update(subscriber=user)
    finally:
        connection.close()


with ThreadPoolExecutor(4) as pool:
    list(pool.map(sync, zip(users, job["subs"])))
print(json.dumps({"uuid": str(endpoint.djstripe_uuid), "customers": Customer.objects.count()}))
'''


def python() -> Path:
    return VENV / "bin" / "python"


def ensure_venv() -> None:
    """The peer's virtualenv with PEER_PACKAGES, made once (pip runs here only, never while measuring)."""
    want = {spec.split("==")[0].split("[")[0].lower(): spec.split("==")[1] for spec in PEER_PACKAGES}
    if python().exists():
        listed = subprocess.run([str(python()), "-m", "pip", "list", "--format", "json"], capture_output=True,
                                text=True, check=True).stdout
        have = {row["name"].lower(): row["version"] for row in json.loads(listed)}
        if all(have.get(name) == version for name, version in want.items()):
            return
    print(f"installing {', '.join(PEER_PACKAGES)} into {VENV}", flush=True)
    VENV.parent.mkdir(parents=True, exist_ok=True)
    if not python().exists():
        subprocess.run([getattr(sys, "_base_executable", sys.executable), "-m", "venv", str(VENV)], check=True)
    subprocess.run([str(python()), "-m", "pip", "install", "--quiet", *PEER_PACKAGES], check=True)


def peer_env(project: Path, settings: str = "peer_settings") -> dict[str, str]:
    return {"DJANGO_SETTINGS_MODULE": settings, "PYTHONPATH": str(project), "PYTHONDONTWRITEBYTECODE": "1"}


def write_project(project: Path, sandbox: str) -> None:
    admin = psycopg.conninfo.conninfo_to_dict(ADMIN_URL)
    (project / "peer_settings.py").write_text(SETTINGS.format(
        database=DATABASE, user=admin.get("user", "postgres"), host=admin.get("host", "127.0.0.1"),
        port=str(admin.get("port", "5432")), api_key=API_KEY, sandbox=sandbox))
    (project / "peer_urls.py").write_text(URLS)
    (project / "peer_settings_hello.py").write_text(HELLO_SETTINGS)
    (project / "peer_urls_hello.py").write_text(HELLO_URLS)
    (project / "peer_wsgi.py").write_text(WSGI)
    (project / "peer_seed.py").write_text(SEED)


def seed_sandbox(sandbox: str, count_: int) -> list[Sub]:
    """Members' subscriptions on the sandbox: a customer each, a Checkout Session for $5/month, paid."""
    auth = {"Authorization": f"Bearer {API_KEY}"}

    def post(path: str, data: dict[str, Any]) -> dict[str, Any]:
        response = requests.post(f"{sandbox}/v1{path}", data=data, headers=auth, timeout=30)
        response.raise_for_status()
        return response.json()

    product = post("/products", {"name": "Membership: Monthly"})
    price = post("/prices", {"product": product["id"], "unit_amount": 500, "currency": "usd",
                             "recurring[interval]": "month"})

    def pay(n: int) -> Sub:
        email = f"bench{n}@example.org"
        customer = post("/customers", {"email": email, "name": f"Bench {n}", "metadata[member_id]": str(n)})
        session = post("/checkout/sessions", {
            "mode": "subscription", "customer": customer["id"], "line_items[0][price]": price["id"],
            "line_items[0][quantity]": 1, "subscription_data[metadata][member_id]": str(n),
            "success_url": "http://127.0.0.1/success?session_id={CHECKOUT_SESSION_ID}"})
        requests.post(session["url"], data={"card_number": "4242424242424242", "email": email},
                      allow_redirects=False, timeout=30).raise_for_status()
        paid = requests.get(f"{sandbox}/v1/checkout/sessions/{session['id']}", headers=auth, timeout=30).json()
        return Sub(paid["subscription"], customer["id"], n)

    with ThreadPoolExecutor(4) as pool:
        return list(pool.map(pay, range(count_)))


def gunicorn(project: Path, port: int, log: Path, settings: str = "peer_settings") -> subprocess.Popen:
    """The Django project (or, with settings="peer_settings_hello", Django's hello world) under
    bench/webhooks.py's gunicorn settings."""
    args = [str(VENV / "bin" / "gunicorn"), "-w", "2", "-k", "gthread", "--threads", "4", "-b", f"127.0.0.1:{port}",
            "--keep-alive", "30", "peer_wsgi:application"]
    proc = start(args, peer_env(project, settings), log)
    wait_until_up(f"http://127.0.0.1:{port}{HELLO}")
    return proc


def check_round(url: str, tag: str, subs: list[Sub], since: float) -> tuple[bool, str]:
    """Every event of the round stored and processed once, without error; every subscription's row
    (and its item) written by this round."""
    ids = [sub.subscription_id for sub in subs]
    with psycopg.connect(url.replace("+psycopg", ""), autocommit=True) as conn:
        events = conn.execute("SELECT count(*) FROM djstripe_event WHERE id LIKE %s", (f"evt_bench_{tag}_%",)).fetchone()[0]
        triggers = dict(conn.execute(
            "SELECT (valid AND processed AND exception = '')::text, count(*) FROM djstripe_webhookeventtrigger "
            "WHERE event_id LIKE %s OR body LIKE %s GROUP BY 1", (f"evt_bench_{tag}_%", f'%"evt_bench_{tag}_%')).fetchall())
        written = conn.execute(
            "SELECT count(*) FROM djstripe_subscription WHERE id = ANY(%s) AND djstripe_updated >= to_timestamp(%s) "
            "AND stripe_data->>'status' = 'active'", (ids, since)).fetchone()[0]
        items = conn.execute(
            "SELECT count(*) FROM djstripe_subscriptionitem WHERE subscription_id = ANY(%s) "
            "AND djstripe_updated >= to_timestamp(%s)", (ids, since)).fetchone()[0]
    ok = events == len(subs) and triggers == {"true": len(subs)} and written == len(subs) and items == len(subs)
    return ok, (f"{events:,} events stored, triggers valid and processed {triggers.get('true', 0):,} "
                f"(others {sum(v for k, v in triggers.items() if k != 'true')}), subscriptions written "
                f"{written:,}, items written {items:,} of {len(subs):,}")


def baseline(project: Path, settings: str, args: argparse.Namespace) -> dict[str, Any]:
    port = free_port()
    return measure_then_stop(gunicorn(project, port, OUT / f"djstripe-{settings}.log", settings),
                             f"http://127.0.0.1:{port}{HELLO}", args)


def post_round(project: Path, url: str, subs: list[Sub], tag: str, webhook: str, sandbox_pid: int, sandbox_log: Path,
               args: argparse.Namespace) -> tuple[float, dict[str, Any], dict[str, float], int, int]:
    """One event per subscription, each posted once, until dj-stripe has stored them all: events/s,
    wrk's figures, CPU by process group, transactions and Stripe calls."""
    created = int(time.time())
    events = [event_for(sub, tag, n, created) for n, sub in enumerate(subs)]
    port = free_port()
    web = gunicorn(project, port, OUT / f"djstripe-{tag}.log")
    try:
        wrk(f"http://127.0.0.1:{port}{HELLO}", args.connections, 1)  # warm up both processes
        meter = Meter(DATABASE, {"web": lambda: with_children(web.pid), "sandbox": lambda: with_children(sandbox_pid)})
        before, xacts, polls, calls = meter.read(), transactions(DATABASE), POLLS[0], stripe_calls(sandbox_log)

        def done() -> bool:
            return count(url, "SELECT count(*) FROM djstripe_event WHERE id LIKE %s", f"evt_bench_{tag}_%") >= len(events)

        result = wrk(f"http://127.0.0.1:{port}/", args.connections, max(600, len(events) // 2),
                     signed_file(events, OUT / f"{tag}.events"), until=done, path=webhook, idle=HELLO)
        if not done():
            raise RuntimeError(f"{tag}: wrk ended before dj-stripe stored every event (see {OUT}/djstripe-{tag}.log)")
        cpu = Meter.spent(before, meter.read())
        calls = stripe_calls(sandbox_log) - calls
    finally:
        web.terminate()
        web.wait()
    spent = transactions_since(DATABASE, xacts, polls)
    return len(events) / result["elapsed"], result, cpu, spent, calls


def run(sandbox: str, sandbox_pid: int, sandbox_log: Path, subs: list[Sub],
        args: argparse.Namespace) -> tuple[list[str], dict[str, float]]:
    """dj-stripe's hello world, its two rounds and its hello world again; the result lines and the
    ratios by round ('djactivate', 'djupdate': events/s over the mean of the two hello worlds,
    'hello': that mean in requests/s)."""
    ensure_venv()
    lines: list[str] = []
    ratios: dict[str, float] = {}

    def say(line: str) -> None:
        print(line, flush=True)
        lines.append(line)

    with tempfile.TemporaryDirectory(prefix="peer_djstripe_") as folder, scratch_database(DATABASE) as url:
        project = Path(folder)
        write_project(project, sandbox)
        env = peer_env(project)
        migrate = subprocess.run([str(python()), "-m", "django", "migrate", "--noinput", "-v", "0"],
                                 env={**os.environ, **env}, cwd=project, capture_output=True, text=True)
        if migrate.returncode:
            raise RuntimeError(f"dj-stripe's migrations failed:\n{migrate.stdout}{migrate.stderr}")
        job = project / "seed.json"
        job.write_text(json.dumps({"api_key": API_KEY, "account": ACCOUNT, "secret": SECRET, "tolerance": TOLERANCE,
                                   "subs": [{"subscription": s.subscription_id, "customer": s.customer_id} for s in subs]}))
        started = time.perf_counter()
        seeded = subprocess.run([str(python()), "peer_seed.py", str(job)], env={**os.environ, **env}, cwd=project,
                                capture_output=True, text=True)
        if seeded.returncode:
            raise RuntimeError(f"seeding dj-stripe failed:\n{seeded.stdout}{seeded.stderr}")
        endpoint = json.loads(seeded.stdout.strip().splitlines()[-1])
        print(f"dj-stripe: seeded {endpoint['customers']} customers in {time.perf_counter() - started:.0f} s", flush=True)
        webhook = f"/stripe/webhook/{endpoint['uuid']}/"

        hello = {settings: baseline(project, settings, args) for settings in ("peer_settings_hello", "peer_settings")}
        before, inside = (hello[settings]["requests"] / hello[settings]["elapsed"]
                          for settings in ("peer_settings_hello", "peer_settings"))
        say(f"{versions()}: Django hello world (no app, no middleware, as bench/hello.py is for Flask): {before:,.0f} "
            f"requests/s ({latency(hello['peer_settings_hello'])}); the same view inside the dj-stripe project "
            f"(startproject's middleware): {inside:,.0f} requests/s ({latency(hello['peer_settings'])})")

        rates: dict[str, float] = {}
        for tag, what in (("djactivate", "first event of each subscription (creates its Subscription and item rows)"),
                          ("djupdate", "second event (updates them)")):
            since = time.time() - 1
            rates[tag], result, cpu, spent, calls = post_round(project, url, subs, tag, webhook, sandbox_pid, sandbox_log, args)
            ok, checked = check_round(url, tag, subs, since)
            say(f"dj-stripe, applied in the request, {what}, {len(subs):,} subscriptions: {rates[tag]:,.0f} events/s = "
                f"{rates[tag] / before:.2%} of Django's hello ({rates[tag] / inside:.2%} of the project's; {latency(result)}; "
                f"non-2xx {result['non_2xx']}, socket errors {result['socket_errors']}); per event: "
                f"{per_event(cpu, len(subs), 'web', 'postgres', 'sandbox')} CPU, "
                f"{spent / len(subs):.2f} transactions, {calls / len(subs):.2f} Stripe calls")
            say(f"  check: {checked}: {'OK' if ok and not result['non_2xx'] else 'FAILED'}")

        again = baseline(project, "peer_settings_hello", args)
        after = again["requests"] / again["elapsed"]
        base = (before + after) / 2
        ratios.update(hello=base, **{tag: rate / base for tag, rate in rates.items()})
        say(f"Django hello world again, after the rounds: {after:,.0f} requests/s; against the mean of the two "
            f"({base:,.0f}): first event {ratios['djactivate']:.2%}, second event {ratios['djupdate']:.2%}")
    return lines, ratios


def versions() -> str:
    """dj-stripe's, Django's and the stripe SDK's versions in the peer's virtualenv."""
    code = "from importlib.metadata import version; print(*(version(p) for p in ('dj-stripe', 'Django', 'stripe')))"
    djstripe, django, sdk = subprocess.run([str(python()), "-c", code], capture_output=True, text=True,
                                           check=True).stdout.split()
    return f"dj-stripe {djstripe} (Django {django}, stripe {sdk})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--members", type=int, default=2000, help="subscriptions, one event each per round")
    parser.add_argument("--connections", type=int, default=16, help="wrk connections")
    parser.add_argument("--duration", type=int, default=10, help="seconds for the hello world baseline")
    args = parser.parse_args()
    OUT.mkdir(exist_ok=True)
    ensure_venv()
    port = free_port()
    sandbox_url = f"http://127.0.0.1:{port}"
    log = OUT / "djstripe-sandbox.log"
    sandbox = start([sys.executable, "-m", "stripe_sandbox", "--port", str(port)], {}, log)
    try:
        wait_until_up(f"{sandbox_url}/sandbox/clock")
        started = time.perf_counter()
        subs = seed_sandbox(sandbox_url, args.members)
        print(f"seeded {len(subs)} subscriptions on the sandbox in {time.perf_counter() - started:.0f} s", flush=True)
        lines, _ = run(sandbox_url, sandbox.pid, log, subs, args)
    finally:
        sandbox.terminate()
        sandbox.wait(timeout=20)
    command = "python bench/peer_djstripe.py " + " ".join(sys.argv[1:])
    append_results("dj-stripe 2.11.0 on the same work (bench/peer_djstripe.py: wrk, gunicorn -w 2, PostgreSQL, sandbox)",
                   command.strip(), lines)
    if any(line.endswith("FAILED") for line in lines):
        raise SystemExit(1)


if __name__ == "__main__":
    main()

"""`python -m stripe_sandbox`: run the sandbox alone, or advance a running one's clock."""
import argparse
import json
import os
import sys
import urllib.request

from .config import from_env

DESCRIPTION = """\
A local, stateful stand-in for Stripe's API (the parts a subscription service
uses). Point the official SDK at it:
  stripe.StripeClient("sk_test_anything", base_addresses={"api": "http://127.0.0.1:12111"})
Hosted pages: /checkout/<id> (3-D Secure step: /checkout/<id>/authenticate),
/portal/<id>, /invoices/<id>. Sandbox controls:
/sandbox/clock, /sandbox/clock/advance, /sandbox/test_clocks/advance,
/sandbox/webhooks/config, /sandbox/webhooks/deliveries. Settings also come from SANDBOX_* variables.
"""

ADVANCE_DESCRIPTION = """\
Advance sandbox time and run the renewals, retries and expiries that fall due.
Moves the global clock AND every test clock (/v1/test_helpers/test_clocks) by
the same amount, so customers on test clocks move too (each clock's customers
are processed at that clock's time).
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m stripe_sandbox", description=DESCRIPTION,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default="127.0.0.1", help="bind address; loopback only (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=12111, help="port (default 12111)")
    parser.add_argument("--db", help="SQLite file that keeps state across restarts (default: in memory)")
    parser.add_argument("--webhook-url", help="deliver every event to this URL, e.g. http://127.0.0.1:5000/webhooks/stripe")
    parser.add_argument("--webhook-secret", help="whsec_... secret to sign deliveries with")
    sub = parser.add_subparsers(dest="command")
    advance = sub.add_parser("advance", help="advance the global clock and every test clock of a running sandbox",
                             description=ADVANCE_DESCRIPTION)
    advance.add_argument("--days", type=float, default=0, help="days to advance")
    advance.add_argument("--seconds", type=float, default=0, help="seconds to advance")
    advance.add_argument("--url", default="http://127.0.0.1:12111",
                         help="the sandbox's base URL, e.g. http://127.0.0.1:5000/_sandbox")
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "advance":
        return advance(args)
    return serve(args)


def advance(args) -> int:
    """The global clock first, then every test clock by the same amount."""
    amount = {"days": args.days, "seconds": args.seconds}
    result = _post(args.url, "/sandbox/clock/advance", amount)
    _print_tasks(result["processed"])
    print(f"sandbox time is now {result['now']} (offset {result['offset']} s)")
    for moved in _post(args.url, "/sandbox/test_clocks/advance", amount)["test_clocks"]:
        _print_tasks(moved["processed"])
        print(f"test clock {moved['id']} is now at {moved['frozen_time']}")
    return 0


def _post(url: str, path: str, body: dict) -> dict:
    request = urllib.request.Request(url.rstrip("/") + path, data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"}, method="POST")
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.load(response)


def _print_tasks(tasks) -> None:
    for task in tasks:
        print(f"{task['at']}  {task['task']:<16} {task['id']}")


def serve(args) -> int:
    from . import create_app
    from .server import build_server

    config = from_env(os.environ)
    overrides = {"SANDBOX_DB": args.db, "SANDBOX_WEBHOOK_URL": args.webhook_url,
                 "SANDBOX_WEBHOOK_SECRET": args.webhook_secret}
    config.update({k: v for k, v in overrides.items() if v})
    try:
        server = build_server(create_app(config), args.host, args.port)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"Stripe sandbox on http://{args.host}:{server.server_port} (Ctrl-C to stop)")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0

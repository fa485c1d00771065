"""The sandbox on a real HTTP server (`start_sandbox`), a small webhook receiver that records
what it is sent, and paying on the hosted checkout page like a browser. Fixtures are built on
these in tests/sandbox/conftest.py (the sandbox's own tests) and tests/conftest.py (the service's
`sandbox` and `sandbox_app`)."""
import http.server
import json
import threading

import requests

import stripe_sandbox
from stripe_sandbox.server import build_server

WEBHOOK_SECRET = "whsec_test_sandbox_secret"


class Receiver:
    """A stdlib HTTP endpoint that records webhook deliveries (and can fail on purpose)."""

    def __init__(self):
        self.received: list[dict] = []
        self.fail_next = 0  # answer 500 to this many deliveries first
        self.cond = threading.Condition()
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"])).decode()
                with receiver.cond:
                    failing = receiver.fail_next > 0
                    receiver.fail_next -= 1 if failing else 0
                    receiver.received.append({"body": body, "headers": dict(self.headers), "path": self.path,
                                              "status": 500 if failing else 200})
                    receiver.cond.notify_all()
                self.send_response(500 if failing else 200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/webhooks/stripe"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def ok_events(self) -> list[dict]:
        with self.cond:
            return [json.loads(r["body"]) for r in self.received if r["status"] == 200]

    def wait_for(self, predicate, timeout=5.0) -> bool:
        with self.cond:
            return self.cond.wait_for(lambda: predicate(self), timeout)

    def close(self):
        self.server.shutdown()
        self.server.server_close()


class Sandbox:
    """A running sandbox: its app, base URL, and helpers for the sandbox-only endpoints."""

    def __init__(self, app, server):
        self.app, self.server = app, server
        self.url = f"http://127.0.0.1:{server.server_port}"
        self.http = requests.Session()

    def advance(self, days=0, seconds=0) -> dict:
        response = self.http.post(f"{self.url}/sandbox/clock/advance", data={"days": days, "seconds": seconds})
        response.raise_for_status()
        return response.json()

    def now(self) -> int:
        return self.http.get(f"{self.url}/sandbox/clock").json()["now"]

    def webhook_config(self, **switches) -> dict:
        data = {k: str(v).lower() for k, v in switches.items()}
        return self.http.post(f"{self.url}/sandbox/webhooks/config", data=data).json()

    def deliveries(self) -> dict:
        return self.http.get(f"{self.url}/sandbox/webhooks/deliveries").json()

    def close(self):
        self.http.close()
        self.server.shutdown()
        self.server.server_close()
        stripe_sandbox.sandbox_of(self.app).close()


def start_sandbox(**config) -> Sandbox:
    settings = {"SANDBOX_DELIVER_WEBHOOKS": False, "SANDBOX_WEBHOOK_BACKOFF": 0.01,
                "SANDBOX_WEBHOOK_BACKOFF_CAP": 0.05, "SANDBOX_WEBHOOK_MAX_ATTEMPTS": 4,
                "SANDBOX_WEBHOOK_TIMEOUT": 2.0} | config
    app = stripe_sandbox.create_app(settings)
    server = build_server(app, "127.0.0.1", 0, quiet=True)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    return Sandbox(app, server)


def pay(sandbox, session_url: str, card="4242 4242 4242 4242", email="reader@example.org"):
    """Submit the hosted checkout form like a browser (no redirect following)."""
    return sandbox.http.post(session_url, data={"email": email, "card_number": card,
                                                "expiry": "12 / 34", "cvc": "123"},
                             allow_redirects=False)

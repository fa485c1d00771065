"""Webhook delivery, signed and retried as Stripe does.

Each event is queued (table `outbox`) once per matching endpoint in the
transaction that created it. A daemon thread, or `deliver_pending(app)` in
tests, posts due rows in creation order, outside the store lock (the receiver
usually calls back into the sandbox). Failures are retried with exponential
backoff up to SANDBOX_WEBHOOK_MAX_ATTEMPTS, and every attempt is logged.
"""
import hashlib
import hmac
import http.client
import json
import logging
import random
import threading
import time
from urllib.parse import urlsplit

from .config import signing_secret
from .ids import new_id

IMPLICIT_ENDPOINT = "we_sandbox_configured"
SWITCHES = ("duplicates", "shuffle", "paused")
log = logging.getLogger(__name__)
USER_AGENT = "Stripe/1.0 (+https://stripe.com/docs/webhooks)"


def sign(payload: str, secret: str, timestamp: int | None = None) -> str:
    """The Stripe-Signature header value for `payload`, timestamped in real time.

    Real time, not sandbox time: receivers reject signatures more than 300 s
    away from their own clock, and the sandbox clock may be weeks ahead.
    """
    t = int(time.time()) if timestamp is None else timestamp
    mac = hmac.new(secret.encode(), f"{t}.{payload}".encode(), hashlib.sha256).hexdigest()
    return f"t={t},v1={mac}"


class Dispatcher:
    """Queues events for endpoints and delivers them."""

    def __init__(self, store, config):
        self.store, self.config = store, config
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._sending = threading.Lock()
        self._thread = None

    # Endpoints and switches ----------------------------------------------

    def switches(self) -> dict:
        return {k: False for k in SWITCHES} | self.store.get_value("webhook_switches", {})

    def set_switches(self, **values) -> dict:
        current = self.switches() | {k: bool(v) for k, v in values.items() if k in SWITCHES}
        self.store.set_value("webhook_switches", current)
        self._wake.set()
        return current

    def implicit_secret(self) -> str:
        """The configured secret, or one generated once and kept in the store."""
        secret = signing_secret(self.config.get("SANDBOX_WEBHOOK_SECRET"))
        if secret:
            return secret
        secret = self.store.get_value("implicit_webhook_secret")
        if secret is None:
            secret = new_id("whsec_")
            self.store.set_value("implicit_webhook_secret", secret)
        return secret

    def endpoints(self) -> list[dict]:
        """Enabled endpoints as dicts with id, url, secret, enabled_events."""
        found = []
        if self.config.get("SANDBOX_WEBHOOK_URL"):
            found.append({"id": IMPLICIT_ENDPOINT, "url": self.config["SANDBOX_WEBHOOK_URL"],
                          "secret": self.implicit_secret(), "enabled_events": ["*"]})
        for endpoint in reversed(self.store.all("webhook_endpoint")):
            if endpoint["status"] == "enabled":
                found.append({"id": endpoint["id"], "url": endpoint["url"],
                              "secret": endpoint["_secret"],
                              "enabled_events": endpoint["enabled_events"]})
        return found

    # Queueing --------------------------------------------------------------

    def enqueue(self, event: dict, endpoint_id: str | None = None) -> int:
        """Queue `event` for every matching endpoint; returns how many endpoints."""
        copies = 2 if self.switches()["duplicates"] else 1
        targets = [e for e in self.endpoints()
                   if (endpoint_id is None or e["id"] == endpoint_id)
                   and ("*" in e["enabled_events"] or event["type"] in e["enabled_events"])]
        for endpoint in targets:
            for _ in range(copies):
                self.store.execute("INSERT INTO outbox (event_id, endpoint_id, next_at) VALUES (?, ?, ?)",
                                   (event["id"], endpoint["id"], time.time()))
        if targets:
            self._wake.set()
        return len(targets)

    # Delivery ----------------------------------------------------------------

    def deliver_due(self, force: bool = False) -> int:
        """Attempt every queued delivery that is due; returns the number of attempts.

        Paused deliveries stay queued unless `force`.
        """
        with self._sending:
            with self.store.transaction():
                switches = self.switches()
                if switches["paused"] and not force:
                    return 0
                rows = self.store.execute(
                    "SELECT id, event_id, endpoint_id, attempt FROM outbox "
                    "WHERE state = 'pending' AND next_at <= ? ORDER BY id", (time.time(),)).fetchall()
                endpoints = {e["id"]: e for e in self.endpoints()}
            if switches["shuffle"]:
                random.shuffle(rows)
            for row in rows:
                self._attempt(row, endpoints.get(row[2]))
            return len(rows)

    def _attempt(self, row, endpoint) -> None:
        outbox_id, event_id, endpoint_id, attempt = row
        attempt += 1
        if endpoint is None:  # endpoint deleted or disabled since queueing
            self.store.execute("UPDATE outbox SET state = 'dropped' WHERE id = ?", (outbox_id,))
            return
        with self.store.transaction():
            event = self.store.get(event_id, "event")
        status, error = self._post(endpoint, json.dumps(event, indent=2))
        with self.store.transaction():
            self.store.execute(
                "INSERT INTO deliveries (event_id, endpoint_id, url, attempt, status, error, at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (event_id, endpoint_id, endpoint["url"], attempt, status, error, time.time()))
            self._reschedule(outbox_id, attempt, status is not None and 200 <= status < 300)

    def _reschedule(self, outbox_id: int, attempt: int, ok: bool) -> None:
        if ok:
            state, next_at = "delivered", time.time()
        elif attempt >= int(self.config["SANDBOX_WEBHOOK_MAX_ATTEMPTS"]):
            state, next_at = "failed", time.time()
        else:
            delay = float(self.config["SANDBOX_WEBHOOK_BACKOFF"]) * 2 ** (attempt - 1)
            state = "pending"
            next_at = time.time() + min(delay, float(self.config["SANDBOX_WEBHOOK_BACKOFF_CAP"]))
        self.store.execute("UPDATE outbox SET attempt = ?, state = ?, next_at = ? WHERE id = ?",
                           (attempt, state, next_at, outbox_id))

    def _post(self, endpoint: dict, body: str):
        """POST one signed event; returns (status or None, error text or None)."""
        url = urlsplit(endpoint["url"])
        conn_class = http.client.HTTPSConnection if url.scheme == "https" else http.client.HTTPConnection
        conn = conn_class(url.netloc, timeout=float(self.config["SANDBOX_WEBHOOK_TIMEOUT"]))
        path = (url.path or "/") + (f"?{url.query}" if url.query else "")
        headers = {"Content-Type": "application/json; charset=utf-8", "User-Agent": USER_AGENT,
                   "Stripe-Signature": sign(body, endpoint["secret"]), "Connection": "close"}
        try:
            conn.request("POST", path, body=body.encode(), headers=headers)
            response = conn.getresponse()
            response.read()
            return response.status, None
        except (OSError, http.client.HTTPException) as exc:
            return None, f"{type(exc).__name__}: {exc}"
        finally:
            conn.close()

    # Background thread ---------------------------------------------------------

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="sandbox-webhooks", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(timeout=0.1)
            self._wake.clear()
            if self._stop.is_set():
                return
            try:
                self.deliver_due()
            except Exception:  # a broken row must not kill delivery for the rest
                log.exception("sandbox.webhooks.delivery_error")
                time.sleep(0.1)

    def log(self, limit: int = 1000) -> list[dict]:
        rows = self.store.execute(
            "SELECT event_id, endpoint_id, url, attempt, status, error, at FROM deliveries "
            "ORDER BY id DESC LIMIT ?", (limit,)).fetchall()
        keys = ("event_id", "endpoint", "url", "attempt", "status", "error", "time")
        return [dict(zip(keys, row, strict=True)) for row in rows]

    def pending_count(self) -> int:
        return self.store.execute("SELECT COUNT(*) FROM outbox WHERE state = 'pending'").fetchone()[0]

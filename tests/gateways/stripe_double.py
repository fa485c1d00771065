"""A local Stripe double on a real HTTP server (127.0.0.1, a thread of its own) for the gateway's
rate-limit tests: it answers 429 with `Retry-After` (https://docs.stripe.com/rate-limits) to the
requests `limit` picks, and everything else either from `answers` (a path's canned JSON) or by
passing the request on to `upstream` (the sandbox), and logs every request it saw."""
from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import requests


@dataclass
class Seen:
    at: float  # time.monotonic() when the request arrived
    method: str
    path: str
    status: int
    idempotency_key: str | None


@dataclass
class StripeDouble:
    upstream: str | None = None
    answers: dict[str, dict[str, Any]] = field(default_factory=dict)
    limit: Callable[[str, str], bool] = lambda method, path: False  # True: answer this request 429
    retry_after: str | None = "1"
    should_retry: str | None = None  # a Stripe-Should-Retry header on 429s, when set
    seen: list[Seen] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._http = requests.Session()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self._http.close()

    def statuses(self, method: str | None = None) -> list[int]:
        return [s.status for s in self.seen if method is None or s.method == method]

    def answer(self, method: str, path: str, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, str], bytes]:
        if self.limit(method, path):
            extra = {"Retry-After": self.retry_after} if self.retry_after is not None else {}
            if self.should_retry is not None:
                extra["Stripe-Should-Retry"] = self.should_retry
            error = {"error": {"type": "invalid_request_error", "code": "rate_limit",
                               "message": "Too many requests hit the API too quickly."}}
            return 429, extra, json.dumps(error).encode()
        bare = path.split("?", 1)[0]
        if bare in self.answers:
            return 200, {}, json.dumps(self.answers[bare]).encode()
        if self.upstream is None:
            return 404, {}, json.dumps({"error": {"type": "invalid_request_error", "code": "resource_missing",
                                                  "message": f"No such path: {bare}"}}).encode()
        passed = {k: v for k, v in headers.items() if k.lower() not in ("host", "content-length", "connection")}
        response = self._http.request(method, self.upstream + path, headers=passed, data=body or None, timeout=10)
        return response.status_code, {}, response.content

    def record(self, seen: Seen) -> None:
        with self._lock:
            self.seen.append(seen)


def _handler(double: StripeDouble) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _serve(self) -> None:
            arrived = time.monotonic()
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            status, extra, payload = double.answer(self.command, self.path, dict(self.headers.items()), body)
            double.record(Seen(arrived, self.command, self.path, status, self.headers.get("Idempotency-Key")))
            self.send_response(status)
            for name, value in {"Content-Type": "application/json", "Content-Length": str(len(payload)),
                                "Request-Id": f"req_double_{len(double.seen)}", **extra}.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = do_DELETE = _serve

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - BaseHTTPRequestHandler's name
            pass

    return Handler

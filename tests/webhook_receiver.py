"""A receiver of outgoing webhooks: a real HTTP server on 127.0.0.1 in a thread, which checks each
request's signature with the recipe in docs/outgoing-webhooks.md and nothing else (the code block
is read from the file and run as it is), and answers from a queue of statuses (200 when empty)."""
from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

DOCS = Path(__file__).resolve().parent.parent / "docs" / "outgoing-webhooks.md"


def documented_verify() -> Callable[[bytes, str, str], bool]:
    """The `verify` function exactly as the docs show it."""
    [code] = re.findall(r"```python\n(.*?)```", DOCS.read_text(), flags=re.DOTALL)
    namespace: dict[str, Any] = {}
    exec(compile(code, str(DOCS), "exec"), namespace)  # noqa: S102 - the documented recipe, run as written
    return namespace["verify"]


@dataclass
class Received:
    path: str
    body: bytes
    signature: str
    verified: bool
    status: int

    @property
    def event(self) -> dict[str, Any]:
        return json.loads(self.body)


class Receiver:
    def __init__(self, secret: str = "") -> None:
        self.secret = secret
        self.verify = documented_verify()
        self.received: list[Received] = []
        self.answers: list[int] = []
        self.delay = 0.0
        self.reply: bytes | None = None  # the body of every answer, instead of the default
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                signature = self.headers.get("Membership-Signature", "")
                status = outer.answers.pop(0) if outer.answers else 200
                outer.received.append(Received(self.path, body, signature, outer.verify(body, signature, outer.secret),
                                               status))
                time.sleep(outer.delay)
                payload = outer.reply if outer.reply is not None else b'{"received": true}' if status < 300 else b"not now"
                try:
                    self.send_response(status)
                    if 300 <= status < 400:
                        self.send_header("Location", f"http://127.0.0.1:{outer.port}/elsewhere")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the sender gave up waiting (the timeout test)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def port(self) -> int:
        return self.server.server_address[1]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks/membership"

    def events(self, *, verified: bool = True) -> list[dict[str, Any]]:
        """The events of the requests answered 2xx (and verified)."""
        return [r.event for r in self.received if r.status < 300 and (r.verified or not verified)]

    def reset(self, secret: str = "") -> None:
        self.secret, self.received, self.answers, self.delay, self.reply = secret, [], [], 0.0, None

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

"""Running the sandbox as its own HTTP server.

Werkzeug's handler writes headers and body separately; on a kept-alive
connection that meets the client's delayed ACK and stalls each call ~40 ms
(DESIGN.md). TCP_NODELAY on every accepted socket removes the stall.
"""
import socket

from werkzeug.serving import WSGIRequestHandler, make_server

LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")


class NoDelayHandler(WSGIRequestHandler):
    """Request handler that disables Nagle's algorithm on its connection."""

    def setup(self):
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class QuietHandler(NoDelayHandler):
    """No access log (tests)."""

    def log_request(self, *args, **kwargs):
        pass


def build_server(app, host: str = "127.0.0.1", port: int = 12111, quiet: bool = False):
    """A threaded werkzeug server for `app`, refusing anything but loopback hosts."""
    if host not in LOCAL_HOSTS:
        raise ValueError(f"the sandbox binds only to 127.0.0.1, not {host!r}")
    handler = QuietHandler if quiet else NoDelayHandler
    return make_server(host, port, app, threaded=True, request_handler=handler)

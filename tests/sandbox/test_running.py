"""Running the sandbox: mounted under a prefix, persisted in a file, the CLI."""
import subprocess
import sys
import threading

import pytest
import requests
import stripe
from werkzeug.middleware.dispatcher import DispatcherMiddleware
from werkzeug.serving import make_server

import stripe_sandbox
from stripe_sandbox.cli import main
from stripe_sandbox.server import build_server

from .harness import start_sandbox


def test_mounted_under_a_prefix_generates_prefixed_urls():
    from flask import Flask
    sandbox_app = stripe_sandbox.create_app({"SANDBOX_DELIVER_WEBHOOKS": False})
    host = Flask("host")
    host.wsgi_app = DispatcherMiddleware(host.wsgi_app, {"/_sandbox": sandbox_app})
    server = make_server("127.0.0.1", 0, host, threaded=True)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_port}/_sandbox"
    try:
        client = stripe.StripeClient("sk_test_x", base_addresses={"api": base})
        price = client.v1.prices.create(params={"currency": "usd", "unit_amount": 500, "recurring": {
            "interval": "month"}, "product_data": {"name": "Membership"}})
        session = client.v1.checkout.sessions.create(params={
            "mode": "subscription", "line_items": [{"price": price.id}], "success_url": "http://x/ok"})
        assert session.url == f"{base}/checkout/{session.id}"
        with requests.Session() as http:
            page = http.get(session.url)
            assert page.status_code == 200
            assert http.post(session.url, data={"card_number": "4242424242424242", "email": "a@b.org"},
                             allow_redirects=False).status_code == 303
            customer = client.v1.checkout.sessions.retrieve(session.id).customer
            portal = client.v1.billing_portal.sessions.create(params={"customer": customer})
            assert portal.url == f"{base}/portal/{portal.id}"
            assert f'action="/_sandbox/portal/{portal.id}/card"' in http.get(portal.url).text
            assert http.post(f"{base}/sandbox/clock/advance", data={"days": 31}).status_code == 200
        invoice = client.v1.invoices.list().data[0]
        assert invoice.hosted_invoice_url.startswith(f"{base}/invoices/")
    finally:
        server.shutdown()
        server.server_close()
        stripe_sandbox.sandbox_of(sandbox_app).close()


def test_state_survives_a_restart_with_a_file(tmp_path):
    db = str(tmp_path / "sandbox.sqlite3")
    first = start_sandbox(SANDBOX_DB=db)
    client = stripe.StripeClient("sk_test_x", base_addresses={"api": first.url})
    customer = client.v1.customers.create(params={"email": "keep@example.org"})
    first.advance(days=2)
    clock = first.now()
    first.close()
    second = start_sandbox(SANDBOX_DB=db)
    try:
        client = stripe.StripeClient("sk_test_x", base_addresses={"api": second.url})
        assert client.v1.customers.retrieve(customer.id).email == "keep@example.org"
        assert second.now() >= clock
    finally:
        second.close()


def test_cli_advance_posts_to_a_running_sandbox(sandbox, capsys):
    assert main(["advance", "--days", "2", "--url", sandbox.url]) == 0
    assert "offset 172800 s" in capsys.readouterr().out


def test_cli_help_and_refuses_public_hosts():
    result = subprocess.run([sys.executable, "-m", "stripe_sandbox", "--help"],
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 0 and "--webhook-secret" in result.stdout and "advance" in result.stdout
    with pytest.raises(ValueError):
        build_server(stripe_sandbox.create_app({"SANDBOX_DELIVER_WEBHOOKS": False}), "0.0.0.0", 0)


def test_bad_settings_are_refused():
    with pytest.raises(ValueError, match="SANDBOX_DUNNING_FINAL"):
        stripe_sandbox.create_app({"SANDBOX_DUNNING_FINAL": "forgive"})


def test_advance_clock_helper_and_negative_advance(sandbox):
    result = stripe_sandbox.advance_clock(sandbox.app, days=1)
    assert result["offset"] == 86400
    response = sandbox.http.post(f"{sandbox.url}/sandbox/clock/advance", data={"seconds": -5})
    assert response.status_code == 400


def test_every_connection_has_nagle_turned_off(sandbox):
    """Werkzeug writes headers and body separately; without TCP_NODELAY a kept-alive
    client stalls ~40 ms per call on delayed ACKs (DESIGN.md). Timings stay out of
    tests: this checks the socket option the server sets on each connection."""
    import socket
    import threading

    from stripe_sandbox.server import QuietHandler, build_server

    seen = []

    class Probe(QuietHandler):
        def setup(self):
            super().setup()
            seen.append(self.connection.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))

    server = build_server(sandbox.app, "127.0.0.1", 0, quiet=True)
    server.RequestHandlerClass = Probe
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    try:
        with requests.Session() as http:
            for _ in range(3):
                http.get(f"http://127.0.0.1:{server.server_port}/sandbox/clock").raise_for_status()
    finally:
        server.shutdown()
        server.server_close()
    assert seen and all(flag != 0 for flag in seen)

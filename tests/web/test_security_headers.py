"""Security headers and the content security policy on every kind of response."""
from __future__ import annotations

import pytest


@pytest.mark.parametrize("path", ["/", "/healthz", "/api/openapi.json", "/signin", "/staff/login", "/no-such-page"])
def test_every_response_carries_the_security_headers(client, path):
    response = client.get(path)
    headers = response.headers
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
    csp = {d.split()[0]: d.split()[1:] for d in headers["Content-Security-Policy"].split("; ")}
    assert csp["default-src"] == ["'self'"] and csp["object-src"] == ["'none'"]
    assert csp["frame-ancestors"] == ["'none'"]
    # No inline scripts anywhere: the policy would block them.
    assert "script-src" not in csp or "'unsafe-inline'" not in csp["script-src"]
    assert "https://checkout.stripe.com" in csp["form-action"]


def test_html_pages_have_no_inline_scripts_or_styles(client):
    for path in ("/", "/signin", "/staff/login", "/join/cancelled"):
        html = client.get(path).get_data(as_text=True)
        assert "<script>" not in html and " style=" not in html and "<style" not in html, path


def test_hsts_only_over_https(client):
    assert "Strict-Transport-Security" not in client.get("/healthz").headers
    secure = client.get("/healthz", base_url="https://localhost")
    assert "max-age=" in secure.headers["Strict-Transport-Security"]

"""Every form is CSRF-protected: a POST without a token is refused, on every route
but those that authenticate otherwise: Stripe's signed webhooks, the bearer-token API,
and RFC 8058 one-click unsubscribe (a mail client's POST, authorised by its signed link)."""
from __future__ import annotations

from werkzeug.routing import IntegerConverter

from service import create_app
from tests.conftest import config_for_tests


def _exempt(rule: str) -> bool:
    return rule.startswith(("/webhooks/", "/api/")) or rule.endswith("/one-click")


def _post_routes(app):
    urls = app.url_map.bind("localhost")
    for rule in app.url_map.iter_rules():
        if "POST" in rule.methods and not _exempt(rule.rule):
            values = {arg: 1 if isinstance(rule._converters.get(arg), IntegerConverter) else "x"
                      for arg in rule.arguments}
            yield rule.rule, urls.build(rule.endpoint, values)


def test_every_post_route_refuses_a_missing_csrf_token(database_url, db_session):
    app = create_app(config_for_tests(database_url))
    client = app.test_client()
    routes = list(_post_routes(app))
    assert len(routes) > 15, routes  # the join, sign-in, account, newsletter and staff forms
    for rule, url in routes:
        response = client.post(url, data={"email": "a@example.org"})
        assert response.status_code == 400, f"{rule} accepted a POST without a CSRF token ({response.status_code})"
        assert b"CSRF" in response.data, rule
    app.extensions["db_engine"].dispose()


def test_the_exempt_routes_are_exactly_the_expected_ones(database_url):
    app = create_app(config_for_tests(database_url))
    exempt = sorted(r.rule for r in app.url_map.iter_rules() if "POST" in r.methods and _exempt(r.rule))
    assert "/webhooks/stripe" in exempt
    assert [r for r in exempt if not r.startswith(("/webhooks/", "/api/"))] == ["/newsletters/unsubscribe/<token>/one-click"]
    app.extensions["db_engine"].dispose()

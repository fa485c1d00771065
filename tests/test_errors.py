"""Errors answer in the client's language (HTML or JSON), never leak internals, never half-write."""
from __future__ import annotations

import logging

import pytest
from sqlalchemy import select

from service.errors import Conflict
from service.extensions import db
from service.models import Member
from tests.apps import fresh_app

JSON = {"Accept": "application/json"}
BROWSER = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}


def error_of(response) -> dict:
    body = response.get_json()
    assert set(body) == {"error"}
    assert {"code", "message"} <= set(body["error"])
    return body["error"]


def test_a_browser_gets_an_html_error_page(client):
    response = client.get("/no-such-page", headers=BROWSER)
    assert response.status_code == 404
    assert response.mimetype == "text/html"
    assert "We couldn&#39;t find that page" in response.text or "We couldn't find that page" in response.text


def test_a_json_client_gets_a_json_error(client):
    response = client.get("/no-such-page", headers=JSON)
    assert response.status_code == 404
    assert response.mimetype == "application/json"
    assert error_of(response)["code"] == "not_found"


@pytest.mark.parametrize("headers", [BROWSER, JSON, {}])
def test_api_paths_always_answer_json(client, headers):
    response = client.get("/api/v1/no-such-thing", headers=headers)
    assert response.status_code == 404
    assert response.mimetype == "application/json"
    assert error_of(response)["code"] == "not_found"


@pytest.mark.parametrize("path, headers", [("/healthz", JSON), ("/healthz", BROWSER), ("/api/v1/members", {})])
def test_method_not_allowed_keeps_the_allow_header(client, path, headers):
    response = client.post(path, headers=headers)
    assert response.status_code == 405
    assert "GET" in response.headers["Allow"]


def test_an_unexpected_exception_is_a_logged_500_with_a_generic_message(database_url, caplog):
    with fresh_app(database_url) as app:
        @app.get("/boom")
        def boom():
            raise RuntimeError("db password is hunter2")

        client = app.test_client()
        with caplog.at_level(logging.ERROR, logger="service"):
            as_json = client.get("/boom", headers=JSON)
            as_html = client.get("/boom", headers=BROWSER)

    assert as_json.status_code == 500
    assert error_of(as_json) == {"code": "internal_error",
                                 "message": "Something went wrong on our side. It has been logged; please try again."}
    assert as_html.status_code == 500 and as_html.mimetype == "text/html"
    assert "hunter2" not in as_json.text + as_html.text
    failures = [r for r in caplog.records if r.getMessage() == "request.failed"]
    assert len(failures) == 2
    assert failures[0].fields == {"path": "/boom"}
    assert failures[0].exc_info[0] is RuntimeError


def test_a_domain_error_after_a_flush_writes_nothing(database_url, db_session):
    with fresh_app(database_url, WTF_CSRF_ENABLED=False) as app:
        @app.post("/half")
        def half():
            db.session.add(Member(email="half@example.org"))
            db.session.flush()  # the row exists inside the transaction...
            raise Conflict("That would clash.")  # ...until the error undoes it

        response = app.test_client().post("/half", headers=JSON)

    assert response.status_code == 409
    assert error_of(response) == {"code": "conflict", "message": "That would clash."}
    assert db_session.scalar(select(Member).where(Member.email == "half@example.org")) is None

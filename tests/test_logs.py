"""Structured logs: one JSON line per event; every response carries its request id."""
from __future__ import annotations

import json
import logging
import re

import pytest

from service.logs import log_event
from tests.apps import fresh_app

logger = logging.getLogger("service.tests")


def json_lines(err: str) -> list[dict]:
    return [json.loads(line) for line in err.splitlines() if line.strip()]


def test_log_event_writes_one_json_line_with_the_event_and_its_fields(database_url, capsys):
    with fresh_app(database_url, LOG_FORMAT="json"):
        log_event(logger, "member.created", member_id=42, stripe_event_id="evt_1")
        [line] = json_lines(capsys.readouterr().err)

    assert line["event"] == "member.created"
    assert (line["member_id"], line["stripe_event_id"]) == (42, "evt_1")
    assert (line["level"], line["logger"]) == ("info", "service.tests")
    assert line["ts"].endswith("+00:00")


def test_text_format_is_one_readable_line(database_url, capsys):
    with fresh_app(database_url, LOG_FORMAT="text"):
        log_event(logger, "member.created", member_id=42)
        err = capsys.readouterr().err
    [line] = err.strip().splitlines()
    assert line.split() == ["info", "service.tests:", "member.created", "member_id=42"]


def test_log_lines_written_in_a_request_carry_its_id(database_url, capsys):
    with fresh_app(database_url, LOG_FORMAT="json") as app:
        @app.get("/noisy")
        def noisy():
            log_event(logger, "noisy.hit")
            return "ok"

        response = app.test_client().get("/noisy", headers={"X-Request-Id": "lb-7f3a.1"})
        [line] = json_lines(capsys.readouterr().err)

    assert response.headers["X-Request-Id"] == "lb-7f3a.1"
    assert line["event"] == "noisy.hit" and line["request_id"] == "lb-7f3a.1"


def test_a_given_request_id_is_echoed(client):
    response = client.get("/healthz", headers={"X-Request-Id": "abc-123_XYZ.9"})
    assert response.headers["X-Request-Id"] == "abc-123_XYZ.9"


def test_error_responses_echo_the_request_id_too(client):
    response = client.get("/api/v1/members", headers={"X-Request-Id": "req-401"})
    assert response.status_code == 401
    assert response.headers["X-Request-Id"] == "req-401"


@pytest.mark.parametrize("given", [None, "", "has spaces", "x" * 65, "quote\"d", "semi;colon"])
def test_a_missing_or_unsafe_request_id_is_replaced(client, given):
    headers = {} if given is None else {"X-Request-Id": given}
    first = client.get("/healthz", headers=headers).headers["X-Request-Id"]
    second = client.get("/healthz", headers=headers).headers["X-Request-Id"]
    assert re.fullmatch(r"[0-9a-f]{16}", first)
    assert first != second

"""Access logs hold no bearer token.

Risk: a sign-in link (`/signin/link/<token>`) signs in whoever holds it, and newsletter links
confirm or unsubscribe; the access log wrote each path in full (gunicorn's `path` field,
werkzeug's request line), so anyone who could read the logs could sign in as a reader within
the link's lifetime and reuse window. One function, `service.logs.redact_secrets`, now blanks
them for gunicorn, werkzeug and the service's own log lines.
"""
from __future__ import annotations

import json
import logging
import runpy
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest
from gunicorn.config import Config
from werkzeug.serving import WSGIRequestHandler

from service.logs import log_event, redact_secrets
from tests.apps import fresh_app
from tests.factories import make_member
from tests.web.readers import post_form, signin_link

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "eyJsIjoiZGFpbHktaGVhZGxpbmVzIiwiZSI6InJlYWRlckBleGFtcGxlLm9yZyJ9.Zk3x9Q_abcDEF"


@pytest.mark.parametrize("path", [f"/signin/link/{TOKEN}", f"/newsletters/confirm/{TOKEN}",
                                  f"/newsletters/unsubscribe/{TOKEN}", f"/newsletters/unsubscribe/{TOKEN}/one-click",
                                  f"/gift/redeem/{TOKEN}", f"/somewhere?token={TOKEN}&x=1"])
def test_every_token_path_is_redacted(path):
    redacted = redact_secrets(f'"GET {path} HTTP/1.1" 200 -')
    assert TOKEN not in redacted and "[redacted]" in redacted


def test_other_paths_are_left_alone():
    line = "GET /staff/members/42?q=ada HTTP/1.1"
    assert redact_secrets(line) == line


@pytest.fixture
def link_path(client, db_session):
    """A real sign-in link, asked for through the form."""
    make_member(email="logged@example.org")
    db_session.commit()
    post_form(client, "/signin", {"email": "logged@example.org"}, token_from="/signin")
    path = signin_link("logged@example.org")
    assert path.startswith("/signin/link/")
    return path


def gunicorn_access_line(path: str, capsys) -> str:
    """One access line written by the logger class and format docker/gunicorn.conf.py configures."""
    settings = runpy.run_path(str(ROOT / "docker" / "gunicorn.conf.py"))
    cfg = Config()
    for name in ("access_log_format", "accesslog", "logger_class"):
        cfg.set(name, settings[name])
    logger = cfg.logger_class(cfg)
    environ = {"REQUEST_METHOD": "GET", "RAW_URI": path, "PATH_INFO": path.split("?")[0], "QUERY_STRING": "",
               "SERVER_PROTOCOL": "HTTP/1.1", "REMOTE_ADDR": "203.0.113.9", "HTTP_REFERER": f"https://mail.example{path}"}
    response = SimpleNamespace(status="302 FOUND", sent=0, headers=[("X-Request-Id", "req-1")])
    request = SimpleNamespace(headers=[("REFERER", environ["HTTP_REFERER"])])
    capsys.readouterr()
    logger.access(response, request, environ, timedelta(milliseconds=12))
    return capsys.readouterr().out


def test_gunicorn_access_line_after_a_link_sign_in_has_no_token(client, link_path, capsys):
    assert client.get(link_path).status_code in (302, 303)  # the link works: it is a live credential
    token = link_path.rsplit("/", 1)[1]
    out = gunicorn_access_line(link_path, capsys)
    [line] = [json.loads(text) for text in out.splitlines() if text.strip()]
    assert line["event"] == "http.access" and line["request_id"] == "req-1"
    assert line["path"] == "/signin/link/[redacted]"
    assert token not in out


def test_the_development_servers_access_line_has_no_token(app, client, link_path, caplog):
    """werkzeug's request handler writes the request line through the `werkzeug` logger (`membership serve`)."""
    token = link_path.rsplit("/", 1)[1]
    handler = WSGIRequestHandler.__new__(WSGIRequestHandler)  # only its logging: no socket
    handler.requestline, handler.client_address = f"GET {link_path} HTTP/1.1", ("127.0.0.1", 50000)
    with caplog.at_level(logging.INFO, logger="werkzeug"):
        handler.log_request(302, 0)
    [record] = [r for r in caplog.records if r.name == "werkzeug"]
    assert "/signin/link/[redacted]" in record.getMessage()
    assert token not in record.getMessage()


def test_the_services_own_lines_redact_paths_too(database_url, capsys):
    with fresh_app(database_url, LOG_FORMAT="json"):
        log_event(logging.getLogger("service.tests"), "request.failed", path=f"/newsletters/confirm/{TOKEN}")
        err = capsys.readouterr().err
    assert TOKEN not in err and "/newsletters/confirm/[redacted]" in err

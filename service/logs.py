"""Structured logs: a fixed event name plus ids as fields, one line per event.

    log_event(logger, "member.created", member_id=member.id)

Never pass secrets, card data, tokens or whole payloads as fields. Paths are logged (access
lines, `request.failed`), and some paths carry a token: `redact_secrets` blanks those, for the
service's own lines, werkzeug's development access log and gunicorn's (docker/gunicorn.conf.py).
"""
from __future__ import annotations

import json
import logging
import re
import sys
from datetime import UTC, datetime
from typing import Any

from flask import Flask, g, has_request_context

_RESERVED = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}
# Paths whose last part is a bearer token (whoever holds the link acts as its owner), and query
# parameters that carry one. New token routes belong here too.
TOKEN_PATHS = ("signin/link", "newsletters/confirm", "newsletters/unsubscribe", "gift/redeem")
_TOKEN_IN_PATH = re.compile(r"(/(?:" + "|".join(map(re.escape, TOKEN_PATHS)) + r")/)[^/?#\s\"']+")
_TOKEN_IN_QUERY = re.compile(r"([?&](?:token|code)=)[^&#\s\"']+", re.IGNORECASE)
REDACTED = "[redacted]"


def redact_secrets(text: str) -> str:
    """The text with every token in a path or query string replaced by [redacted]."""
    return _TOKEN_IN_QUERY.sub(r"\1" + REDACTED, _TOKEN_IN_PATH.sub(r"\1" + REDACTED, text))


class RedactingFilter(logging.Filter):
    """Rewrites a record's message through `redact_secrets` (werkzeug's access lines hold the request line)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = redact_secrets(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


def log_event(logger: logging.Logger, event: str, *, level: int = logging.INFO, exc_info: Any = None, **fields: Any) -> None:
    logger.log(level, event, extra={"fields": fields}, exc_info=exc_info)


def _fields(record: logging.LogRecord) -> dict[str, Any]:
    fields = {k: redact_secrets(v) if isinstance(v, str) else v for k, v in (getattr(record, "fields", {}) or {}).items()}
    if has_request_context() and getattr(g, "request_id", None):
        fields.setdefault("request_id", g.request_id)
    return fields


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "event": record.getMessage(),
            **_fields(record),
        }
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str)


class TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        pairs = " ".join(f"{k}={v}" for k, v in _fields(record).items())
        text = f"{record.levelname.lower():7} {record.name}: {record.getMessage()} {pairs}".rstrip()
        if record.exc_info:
            text += "\n" + self.formatException(record.exc_info)
        return text


def configure_logging(app: Flask) -> None:
    """Send the service's logs to stderr in the configured format (json or text)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if app.config["LOG_FORMAT"] == "json" else TextFormatter())
    root = logging.getLogger("service")
    root.handlers[:] = [handler]
    root.setLevel(app.config["LOG_LEVEL"])
    root.propagate = app.config.get("TESTING", False)  # let pytest's caplog see them
    # The development server's access log (`membership serve`) names every path it serves.
    werkzeug_log = logging.getLogger("werkzeug")
    if not any(isinstance(f, RedactingFilter) for f in werkzeug_log.filters):
        werkzeug_log.addFilter(RedactingFilter())
    _startup_warnings(app)


def _startup_warnings(app: Flask) -> None:
    """Settings production accepts but that are likely a mistake (docs/operations.md, Security)."""
    if app.config["ENV"] == "production" and app.config["TRUSTED_PROXIES"] == 0:
        log_event(logging.getLogger("service.config"), "config.no_trusted_proxies", level=logging.WARNING,
                  hint="TRUSTED_PROXIES=0: behind a load balancer every reader shares its address, "
                       "so rate limits count them all as one; set it to the number of proxies in front")

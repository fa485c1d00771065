"""/metrics is cheap to scrape and, in production, never public.

The risks: every scrape (each Prometheus server, every 15 s) grouped and
counted whole tables (`stripe_events`, `outbox`, `members`), took max() over
every event, and read up to 10,000 rows of applied events filtered on an
unindexed column: the cost grew with the store without end. Now a scrape is
a handful of statements, each an index search (no table scan) and the latency
sample is LIMITed. And production started with /metrics open to anyone
(member counts, webhook health) when METRICS_TOKEN was unset.
"""
from __future__ import annotations

import re
import secrets
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import event

from service import config as config_module
from service.config import ConfigError, load_config
from service.db import utcnow
from service.models import InboxStatus, OutboxMessage, StripeEvent

MAX_STATEMENTS = 5
SCANNED = {"sqlite": re.compile(r"\bSCAN (stripe_events|outbox|members)\b"),
           "postgresql": re.compile(r"\bSeq Scan on (stripe_events|outbox|members)\b")}


def _plan(db_session, sql: str, params: object, dialect: str) -> str:
    """The query plan. PostgreSQL is told to avoid sequential scans, as it would on tables of a
    real size (on a test's few rows a scan is cheapest): a Seq Scan left means no index fits."""
    connection = db_session.connection()
    if dialect == "postgresql":
        connection.exec_driver_sql("SET LOCAL enable_seqscan = off")
        return " | ".join(str(row[0]) for row in connection.exec_driver_sql("EXPLAIN " + sql, params))
    return " | ".join(str(row[-1]) for row in connection.exec_driver_sql("EXPLAIN QUERY PLAN " + sql, params))


@pytest.fixture
def statements(app, db_session):
    """The SQL of every statement the scrape runs."""
    seen: list[tuple[str, object]] = []
    engine = db_session.get_bind().engine

    def record(conn, cursor, statement, parameters, context, executemany):
        seen.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", record)
    yield seen
    event.remove(engine, "before_cursor_execute", record)


def test_a_scrape_is_a_few_index_searches(client, db_session, statements):
    now = utcnow()
    db_session.add_all([StripeEvent(stripe_event_id=f"evt_cost{n}", type="invoice.paid", livemode=False,
                                    stripe_created_at=now, payload={}, status=InboxStatus.APPLIED,
                                    received_at=now - timedelta(seconds=5), applied_at=now) for n in range(3)])
    db_session.add(OutboxMessage(topic="email", key="k", payload={}))
    db_session.flush()
    statements.clear()
    assert client.get("/metrics").status_code == 200
    scrape = [(sql, params) for sql, params in statements if sql.lstrip().upper().startswith("SELECT")]
    assert 0 < len(scrape) <= MAX_STATEMENTS, [sql for sql, _ in scrape]
    dialect = db_session.get_bind().dialect.name
    for sql, params in scrape:
        plan = _plan(db_session, sql, params, dialect)
        assert not SCANNED[dialect].search(plan), f"{plan}\n{sql}"
        if "applied_at" in sql:
            assert "LIMIT" in sql.upper()


def _production(**extra: str) -> dict[str, str]:
    return {"MEMBERSHIP_ENV": "production", "SECRET_KEY": secrets.token_urlsafe(48),
            "STRIPE_WEBHOOK_SECRET": "whsec_live", "STRIPE_SECRET_KEY": "sk_live_x",
            "MAIL_URL": "smtp://mail.example.org:587", "WEB_CONCURRENCY": "1", **extra}


def test_production_refuses_to_start_without_a_metrics_token(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(config_module, "INSTANCE_DIR", tmp_path / "instance")
    with pytest.raises(ConfigError, match="METRICS_TOKEN"):
        load_config(environ=_production())
    try:
        load_config(environ=_production(METRICS_TOKEN=secrets.token_urlsafe(32)))
    except ConfigError as exc:  # another guard may refuse this environment; never for the token
        assert "METRICS_TOKEN" not in str(exc)

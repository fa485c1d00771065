"""The member page at a million members: each of its queries is an index search.

Issue 18 measured the page over HTTP with a long-running newsroom's history and found the
consent history read by a parallel sequential scan (no index on member_id): 45-67 ms of a
98-112 ms p95. This catches the next query like it, whatever the page comes to read: every
statement `member_view.load` runs is EXPLAINed with sequential scans discouraged, as on tables
of a real size (on a test's few rows a scan is cheapest), and a sequential scan left on one of
the big tables means no index fits that query. bench/staff_search.py times the page over HTTP.
"""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import event

from service.db import utcnow
from service.domain.insight import member_view
from service.models import (
    ActivityKind,
    ConsentAction,
    ConsentRecord,
    ConsentSource,
    InboxStatus,
    Invoice,
    InvoiceStatus,
    ListStatus,
    ListSubscription,
    MemberActivity,
    MemberStatus,
    Newsletter,
    StripeEvent,
)
from tests.factories import make_member, make_subscription

BIG_TABLES = ("members", "subscriptions", "invoices", "member_activity", "consent_records", "stripe_events",
              "list_subscriptions", "contributions")
SCANNED = {"postgresql": re.compile(rf"\bSeq Scan on ({'|'.join(BIG_TABLES)})\b"),
           "sqlite": re.compile(rf"\bSCAN ({'|'.join(BIG_TABLES)})\b")}


def _plan(db_session, sql: str, params: object, dialect: str) -> str:
    connection = db_session.connection()
    if dialect == "postgresql":
        connection.exec_driver_sql("SET LOCAL enable_seqscan = off")
        return " | ".join(str(row[0]) for row in connection.exec_driver_sql("EXPLAIN " + sql, params))
    return " | ".join(str(row[-1]) for row in connection.exec_driver_sql("EXPLAIN QUERY PLAN " + sql, params))


def _a_long_history(db_session):
    """A member with a row in every table the page reads."""
    from sqlalchemy import select

    now = utcnow()
    member = make_member(status=MemberStatus.ACTIVE, stripe_customer_id="cus_history")
    sub = make_subscription(member)
    digest = db_session.scalars(select(Newsletter).order_by(Newsletter.id)).first()
    db_session.add_all([
        Invoice(member_id=member.id, subscription_id=sub.id, stripe_invoice_id="in_history", status=InvoiceStatus.PAID,
                amount_due=500, amount_paid=500, currency="usd", stripe_created_at=now, paid_at=now),
        MemberActivity(member_id=member.id, kind=ActivityKind.STATUS_CHANGED, from_status=MemberStatus.PENDING,
                       to_status=MemberStatus.ACTIVE, created_at=now - timedelta(days=30)),
        MemberActivity(member_id=member.id, kind=ActivityKind.NOTE, detail="called about a refund", created_at=now),
        ListSubscription(newsletter_id=digest.id, email=member.email, member_id=member.id, status=ListStatus.SUBSCRIBED),
        ConsentRecord(newsletter_id=digest.id, email=member.email, member_id=member.id, action=ConsentAction.SUBSCRIBE,
                      source=ConsentSource.MEMBERSHIP, created_at=now),
        StripeEvent(stripe_event_id="evt_history", type="invoice.paid", livemode=False, stripe_created_at=now,
                    payload={}, status=InboxStatus.APPLIED, member_id=member.id, received_at=now, applied_at=now),
    ])
    db_session.flush()
    return member


def test_every_member_page_query_is_an_index_search(db_session):
    member = _a_long_history(db_session)
    db_session.expunge_all()  # the page loads everything itself, as in a request of its own
    seen: list[tuple[str, object]] = []
    engine = db_session.get_bind().engine

    def record(conn, cursor, statement, parameters, context, executemany):
        seen.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", record)
    try:
        page = member_view.load(member.id, utcnow())
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert page.consents and page.events and page.invoices and page.lists and page.timeline and page.notes
    queries = [(sql, params) for sql, params in seen if sql.lstrip().upper().startswith("SELECT")]
    tables = {table for sql, _ in queries for table in BIG_TABLES if re.search(rf"\bFROM {table}\b", sql)}
    assert {"members", "subscriptions", "invoices", "member_activity", "consent_records", "stripe_events",
            "list_subscriptions"} <= tables  # the page did read what this test is about
    dialect = db_session.get_bind().dialect.name
    if dialect not in SCANNED:
        pytest.skip(f"no plan check for {dialect}")
    for sql, params in queries:
        plan = _plan(db_session, sql, params, dialect)
        assert not SCANNED[dialect].search(plan), f"{plan}\n{sql}"

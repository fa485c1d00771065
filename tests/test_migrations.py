"""The migrations build exactly the schema the models describe, and undo cleanly."""
from __future__ import annotations

from collections.abc import Iterator

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import func, inspect, select, text

import service.models  # noqa: F401  (every table on the metadata)
from service.cli import alembic_config
from service.db import Base, include_for_dialect
from service.extensions import make_engine
from service.models import Newsletter, Plan

CHECK_SCHEMA = "migration_check"


def test_the_migrated_schema_matches_the_models(app):
    with app.extensions["db_engine"].connect() as connection:
        context = MigrationContext.configure(connection, opts={
            "compare_type": True, "include_object": include_for_dialect(connection.dialect.name)})
        assert compare_metadata(context, Base.metadata) == []


@pytest.fixture
def scratch_url(database_url: str, tmp_path) -> Iterator[str]:
    """An empty database apart from the session's: a new SQLite file, or a PostgreSQL schema."""
    if not database_url.startswith("postgresql"):
        yield f"sqlite:///{tmp_path / 'migrations.sqlite3'}"
        return
    admin = make_engine(database_url)
    with admin.begin() as conn:
        conn.execute(text(f"DROP SCHEMA IF EXISTS {CHECK_SCHEMA} CASCADE"))
        conn.execute(text(f"CREATE SCHEMA {CHECK_SCHEMA}"))
    try:
        yield f"{database_url}?options=-csearch_path%3D{CHECK_SCHEMA}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA IF EXISTS {CHECK_SCHEMA} CASCADE"))
        admin.dispose()


def tables_and_seeds(url: str) -> tuple[set[str], int, int]:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            tables = set(inspect(conn).get_table_names()) - {"alembic_version"}
            if "plans" not in tables:
                return tables, 0, 0
            plans = conn.scalar(select(func.count()).select_from(Plan))
            lists = conn.scalar(select(func.count()).select_from(Newsletter))
            return tables, plans, lists
    finally:
        engine.dispose()


def test_downgrade_to_base_and_upgrade_again(scratch_url, database_url):
    config = alembic_config(scratch_url)
    command.upgrade(config, "head")
    assert tables_and_seeds(scratch_url) == (set(Base.metadata.tables), 3, 2)

    command.downgrade(config, "base")
    assert tables_and_seeds(scratch_url) == (set(), 0, 0)
    # Only the scratch database went down; the session's is untouched.
    assert tables_and_seeds(database_url) == (set(Base.metadata.tables), 3, 2)

    command.upgrade(config, "head")
    assert tables_and_seeds(scratch_url) == (set(Base.metadata.tables), 3, 2)


def test_the_giving_migration_turns_every_paid_invoice_into_a_contribution(scratch_url):
    """History starts complete: paid invoices from before the giving migration become membership
    contributions with receipt numbers; unpaid and zero invoices do not."""
    config = alembic_config(scratch_url)
    command.upgrade(config, "7c1e2f0a9b34")  # the revision before giving
    engine = make_engine(scratch_url)
    try:
        with engine.begin() as conn:
            member_id = conn.execute(text(
                "INSERT INTO members (email, name, status, status_changed_at, session_version, created_at, updated_at) "
                "VALUES ('old@example.org', 'Old Member', 'active', :t, 0, :t, :t) RETURNING id"),
                {"t": "2025-03-01 10:00:00+00:00"}).scalar_one()
            for invoice_id, status, paid, paid_at in (("in_paid_1", "paid", 500, "2025-03-01 10:00:00+00:00"),
                                                      ("in_paid_2", "paid", 500, "2025-04-01 10:00:00+00:00"),
                                                      ("in_open", "open", 0, None), ("in_trial", "paid", 0, None)):
                conn.execute(text(
                    "INSERT INTO invoices (member_id, stripe_invoice_id, status, amount_due, amount_paid, currency, "
                    "attempt_count, stripe_created_at, paid_at, synced_at) VALUES (:m, :i, :s, 500, :p, 'usd', 1, "
                    "'2025-03-01 09:00:00+00:00', :pa, '2025-03-01 09:00:00+00:00')"),
                    {"m": member_id, "i": invoice_id, "s": status, "p": paid, "pa": paid_at})
        command.upgrade(config, "head")
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT stripe_invoice_id, kind, amount, currency, receipt_number, member_id "
                                     "FROM contributions ORDER BY id")).all()
    finally:
        engine.dispose()
    assert [(r[0], r[1], r[2], r[3], r[5]) for r in rows] == [("in_paid_1", "membership", 500, "usd", member_id),
                                                              ("in_paid_2", "membership", 500, "usd", member_id)]
    assert [r[4] for r in rows] == ["2025-000001", "2025-000002"]


def test_the_recurring_revenue_migration_counts_the_invoices_already_stored(scratch_url):
    """Invoices stored before the migration get their months, monthly amount, kind and churn: a
    monthly member at $5, raised to $8, away for a month and back (reactivated), then gone; a
    yearly member; an unpaid invoice and one outside any subscription, not counted."""
    config = alembic_config(scratch_url)
    command.upgrade(config, "7a3f9c1e4b62")  # the revision before recurring revenue
    engine = make_engine(scratch_url)
    t = "2025-01-01 00:00:00+00:00"
    try:
        with engine.begin() as conn:
            plan_id = conn.execute(text("SELECT id FROM plans ORDER BY id")).scalars().first()
            subs = {}
            for code, interval in (("sub_m", "month"), ("sub_y", "year")):
                member_id = conn.execute(text(
                    "INSERT INTO members (email, name, status, status_changed_at, session_version, created_at, "
                    "updated_at) VALUES (:e, 'Old Member', 'active', :t, 0, :t, :t) RETURNING id"),
                    {"e": f"{code}@example.org", "t": t}).scalar_one()
                subs[code] = member_id, conn.execute(text(
                    "INSERT INTO subscriptions (member_id, plan_id, stripe_subscription_id, status, amount, currency, "
                    "interval, interval_count, cancel_at_period_end, stripe_created_at, synced_at, created_at, "
                    "updated_at) VALUES (:m, :p, :s, 'active', 500, 'usd', :i, 1, false, :t, :t, :t, :t) RETURNING id"),
                    {"m": member_id, "p": plan_id, "s": code, "i": interval, "t": t}).scalar_one()
            for n, (sub, created, status, paid) in enumerate((
                    ("sub_m", "2025-01-10", "paid", 500), ("sub_m", "2025-02-10", "paid", 800),
                    ("sub_m", "2025-04-10", "paid", 800), ("sub_m", "2025-05-10", "open", 0),
                    ("sub_m", "2025-02-11", "paid", 1500), ("sub_y", "2025-03-01", "paid", 6000))):
                member_id, sub_id = subs[sub]
                conn.execute(text(
                    "INSERT INTO invoices (member_id, subscription_id, stripe_invoice_id, status, amount_due, amount_paid, "
                    "currency, attempt_count, stripe_created_at, paid_at, synced_at) "
                    "VALUES (:m, :s, :i, :st, 800, :p, 'usd', 1, :c, :c, :c)"),
                    {"m": member_id, "s": None if n == 4 else sub_id, "i": f"in_{n}", "st": status, "p": paid,
                     "c": f"{created} 09:00:00+00:00"})
        command.upgrade(config, "head")
        with engine.connect() as conn:
            rows = conn.execute(text(
                "SELECT revenue_start, revenue_end, revenue_monthly, revenue_kind, revenue_change, revenue_churns "
                "FROM invoices ORDER BY stripe_invoice_id")).all()
    finally:
        engine.dispose()
    jan, feb, mar, apr, may = (2025 * 12 + m for m in range(5))
    assert [(*r[:5], bool(r[5])) for r in rows] == [
        (jan, feb, 500, "new", 500, False),
        (feb, mar, 800, "expansion", 300, True),  # nothing covers March: churns then
        (apr, may, 800, "reactivated", 800, True),  # the May invoice is unpaid: churns in May
        (None, None, None, None, None, False),  # unpaid
        (None, None, None, None, None, False),  # a one-off invoice outside the subscription
        (mar, mar + 12, 500, "new", 500, True),  # $60 a year: $5 a month
    ]

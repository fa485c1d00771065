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

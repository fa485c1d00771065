"""Alembic environment: migrates the database named by the service's settings."""
from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

import service.models  # noqa: F401  (registers every table on the metadata)
from service.config import load_config
from service.db import Base, UTCDateTime, include_for_dialect
from service.extensions import make_engine

config = context.config
target_metadata = Base.metadata


def _url() -> str:
    return config.get_main_option("sqlalchemy.url") or load_config()["DATABASE_URL"]


def _render_item(type_: str, obj: object, autogen_context: object) -> str | bool:
    """Write our UTC timestamp type as a plain timestamptz, so migrations don't import app code."""
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def _configure(connection: Connection | None = None, **kwargs: object) -> None:
    dialect = connection.dialect.name if connection is not None else _url().split(":")[0].split("+")[0]
    context.configure(
        include_object=include_for_dialect(dialect),
        render_item=_render_item,
        target_metadata=target_metadata,
        # SQLite cannot ALTER most things; batch mode recreates tables instead.
        render_as_batch=True,
        compare_type=True,
        connection=connection,
        **kwargs,
    )


def run_offline() -> None:
    _configure(url=_url(), literal_binds=True, dialect_opts={"paramstyle": "named"})
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:  # tests pass their own connection
        _configure(connection)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = make_engine(_url())
    with engine.connect() as connection:
        _configure(connection)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    run_offline()
else:
    run_online()

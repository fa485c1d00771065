"""Declarative base, typed columns and UTC timestamps shared by every model."""
from __future__ import annotations

import enum
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, DateTime, Enum, MetaData
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.types import TypeDecorator

# Stable constraint names, so migrations can refer to them on every database.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    """The current time, timezone-aware in UTC. Used as the column default callable."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored in UTC and always read back timezone-aware.

    SQLite has no time zones, so values come back naive there; PostgreSQL keeps
    them as ``timestamptz``. Naive datetimes are refused on the way in, because
    a naive time in a billing record is a bug waiting to happen.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given where a UTC timestamp is required")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSON()}


def str_enum(enum_cls: type[enum.Enum], name: str) -> Any:
    """A portable enum column: stored as its string values, checked by a constraint."""
    return Enum(
        enum_cls,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=max(len(m.value) for m in enum_cls),
        values_callable=lambda e: [m.value for m in e],
        validate_strings=True,
    )


def include_for_dialect(dialect_name: str) -> Any:
    """An Alembic `include_object` hook that honours `Index(...).ddl_if(dialect=...)`.

    Alembic's autogenerate compares every index in the metadata, even one that is
    only created on PostgreSQL (trigram and pattern indexes); this leaves those
    out when comparing with another database.
    """

    def include(obj: Any, _name: Any, _type: str, reflected: bool, _compare_to: Any) -> bool:
        ddl_if = getattr(obj, "_ddl_if", None)
        if reflected or ddl_if is None or ddl_if.dialect is None:
            return True
        wanted = ddl_if.dialect
        return dialect_name == wanted if isinstance(wanted, str) else dialect_name in wanted

    return include

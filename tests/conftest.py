"""Shared fixtures. The suite runs on the database named by TEST_DATABASE_URL
(PostgreSQL in the second pass of `make test`), or on a temporary SQLite file.

- `database_url`: migrated once per run with the real Alembic migrations.
- `app`: the service configured for tests.
- `db_session`: every test runs inside a transaction that is rolled back, so
  requests made through `client` commit to a savepoint and leave nothing behind.
  Requests share the test's session: a request that fails rolls back what the
  test only flushed, so set-up that must survive one is committed (to the savepoint).
"""
from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import text
from sqlalchemy.orm import Session

from service import create_app
from service.extensions import db, make_engine

TEST_SECRET = "test-secret-key-not-for-production"

# Property tests explore new inputs on every local run; in CI they replay a fixed sequence,
# so a submission's result does not depend on the luck of the draw.
settings.register_profile("ci", derandomize=True, database=None)
if os.environ.get("CI"):
    settings.load_profile("ci")


def _reset_postgres(url: str) -> None:
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


def migrate(url: str) -> None:
    """Bring a database to head with the same migrations production runs."""
    from alembic import command

    from service.cli import alembic_config

    command.upgrade(alembic_config(url), "head")


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = os.environ.get("TEST_DATABASE_URL", "")
    if url.startswith(("postgres://", "postgresql")):
        from service.config import normalize_database_url

        url = normalize_database_url(url)
        _reset_postgres(url)
    else:
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.sqlite3'}"
    migrate(url)
    return url


@pytest.fixture(scope="session")
def is_postgres(database_url: str) -> bool:
    return database_url.startswith("postgresql")


def config_for_tests(database_url: str, **overrides: Any) -> dict[str, Any]:
    return {
        "MEMBERSHIP_ENV": "test",
        "DATABASE_URL": database_url,
        "SECRET_KEY": TEST_SECRET,
        "RATELIMIT_ENABLED": False,
        "BASE_URL": "http://localhost",
        **overrides,
    }


@pytest.fixture(scope="session")
def app(database_url: str) -> Iterator[Flask]:
    app = create_app(config_for_tests(database_url))
    yield app
    app.extensions["db_engine"].dispose()


@pytest.fixture
def db_session(app: Flask) -> Iterator[Session]:
    """A session inside a transaction that is rolled back after the test."""
    connection = app.extensions["db_engine"].connect()
    outer = connection.begin()
    ctx = app.app_context()
    ctx.push()
    db.session.configure(bind=connection, join_transaction_mode="create_savepoint")
    try:
        yield db.session
    finally:
        db.session.remove()
        db.session.configure(bind=None)
        ctx.pop()
        outer.rollback()
        connection.close()


@pytest.fixture
def client(app: Flask, db_session: Session) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def cli(app: Flask, db_session: Session) -> Any:
    """Invoke `membership` subcommands in-process, inside the test's transaction.

    Runs the `membership` group itself (not `app.cli`), so errors are reported
    the way operators see them: one line and a non-zero exit.
    """
    from flask.cli import ScriptInfo

    from service.cli import main

    runner = app.test_cli_runner()

    def invoke(*args: str, input: str | None = None) -> Any:
        info = ScriptInfo(create_app=lambda: app, load_dotenv_defaults=False)
        return runner.invoke(main, args=list(args), input=input, obj=info, prog_name="membership")

    return invoke


@pytest.fixture
def api_token(db_session: Session) -> Any:
    """Make a staff user with a role and return headers carrying their API token."""
    from tests.factories import make_staff

    def headers(role: str = "viewer", scope: str = "read") -> dict[str, str]:
        from service.domain.staff.users import create_api_token
        from service.models import TokenScope

        user = make_staff(role=role)
        _token, plain = create_api_token(user.email, scope=TokenScope(scope))
        db_session.commit()  # to the test's savepoint, so a failing request cannot roll it back
        return {"Authorization": f"Bearer {plain}"}

    return headers


@pytest.fixture(scope="session")
def smtp() -> Iterator[Any]:
    """A real SMTP server (aiosmtpd) on a free loopback port, keeping what it receives."""
    from tests.smtp import SmtpServer

    server = SmtpServer()
    yield server
    server.close()


def sandbox_config(database_url: str, sandbox_url: str, **overrides: Any) -> dict[str, Any]:
    """Settings for an app whose billing gateway talks to a running Stripe sandbox."""
    return config_for_tests(database_url, BILLING_BACKEND="sandbox", STRIPE_API_BASE=sandbox_url, **overrides)


REPO_ROOT = Path(__file__).resolve().parent.parent

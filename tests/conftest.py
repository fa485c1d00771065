"""Shared fixtures. The suite runs on the database named by TEST_DATABASE_URL
(PostgreSQL in the second pass of `make test`), or on a temporary SQLite file.

- `database_url`: migrated once per run with the real Alembic migrations.
- `app`: the service configured for tests (one per run; no sandbox answers its billing gateway).
- `db_session`: every test runs inside a transaction that is rolled back, so
  requests made through `client` commit to a savepoint and leave nothing behind.
  Requests share the test's session: a request that fails rolls back what the
  test only flushed, so set-up that must survive one is committed (to the savepoint).
- `sandbox`, `sandbox_app`: a Stripe sandbox on a real HTTP server, and the service wired to
  it over HTTP (one of each per module). Tests that need them say so: a folder's conftest.py,
  or a module, defines `app` to return `sandbox_app`, so `client`, `cli` and `db_session`
  use it too. `sandbox_settings` is what that app sets on top of the test settings; a folder
  or module that needs more overrides it.
- `gateway`, `tap`, `price`, `reader`: the sandbox app's billing gateway, the events the sandbox
  emits, the $5 monthly price, and a member who pays through checkout (helpers in tests/billing.py).
"""
from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import settings
from sqlalchemy import text
from sqlalchemy.orm import Session

from service import create_app
from service.extensions import db, make_engine
from service.gateways.stripe_gateway import StripeGateway
from tests.billing import OLD_SECRET, SECRET, EventTap, Reader
from tests.sandbox.harness import Sandbox, start_sandbox

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


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    """A Stripe sandbox on a real HTTP server, one per module. It sends no webhooks by itself."""
    sb = start_sandbox()
    yield sb
    sb.close()


@pytest.fixture(scope="module")
def sandbox_settings() -> dict[str, Any]:
    """What `sandbox_app` sets on top of the test settings. Override it in a folder's conftest or a
    module to change them (the override may ask for this one by the same name and add to it)."""
    # Events signed by tests.billing verify; so do those signed with the secret being rotated out.
    return {"STRIPE_WEBHOOK_SECRET": f"{OLD_SECRET},{SECRET}"}


@pytest.fixture(scope="module")
def sandbox_app(database_url: str, sandbox: Sandbox, sandbox_settings: dict[str, Any]) -> Iterator[Flask]:
    """The service with its billing gateway pointed at `sandbox`: the official SDK over real HTTP."""
    app = create_app(config_for_tests(database_url, BILLING_BACKEND="sandbox", STRIPE_API_BASE=sandbox.url,
                                      **sandbox_settings))
    yield app
    app.extensions["db_engine"].dispose()


@pytest.fixture
def gateway(sandbox_app: Flask) -> StripeGateway:
    return sandbox_app.extensions["payments"]


@pytest.fixture
def tap(gateway: StripeGateway) -> EventTap:
    return EventTap(gateway)


@pytest.fixture
def price(gateway: StripeGateway) -> dict[str, Any]:
    return gateway.ensure_price(lookup_key="membership_monthly_5", product_name="Membership: Monthly",
                                amount=500, currency="usd", interval="month")


@pytest.fixture
def reader(db_session: Session, gateway: StripeGateway, sandbox: Sandbox, price: dict[str, Any]) -> Reader:
    from tests.factories import make_member

    member = make_member(name="Ada Reader")
    r = Reader(member, gateway, sandbox, price)
    # Commit (to the test's savepoint): a request that fails rolls back what is only flushed.
    db_session.commit()
    return r


REPO_ROOT = Path(__file__).resolve().parent.parent

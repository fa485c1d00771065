"""Extension objects, created unbound; `create_app` binds them to an app."""
from __future__ import annotations

import ipaddress
import time
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import urlsplit

from flask import Flask, current_app
from flask.globals import app_ctx
from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_talisman import Talisman
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import Session, scoped_session, sessionmaker

if TYPE_CHECKING:
    from flask.ctx import AppContext
    from werkzeug.local import LocalProxy


class _AppSession(Session):
    """A session that uses the current app's engine unless it was bound explicitly."""

    def get_bind(self, *args: Any, **kwargs: Any) -> Any:
        if self.bind is not None:
            return self.bind
        return current_app.extensions["db_engine"]


class Database:
    """The SQLAlchemy engine and a session scoped to the Flask app context.

    Domain code uses `db.session` and flushes; the request (or CLI command)
    commits once at its end and rolls back on any exception.
    """

    def __init__(self) -> None:
        self.session = scoped_session(
            sessionmaker(class_=_AppSession, expire_on_commit=False),
            # Flask types `app_ctx` as the AppContext it stands for; it is a LocalProxy.
            scopefunc=lambda: id(cast("LocalProxy[AppContext]", app_ctx)._get_current_object()),
        )

    def init_app(self, app: Flask) -> None:
        app.extensions["db_engine"] = make_engine(app.config["DATABASE_URL"])
        app.teardown_appcontext(self._remove_session)

    def _remove_session(self, _exc: BaseException | None) -> None:
        self.session.remove()

    @property
    def engine(self) -> Engine:
        return current_app.extensions["db_engine"]

    def insert(self, target: Any) -> Any:
        """An INSERT into `target` that takes ON CONFLICT clauses, in the dialect of the session's
        database (PostgreSQL's and SQLite's write them the same)."""
        dialect = self.session.get_bind().dialect.name
        return (pg_insert if dialect == "postgresql" else sqlite_insert)(target)


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine with the settings this service relies on, for PostgreSQL or SQLite."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 15}, **kwargs)
        _sqlite_transactions(engine)
        return engine
    engine = create_engine(url, pool_size=10, max_overflow=10, **kwargs)
    _ping_when_idle(engine, STALE_AFTER_SECONDS)
    return engine


# A pooled connection idle this long may have been cut in between (a database restart, a
# firewall's idle timeout): it is checked before use. A busy pool's connections are not: SQLAlchemy's
# pool_pre_ping would add a round trip to every transaction, the hot path of every webhook. A
# connection that breaks anyway fails its request, and the pool then replaces all its connections.
STALE_AFTER_SECONDS = 30.0


def _ping_when_idle(engine: Engine, idle_seconds: float) -> None:
    @event.listens_for(engine, "checkin")
    def _checkin(_dbapi_connection: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        idle_since = record.info.get("idle_since")
        if idle_since is None or time.monotonic() - idle_since < idle_seconds:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except Exception as exc:  # noqa: BLE001 - the pool retries the checkout with a new connection
            raise DisconnectionError("stale pooled connection") from exc


def _sqlite_transactions(engine: Engine) -> None:
    """Let SQLAlchemy, not the sqlite3 module, decide where transactions begin.

    Without this, pysqlite begins transactions late and savepoints misbehave
    (see SQLAlchemy's "Serializable isolation / Savepoints / Transactional DDL"
    notes for pysqlite). Also turns on foreign keys, which SQLite leaves off.
    """

    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(conn: Any) -> None:
        # IMMEDIATE: take the write lock up front. A deferred transaction that read first and
        # writes later fails at once with "database is locked" (the busy timeout cannot help)
        # when another connection wrote in between, e.g. the success page and the webhook of
        # the same checkout under `membership serve`. SQLite has one writer at a time anyway.
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def client_key() -> str:
    """Rate-limit key for the client: its IPv4 address, or its IPv6 /64 network.

    One IPv6 subscriber usually holds a whole /64 (often more), so keying by the full address
    would give them 2**64 fresh budgets. IPv4-mapped IPv6 addresses count as the IPv4 address.
    """
    raw = get_remote_address() or ""
    try:
        address = ipaddress.ip_address(raw)
    except ValueError:
        return raw or "unknown"
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((int(address) >> 64 << 64, 64)))
    return str(address)


db = Database()
# Bound by service.web.i18n.init_i18n, which also says how a page's language is chosen.
babel = Babel()
login_manager = LoginManager()
csrf = CSRFProtect()
talisman = Talisman()
limiter = Limiter(key_func=client_key, default_limits=[], headers_enabled=True)


def init_extensions(app: Flask) -> None:
    db.init_app(app)
    csrf.init_app(app)
    limiter.init_app(app)
    login_manager.init_app(app)
    init_security_headers(app)
    login_manager.session_protection = "strong"


# Where readers are sent by a form post that answers with a redirect: Stripe's hosted pages.
STRIPE_HOSTED = ("https://checkout.stripe.com", "https://billing.stripe.com")


def init_security_headers(app: Flask) -> None:
    """Security headers and a strict content security policy on every response.

    Pages load nothing but the service's own files: no inline scripts or styles.
    Form posts may lead on to Stripe's hosted checkout and portal (or the
    sandbox's). HTTPS redirects are the proxy's job (health checks come over
    plain HTTP); HSTS is sent on HTTPS requests.
    """
    stripe_base = urlsplit(app.config.get("STRIPE_API_BASE") or "")
    form_targets = ["'self'", *STRIPE_HOSTED]
    if stripe_base.scheme and stripe_base.netloc:
        form_targets.append(f"{stripe_base.scheme}://{stripe_base.netloc}")
    talisman.init_app(
        app,
        force_https=False,
        session_cookie_secure=app.config["SESSION_COOKIE_SECURE"],
        frame_options="DENY",
        content_security_policy={
            "default-src": "'self'",
            "img-src": "'self' data:",
            "object-src": "'none'",
            "base-uri": "'self'",
            "frame-ancestors": "'none'",
            "form-action": " ".join(form_targets),
        },
        permissions_policy={"browsing-topics": "()", "camera": "()", "microphone": "()", "geolocation": "()"},
    )

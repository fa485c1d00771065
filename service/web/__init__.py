"""Blueprints by actor, and the request's transaction boundary."""
from __future__ import annotations

import re
import secrets
from typing import Any

from flask import Flask, Response, g, request
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import IntegerConverter, Map

from service.db import utcnow
from service.domain.members.signin import SignedInReader
from service.errors import DomainError
from service.extensions import db, login_manager
from service.jobs import deliver_queued
from service.models import Member, StaffUser
from service.web.account import bp as account_bp
from service.web.account.changes import bp as account_changes_bp
from service.web.api import bp as api_bp
from service.web.ops import bp as ops_bp
from service.web.public.gift import bp as gift_bp
from service.web.public.give import bp as give_bp
from service.web.public.home import bp as home_bp
from service.web.public.join import bp as join_bp
from service.web.public.newsletters import bp as newsletters_bp
from service.web.public.readers import session_holds
from service.web.public.signin import bp as signin_bp
from service.web.staff import bp as staff_bp
from service.web.webhooks import bp as webhooks_bp

FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


class DatabaseId(IntegerConverter):
    """`<int:...>` in every route: a positive id that fits the database's integer
    column, so /members/99999999999 is a 404 like any other unknown id, not a 500."""

    def __init__(self, url_map: Map, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("min", 1)
        kwargs.setdefault("max", 2**31 - 1)
        super().__init__(url_map, *args, **kwargs)


def register_blueprints(app: Flask) -> None:
    app.url_map.converters["int"] = DatabaseId
    app.register_blueprint(ops_bp)
    app.register_blueprint(api_bp)
    app.register_blueprint(newsletters_bp)
    app.register_blueprint(webhooks_bp)
    app.register_blueprint(join_bp)
    app.register_blueprint(give_bp)
    app.register_blueprint(gift_bp)
    app.register_blueprint(staff_bp)
    app.register_blueprint(home_bp)
    app.register_blueprint(signin_bp)
    app.register_blueprint(account_bp)
    app.register_blueprint(account_changes_bp)
    login_manager.user_loader(load_user)
    app.before_request(_assign_request_id)
    app.before_request(_refuse_nul_characters)
    app.after_request(_commit)
    app.teardown_request(_rollback_on_error)


def load_user(user_id: str) -> Any:
    """Session ids are "<kind>:<id>", so staff and readers can never be confused.

    A reader's session holds only while its session version is the member's and it is younger
    than READER_SESSION_DAYS (readers.session_holds); otherwise they are signed out."""
    kind, _, raw_id = user_id.partition(":")
    if kind == "staff" and raw_id.isdigit():
        user = db.session.get(StaffUser, int(raw_id))
        return user if user is not None and user.active else None
    if kind == "member" and raw_id.isdigit():
        member = db.session.get(Member, int(raw_id))
        return SignedInReader(member) if member is not None and session_holds(member, utcnow()) else None
    return None


def _assign_request_id() -> None:
    given = request.headers.get("X-Request-Id", "")
    g.request_id = given if _REQUEST_ID.match(given) else secrets.token_hex(8)


def _refuse_nul_characters() -> None:
    """No text we store can hold a NUL character (PostgreSQL refuses it): a clear 400 up front
    for any query string or form that carries one, instead of a failure deep inside."""
    sources = [request.args, request.form] if request.mimetype in FORM_TYPES else [request.args]
    for source in sources:
        for key, value in source.items(multi=True):
            if "\x00" in key or "\x00" in value:
                raise DomainError(f"The parameter {key.replace(chr(0), '')!r} contains a NUL character; remove it.",
                                  code="invalid_characters")


def _commit(response: Response) -> Response:
    """The request commits once, after the view; error handlers roll back first.

    Then the outbox rows the request queued are delivered at once, best effort
    (OUTBOX_DELIVER_INLINE): a reader who asked for a sign-in link gets it now.
    Whatever fails is left to the worker, and so is everything a Stripe webhook
    queued (`jobs.receive_event` hands it over): Stripe gets its answer first.
    """
    db.session.commit()
    deliver_queued()
    response.headers["X-Request-Id"] = g.get("request_id", "")
    return response


def _rollback_on_error(exc: BaseException | None) -> None:
    if exc is not None:
        db.session.rollback()


def trust_proxies(app: Flask) -> None:
    """Behind TRUSTED_PROXIES proxies, read the client's address and scheme from their headers."""
    hops = app.config["TRUSTED_PROXIES"]
    if hops:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=0)  # type: ignore[method-assign]

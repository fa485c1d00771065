"""The staff console: sign-in, search, member pages, actions, dashboard, audit log.

The blueprint and what its views share; the views live in the modules beside this one.

Every view is wrapped in `staff_required(role)`: anonymous visitors are sent
to the sign-in page, staff without the role get a 403 naming it. Views that
touch billing also pass `recent=True`, which asks for the password again when
the last sign-in is older than STAFF_RECENT_LOGIN_MINUTES.
"""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from functools import wraps
from typing import Any, TypeVar
from urllib.parse import urlsplit

from flask import Blueprint, current_app, flash, redirect, request, session, url_for
from flask_login import current_user, logout_user

from service.db import utcnow
from service.errors import Forbidden
from service.models import Role, StaffUser

bp = Blueprint("staff", __name__, url_prefix="/staff")
F = TypeVar("F", bound=Callable[..., Any])
AUTH_AT = "staff_auth_at"  # when the password was last given in this session (ISO time)
STARTED_AT = "staff_started_at"  # when this session began (or last changed the password)


def current_staff() -> StaffUser | None:
    """The signed-in staff user, or None (anonymous, a reader's session, or a stale session)."""
    if not current_user.is_authenticated or not current_user.get_id().startswith("staff:"):
        return None
    started = _time(STARTED_AT)
    # A password change, or signing out, ends every session that began before it.
    ended = max(current_user.password_changed_at, current_user.signed_out_at or current_user.password_changed_at)
    if started is None or started < ended:
        logout_user()
        session.pop(AUTH_AT, None)
        session.pop(STARTED_AT, None)
        return None
    return current_user


def signed_in_staff() -> StaffUser:
    """The signed-in staff user, in a view wrapped in `staff_required` (which lets no one else through)."""
    user = current_staff()
    assert user is not None, "signed_in_staff() is for views wrapped in staff_required"
    return user


def _time(key: str) -> datetime | None:
    raw = session.get(key)
    try:
        return datetime.fromisoformat(raw) if raw else None
    except ValueError:
        return None


def mark_authenticated(now: datetime, *, new_session: bool = False) -> None:
    """Record that the password was just given (and, at sign-in or a password change, a new start)."""
    session[AUTH_AT] = now.isoformat()
    if new_session:
        session[STARTED_AT] = now.isoformat()


def login_is_recent(now: datetime) -> bool:
    auth_at = _time(AUTH_AT)
    window = timedelta(minutes=current_app.config["STAFF_RECENT_LOGIN_MINUTES"])
    return auth_at is not None and now - auth_at <= window


def safe_next(target: str | None, default: str = "") -> str:
    """`target` when it is a path inside the console, else `default`: never an open redirect."""
    default = default or url_for("staff.dashboard")
    if not target:
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/staff") or "\\" in target:
        return default
    return target


def _back() -> str:
    """Where to return after re-authentication: the page the form was on (a local path only)."""
    referrer = urlsplit(request.referrer or "")
    if referrer.netloc and referrer.netloc != request.host:
        return ""
    return safe_next(referrer.path + (f"?{referrer.query}" if referrer.query else ""))


def staff_required(role: Role = Role.VIEWER, *, recent: bool = False) -> Callable[[F], F]:
    def decorator(view: F) -> F:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            user = current_staff()
            if user is None:
                target = request.full_path.rstrip("?") if request.method == "GET" else _back()
                return redirect(url_for("staff.login", next=target))
            if not user.role.allows(role):
                raise Forbidden(f"This needs the {role} role; you are signed in as {user.role}.")
            if recent and not login_is_recent(utcnow()):
                flash("Please confirm your password, then repeat the action.", "info")
                return redirect(url_for("staff.reauth", next=_back()))
            return view(*args, **kwargs)

        return wrapped  # type: ignore[return-value]

    return decorator

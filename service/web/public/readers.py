"""What the reader pages share: who is signed in (and whether that session still holds),
safe `next` targets, and rate-limit keys."""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from functools import wraps
from typing import Any
from urllib.parse import urlsplit

from flask import current_app, redirect, request, session, url_for
from flask_login import current_user, login_user, logout_user

from service.db import utcnow
from service.domain.members.signin import SignedInReader
from service.models import Member, normalize_email

DEFAULT_NEXT = "/account"
# Kept in the reader's session at sign-in: the member's session_version then, and when (ISO time).
SESSION_VERSION = "reader_session_version"
SIGNED_IN_AT = "reader_signed_in_at"


def signed_in_member() -> Member | None:
    """The signed-in reader's member row; None for visitors and staff."""
    user = current_user._get_current_object()
    return user.member if isinstance(user, SignedInReader) else None


def reader_required(view: Callable[..., Any]) -> Callable[..., Any]:
    """Send visitors (and staff) to sign in, coming back here afterwards."""

    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if signed_in_member() is None:
            return redirect(url_for("signin.form", next=request.full_path.rstrip("?")), 303)
        return view(*args, **kwargs)

    return wrapped


def safe_next(value: str | None) -> str:
    """A local path to go to after signing in; anything else (other hosts, schemes,
    protocol-relative `//host`, backslashes browsers read as slashes) gives /account."""
    if not value or not value.startswith("/") or value.startswith("//"):
        return DEFAULT_NEXT
    if "\\" in value or any(ord(ch) < 0x21 or ord(ch) == 0x7F for ch in value):
        return DEFAULT_NEXT
    parts = urlsplit(value)
    if parts.scheme or parts.netloc:
        return DEFAULT_NEXT
    return value


def sign_in(member: Member) -> None:
    """Start a fresh session for the member: nothing from before sign-in survives (session fixation).

    No remember-me cookie: the session records when it began and the member's session version,
    and `session_holds` ends it after READER_SESSION_DAYS or when the version moves on.
    """
    session.clear()
    login_user(SignedInReader(member), fresh=True, remember=False)
    session[SESSION_VERSION] = member.session_version
    session[SIGNED_IN_AT] = utcnow().isoformat()


def session_holds(member: Member, now: datetime) -> bool:
    """Whether this browser session still signs the member in: it was started at or after the
    member's last "sign out everywhere" (or email change, or erasure), less than READER_SESSION_DAYS
    ago. A session without these marks (or a remember-me cookie alone) does not."""
    version, raw = session.get(SESSION_VERSION), session.get(SIGNED_IN_AT)
    if not isinstance(version, int) or isinstance(version, bool) or version != member.session_version:
        return False
    try:
        since = datetime.fromisoformat(raw) if isinstance(raw, str) else None
    except ValueError:
        since = None
    if since is None or since.tzinfo is None:
        return False
    return now < since + timedelta(days=current_app.config["READER_SESSION_DAYS"])


def end_this_session() -> None:
    """Sign the reader out in this browser."""
    logout_user()
    session.clear()


def email_key() -> str:
    """Rate-limit key: the normalised email of the form, so one address can't be flooded from many IPs."""
    return "email:" + normalize_email(request.form.get("email", ""))[:320]

"""What the reader pages share: who is signed in, safe `next` targets, and rate-limit keys."""
from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any
from urllib.parse import urlsplit

from flask import redirect, request, session, url_for
from flask_login import current_user, login_user

from service.domain.members.signin import SignedInReader
from service.models import Member, normalize_email

DEFAULT_NEXT = "/account"


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
    """Start a fresh session for the member: nothing from before sign-in survives (session fixation)."""
    session.clear()
    login_user(SignedInReader(member), fresh=True)


def email_key() -> str:
    """Rate-limit key: the normalised email of the form, so one address can't be flooded from many IPs."""
    return "email:" + normalize_email(request.form.get("email", ""))[:320]

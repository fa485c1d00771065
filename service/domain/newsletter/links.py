"""Signed links in newsletter emails: unsubscribe (no sign-in, never expires) and
confirm (double opt-in, expires). Each names one list subscription by its id, signed
with SECRET_KEY and a salt per purpose, so a link for one purpose or one person is
useless for another, and a link shows nothing about whose it is: a token's payload is
only base64, and links travel in forwarded emails, screenshots and proxy logs.

Tokens issued before held the address and list in clear (`{"e", "l"}`); they are still
read: unsubscribe links never expire, confirm links after 7 days.
"""
from __future__ import annotations

from datetime import timedelta

from flask import current_app
from flask_babel import gettext
from itsdangerous import BadSignature, SignatureExpired, URLSafeSerializer, URLSafeTimedSerializer
from sqlalchemy import select

from service.errors import DomainError
from service.extensions import db
from service.models import ListSubscription, Newsletter, normalize_email

UNSUBSCRIBE_SALT = "newsletter-unsubscribe"
CONFIRM_SALT = "newsletter-confirm"
CONFIRM_MAX_AGE = timedelta(days=7)


class InvalidLink(DomainError):
    """A newsletter link whose signature does not check out, or that has expired."""

    status = 400
    code = "invalid_link"


def _unsubscribe_signer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=UNSUBSCRIBE_SALT)


def _confirm_signer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=CONFIRM_SALT)


def _subscription_id(email: str, slug: str) -> int:
    """The id of the address's subscription row for the list; links are made only for rows
    that exist (a confirmation request creates its pending row first)."""
    found = db.session.scalar(select(ListSubscription.id).join(Newsletter).where(
        Newsletter.slug == slug, ListSubscription.email == normalize_email(email)))
    if found is None:
        raise LookupError(f"no subscription of this address to {slug!r} to make a link for")
    return found


def unsubscribe_token(email: str, slug: str) -> str:
    return _unsubscribe_signer().dumps({"s": _subscription_id(email, slug)})


def confirm_token(email: str, slug: str) -> str:
    return _confirm_signer().dumps({"s": _subscription_id(email, slug)})


def _fields(data: object) -> tuple[str, str]:
    """(email, list slug) that a verified token names: its subscription row as it is now."""
    if isinstance(data, dict) and isinstance(data.get("s"), int):
        sub = db.session.get(ListSubscription, data["s"])
        if sub is None:
            raise BadSignature("the subscription is gone")
        return sub.email, sub.newsletter.slug
    if isinstance(data, dict) and isinstance(data.get("e"), str) and isinstance(data.get("l"), str):
        return data["e"], data["l"]  # issued before links named subscriptions
    raise BadSignature("unexpected token contents")


def read_unsubscribe_token(token: str) -> tuple[str, str]:
    """(email, list slug) from an unsubscribe token. Raises InvalidLink for anything forged or altered."""
    try:
        return _fields(_unsubscribe_signer().loads(token))
    except BadSignature:
        raise InvalidLink(gettext("This unsubscribe link is not valid. It may have been cut short or changed; "
                                  "please use the link from the email exactly as it is.")) from None


def read_confirm_token(token: str) -> tuple[str, str]:
    """(email, list slug) from a confirmation token. Raises InvalidLink when forged, altered or expired."""
    try:
        return _fields(_confirm_signer().loads(token, max_age=int(CONFIRM_MAX_AGE.total_seconds())))
    except SignatureExpired:
        raise InvalidLink(gettext("This confirmation link has expired. Please sign up again and we will "
                                  "send a new one."), code="link_expired") from None
    except BadSignature:
        raise InvalidLink(gettext("This confirmation link is not valid. Please use the link from the email "
                                  "exactly as it is, or sign up again.")) from None


def _base() -> str:
    return current_app.config["BASE_URL"]


def unsubscribe_url(email: str, slug: str) -> str:
    """The page with a confirmation button (linked in the email body)."""
    return f"{_base()}/newsletters/unsubscribe/{unsubscribe_token(email, slug)}"


def one_click_url(unsubscribe_page: str) -> str:
    """The RFC 8058 List-Unsubscribe-Post target (mailbox providers POST here), beside the page."""
    return f"{unsubscribe_page}/one-click"


def confirm_url(email: str, slug: str) -> str:
    return f"{_base()}/newsletters/confirm/{confirm_token(email, slug)}"

"""Passwordless sign-in for readers: an emailed link, or the 6-digit code in the same email.

`request_signin` answers nothing about whether the address belongs to a member:
unknown addresses get no email and the caller shows the same page either way.

A link is `itsdangerous`-signed and names one `SigninToken` row, whose state
decides what it is still good for: it expires SIGNIN_TOKEN_MINUTES after it
was sent; its first use starts a SIGNIN_REUSE_MINUTES window in which it works
up to SIGNIN_LINK_MAX_USES times, because mail scanners open links before the
reader does and must not burn them. The code is stored as an HMAC under
SECRET_KEY (a million codes are too few for a plain hash) and allows
SIGNIN_CODE_MAX_ATTEMPTS wrong guesses per email before it is spent.
"""
from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from flask_login import UserMixin
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import select

from service.domain.emails import queue_signin
from service.domain.members.status import find_by_email
from service.errors import DomainError
from service.extensions import db
from service.logs import log_event
from service.models import Member, SigninToken

logger = logging.getLogger(__name__)
LINK_SALT = "reader-signin"


class InvalidSignin(DomainError):
    """A sign-in link that is forged, expired or used up."""

    status = 400
    code = "invalid_signin_link"


@dataclass(frozen=True)
class SignedInReader(UserMixin):
    """The flask-login user for a member: session ids are "member:<id>" (see extensions._load_user)."""

    member: Member

    def get_id(self) -> str:
        return f"member:{self.member.id}"


def _setting(name: str) -> int:
    return current_app.config[name]


def _signer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=LINK_SALT)


def _code_hash(token_id: int, code: str) -> str:
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, f"{token_id}:{code}".encode(), hashlib.sha256).hexdigest()


def link_url(token: SigninToken) -> str:
    return f"{current_app.config['BASE_URL']}/signin/link/{_signer().dumps({'t': token.id})}"


def issue(member: Member, now: datetime) -> tuple[SigninToken, str]:
    """A new token for the member, and its plain code (only ever in the email)."""
    token = SigninToken(member_id=member.id, code_hash="", created_at=now,
                        expires_at=now + timedelta(minutes=_setting("SIGNIN_TOKEN_MINUTES")))
    db.session.add(token)
    db.session.flush()
    code = f"{secrets.randbelow(1_000_000):06d}"
    token.code_hash = _code_hash(token.id, code)
    db.session.flush()
    return token, code


def send_signin_email(member: Member, now: datetime) -> None:
    """Issue a token and queue the email carrying its link and code."""
    token, code = issue(member, now)
    queue_signin(member, token_id=token.id, link=link_url(token), code=code,
                 minutes=_setting("SIGNIN_TOKEN_MINUTES"))
    log_event(logger, "signin.sent", member_id=member.id, token_id=token.id)


def request_signin(email: str, now: datetime) -> None:
    """Email a sign-in link and code when the address is a member's; otherwise do nothing, quietly."""
    member = find_by_email(email)
    if member is None:
        log_event(logger, "signin.unknown_address")
        return
    send_signin_email(member, now)


def _locked_token(token_id: int) -> SigninToken | None:
    query = select(SigninToken).where(SigninToken.id == token_id).with_for_update()
    return db.session.scalars(query.execution_options(populate_existing=True)).one_or_none()


def redeem_link(signed: str, now: datetime) -> Member:
    """The member a link signs in. Raises InvalidSignin when forged, expired or used up."""
    try:
        data = _signer().loads(signed)
        token = _locked_token(int(data["t"])) if isinstance(data, dict) and isinstance(data.get("t"), int) else None
    except BadSignature:
        token = None
    if token is None:
        raise InvalidSignin("This sign-in link is not valid. Please use the link from the email exactly as it "
                            "is, or ask for a new one.")
    if not _link_usable(token, now):
        log_event(logger, "signin.link_refused", token_id=token.id, member_id=token.member_id)
        raise InvalidSignin("This sign-in link has expired. Links work for 15 minutes; please ask for a new one.",
                            code="signin_link_expired")
    token.first_used_at = token.first_used_at or now
    token.link_uses += 1
    db.session.flush()
    log_event(logger, "signin.link_used", token_id=token.id, member_id=token.member_id, uses=token.link_uses)
    return db.session.get_one(Member, token.member_id)


def _link_usable(token: SigninToken, now: datetime) -> bool:
    if now >= token.expires_at:
        return False
    if token.first_used_at is None:
        return True
    window_over = now >= token.first_used_at + timedelta(minutes=_setting("SIGNIN_REUSE_MINUTES"))
    return not window_over and token.link_uses < _setting("SIGNIN_LINK_MAX_USES")


def redeem_code(email: str, code: str, now: datetime) -> Member | None:
    """The member whose newest live code this is, or None (wrong code, unknown email, no code).

    Every wrong guess counts against the token; when they run out the code is spent.
    The caller commits either way, so the count survives a failed attempt.
    """
    member = find_by_email(email)
    token = _live_code_token(member, now) if member is not None else None
    if member is None or token is None:
        return None
    token.code_attempts += 1
    if hmac.compare_digest(token.code_hash, _code_hash(token.id, code)):
        token.code_spent_at = now
        db.session.flush()
        log_event(logger, "signin.code_used", token_id=token.id, member_id=member.id)
        return member
    if token.code_attempts >= _setting("SIGNIN_CODE_MAX_ATTEMPTS"):
        token.code_spent_at = now
    db.session.flush()
    log_event(logger, "signin.code_wrong", token_id=token.id, member_id=member.id, attempts=token.code_attempts)
    return None


def _live_code_token(member: Member, now: datetime) -> SigninToken | None:
    query = (select(SigninToken)
             .where(SigninToken.member_id == member.id, SigninToken.code_spent_at.is_(None),
                    SigninToken.expires_at > now)
             .order_by(SigninToken.id.desc()).limit(1).with_for_update())
    return db.session.scalars(query).first()

"""Passwordless sign-in for readers: an emailed link, or the 8-digit code in the same email.

`request_signin` answers nothing about whether the address belongs to a member:
unknown addresses get no email and the caller shows the same page either way.

A link is `itsdangerous`-signed and names one `SigninToken` row, whose state
decides what it is still good for: it expires SIGNIN_TOKEN_MINUTES after it
was sent; its first use starts a SIGNIN_REUSE_MINUTES window in which it works
up to SIGNIN_LINK_MAX_USES times, because mail scanners open links before the
reader does and must not burn them. The code is stored as an HMAC under
SECRET_KEY (a hundred million codes are too few for a plain hash) and allows
SIGNIN_CODE_MAX_ATTEMPTS wrong guesses per email before it is spent. Using
the link spends the code, and signing in with the code spends the link.

Asking for a new email gives a new code, so wrong codes are also counted per
address across every token, in the database (`SigninFailure`): past
SIGNIN_CODE_MAX_FAILURES within SIGNIN_CODE_WINDOW_HOURS every code is refused,
even the right one, and only the emailed link signs in. Addresses that are not
a member's are counted the same way, so the refusal reveals nothing.

A member's `session_version` is kept in each reader session at sign-in;
`end_reader_sessions` bumps it, which ends every session signed in before.
"""
from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from flask_babel import gettext
from flask_login import UserMixin
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import delete, func, select

from service.domain.emails import queue_signin, queue_signin_sent_by_staff
from service.domain.members.status import find_by_email, lock_member
from service.errors import DomainError
from service.extensions import db
from service.logs import log_event
from service.models import Member, SigninToken, normalize_email
from service.models.reader import SigninFailure

logger = logging.getLogger(__name__)
LINK_SALT = "reader-signin"
CODE_DIGITS = 8


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
    code = f"{secrets.randbelow(10 ** CODE_DIGITS):0{CODE_DIGITS}d}"
    token.code_hash = _code_hash(token.id, code)
    db.session.flush()
    return token, code


def send_signin_email(member: Member, now: datetime, *, by_staff: bool = False) -> None:
    """Issue a token and queue the email carrying its link and code; `by_staff`: the email says
    that a member of staff sent it at the reader's request."""
    token, code = issue(member, now)
    queue = queue_signin_sent_by_staff if by_staff else queue_signin
    queue(member, token_id=token.id, link=link_url(token), code=code, minutes=_setting("SIGNIN_TOKEN_MINUTES"))
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


def redeem_link(signed: str, now: datetime, *, language: str | None = None) -> Member:
    """The member a link signs in; `language`, the one the reader chose, becomes theirs. Raises
    InvalidSignin when forged, expired or used up."""
    try:
        data = _signer().loads(signed)
        token = _locked_token(int(data["t"])) if isinstance(data, dict) and isinstance(data.get("t"), int) else None
    except BadSignature:
        token = None
    if token is None:
        raise InvalidSignin(gettext("This sign-in link is not valid. Please use the link from the email exactly as "
                                    "it is, or ask for a new one."))
    if not _link_usable(token, now):
        log_event(logger, "signin.link_refused", token_id=token.id, member_id=token.member_id)
        raise InvalidSignin(gettext("This sign-in link has expired. Links work for 15 minutes; please ask for a new one."),
                            code="signin_link_expired")
    token.first_used_at = token.first_used_at or now
    token.code_spent_at = token.code_spent_at or now  # the link was used: its code is spent
    token.link_uses += 1
    db.session.flush()
    log_event(logger, "signin.link_used", token_id=token.id, member_id=token.member_id, uses=token.link_uses)
    return _signed_in(db.session.get_one(Member, token.member_id), language)


def _signed_in(member: Member, language: str | None) -> Member:
    """The member who just proved their address; the language they chose (if any) is theirs from now on."""
    if language and member.language != language:
        member.language = language
        db.session.flush()
    return member


def _link_usable(token: SigninToken, now: datetime) -> bool:
    if now >= token.expires_at or token.code_used_at is not None:  # the code signed in: the link is spent
        return False
    if token.first_used_at is None:
        return True
    window_over = now >= token.first_used_at + timedelta(minutes=_setting("SIGNIN_REUSE_MINUTES"))
    return not window_over and token.link_uses < _setting("SIGNIN_LINK_MAX_USES")


@dataclass(frozen=True)
class CodeResult:
    """What a typed code did: signed `member` in, or not; `too_many` when codes are refused for the address."""

    member: Member | None = None
    too_many: bool = False


def redeem_code(email: str, code: str, now: datetime, *, language: str | None = None) -> CodeResult:
    """Sign in with the newest live code of the address, unless it has had too many wrong codes;
    `language`, the one the reader chose, becomes the member's.

    Every wrong guess counts against the token (when they run out the code is spent) and against
    the address, whatever token it was meant for; an unknown address or one with no live code
    counts too, so members and strangers read alike. Once the address is over the limit nothing
    more is counted and every code is refused. The caller commits either way, so the counts
    survive a failed attempt.
    """
    digest = _email_digest(email)
    member = find_by_email(email)
    if member is not None:
        lock_member(member.id)  # one guess at a time per member (FOR UPDATE on PostgreSQL)
    failures = _recent_failures(digest, now)
    if failures >= _setting("SIGNIN_CODE_MAX_FAILURES"):
        log_event(logger, "signin.code_refused", member_id=member.id if member else None, failures=failures)
        return CodeResult(too_many=True)
    token = _live_code_token(member, now) if member is not None else None
    if member is not None and token is not None:
        token.code_attempts += 1
        if hmac.compare_digest(token.code_hash, _code_hash(token.id, code)):
            token.code_spent_at = token.code_used_at = now
            db.session.flush()
            log_event(logger, "signin.code_used", token_id=token.id, member_id=member.id)
            return CodeResult(member=_signed_in(member, language))
        if token.code_attempts >= _setting("SIGNIN_CODE_MAX_ATTEMPTS"):
            token.code_spent_at = now
    _record_failure(digest, now)
    log_event(logger, "signin.code_wrong", token_id=token.id if token else None,
              member_id=member.id if member else None, failures=failures + 1)
    return CodeResult(too_many=failures + 1 >= _setting("SIGNIN_CODE_MAX_FAILURES"))


def _email_digest(email: str) -> str:
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, f"signin-failures:{normalize_email(email)}".encode(), hashlib.sha256).hexdigest()


def _window_start(now: datetime) -> datetime:
    return now - timedelta(hours=_setting("SIGNIN_CODE_WINDOW_HOURS"))


def _recent_failures(digest: str, now: datetime) -> int:
    query = select(func.count()).select_from(SigninFailure).where(
        SigninFailure.email_digest == digest, SigninFailure.created_at > _window_start(now))
    return db.session.scalar(query) or 0


def _record_failure(digest: str, now: datetime) -> None:
    """Count a wrong code, and forget those (of any address) that no longer count."""
    db.session.execute(delete(SigninFailure).where(SigninFailure.created_at <= _window_start(now)))
    db.session.add(SigninFailure(email_digest=digest, created_at=now))
    db.session.flush()


def end_reader_sessions(member: Member) -> None:
    """End every reader session of the member, on every device: their stored version no longer matches."""
    member.session_version = Member.session_version + 1  # an UPDATE ... SET x = x + 1: atomic in SQL
    db.session.flush()
    log_event(logger, "signin.sessions_ended", member_id=member.id)


def _live_code_token(member: Member, now: datetime) -> SigninToken | None:
    query = (select(SigninToken)
             .where(SigninToken.member_id == member.id, SigninToken.code_spent_at.is_(None),
                    SigninToken.expires_at > now)
             .order_by(SigninToken.id.desc()).limit(1).with_for_update())
    return db.session.scalars(query).first()

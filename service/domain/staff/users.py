"""Staff users, passwords (argon2id) and API tokens (stored as SHA-256 hashes)."""
from __future__ import annotations

import hashlib
import logging
import secrets
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select

from service.db import utcnow
from service.errors import Conflict, NotFound, Unauthorized, ValidationFailed
from service.extensions import db
from service.logs import log_event
from service.models import ApiToken, Role, StaffUser, TokenScope, normalize_email

logger = logging.getLogger(__name__)
hasher = PasswordHasher()
MIN_PASSWORD_LENGTH = 12
TOKEN_PREFIX = "mbr_"
_COMMON = {"password", "passw0rd", "letmein", "welcome", "qwerty", "admin", "membership", "changeme", "123456"}


def password_problem(password: str, email: str) -> str | None:
    """Why a password is too weak, or None when it is acceptable."""
    if not password.strip():
        return "The password is empty."
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"The password must be at least {MIN_PASSWORD_LENGTH} characters long."
    if len(set(password)) < 5:
        return "The password repeats too few different characters."
    lowered = password.lower()
    local = normalize_email(email).split("@")[0]
    if len(local) >= 4 and local in lowered:
        return "The password must not contain the email address."
    if any(word in lowered for word in _COMMON) and len(password) < 20:
        return "The password is built on a common word; choose something less guessable."
    return None


def find_staff(email: str) -> StaffUser | None:
    return db.session.scalar(select(StaffUser).where(StaffUser.email == normalize_email(email)))


def create_staff_user(email: str, role: Role, password: str, name: str = "") -> StaffUser:
    """Create a staff user. Raises ValidationFailed (weak password) or Conflict (exists)."""
    problem = password_problem(password, email)
    if problem:
        raise ValidationFailed(problem, fields={"password": problem})
    if find_staff(email) is not None:
        raise Conflict(f"A staff user with the email {normalize_email(email)} already exists.")
    user = StaffUser(email=email, role=role, name=name, password_hash=hasher.hash(password))
    db.session.add(user)
    db.session.flush()
    log_event(logger, "staff.created", staff_user_id=user.id, role=str(role))
    return user


def verify_password(user: StaffUser, password: str) -> bool:
    try:
        hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        return False
    if hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hasher.hash(password)
    return True


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_api_token(email: str, name: str = "", scope: TokenScope = TokenScope.READ) -> tuple[ApiToken, str]:
    """A new token for a staff user: read-only unless `scope` is write, and never more than
    the user's role allows. The plain token is returned once and never stored."""
    user = find_staff(email)
    if user is None:
        raise NotFound(f"No staff user with the email {normalize_email(email)}.")
    if not user.active:
        raise ValidationFailed(f"The staff user {user.email} is deactivated.")
    plain = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(staff_user_id=user.id, name=name, token_hash=_token_hash(plain), prefix=plain[:12], scope=scope)
    db.session.add(token)
    db.session.flush()
    log_event(logger, "api_token.created", staff_user_id=user.id, token_id=token.id, prefix=token.prefix,
              scope=str(scope))
    return token, plain


def authenticate_token(plain: str, now: datetime | None = None) -> ApiToken:
    """The token (and through it the staff user) a bearer token names. Raises Unauthorized for any bad token."""
    token = db.session.scalar(select(ApiToken).where(ApiToken.token_hash == _token_hash(plain)))
    if token is None or token.revoked_at is not None or not token.staff_user.active:
        raise Unauthorized("The API token is unknown or revoked.")
    now = now or utcnow()
    # Record use at most once a minute, so reads don't each become a write.
    if token.last_used_at is None or now - token.last_used_at > timedelta(minutes=1):
        token.last_used_at = now
    return token


def revoke_api_token(token_id: int, now: datetime | None = None) -> ApiToken:
    token = db.session.get(ApiToken, token_id)
    if token is None:
        raise NotFound(f"No API token with id {token_id}.")
    token.revoked_at = token.revoked_at or now or utcnow()
    db.session.flush()
    return token

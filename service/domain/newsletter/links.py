"""Signed links in newsletter emails: unsubscribe (no sign-in, never expires) and
confirm (double opt-in, expires). Each names one list and one address, signed
with SECRET_KEY and a salt per purpose, so a link for one purpose or one person
is useless for another.

The address inside a token is encrypted (HMAC-SHA256 keystream from SECRET_KEY and a random
nonce, then signed as a whole by itsdangerous): the token's payload is base64, and whoever held
a link (a forwarded email, a proxy log) could read the address in it. Tokens issued before
(address in clear) are still accepted: unsubscribe links never expire, confirm links after 7 days.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from datetime import timedelta

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeSerializer, URLSafeTimedSerializer

from service.errors import DomainError
from service.models import normalize_email

UNSUBSCRIBE_SALT = "newsletter-unsubscribe"
CONFIRM_SALT = "newsletter-confirm"
CONFIRM_MAX_AGE = timedelta(days=7)
_NONCE_BYTES = 16


class InvalidLink(DomainError):
    """A newsletter link whose signature does not check out, or that has expired."""

    status = 400
    code = "invalid_link"


def _unsubscribe_signer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=UNSUBSCRIBE_SALT)


def _confirm_signer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=CONFIRM_SALT)


def _cipher_key() -> bytes:
    return hmac.new(str(current_app.config["SECRET_KEY"]).encode(), b"newsletter-link-address", hashlib.sha256).digest()


def _keystream(nonce: bytes, length: int) -> bytes:
    key, blocks = _cipher_key(), []
    for counter in range((length + 31) // 32):
        blocks.append(hmac.new(key, nonce + counter.to_bytes(4, "big"), hashlib.sha256).digest())
    return b"".join(blocks)[:length]


def _seal(email: str) -> str:
    nonce, plain = secrets.token_bytes(_NONCE_BYTES), normalize_email(email).encode()
    sealed = bytes(a ^ b for a, b in zip(plain, _keystream(nonce, len(plain)), strict=True))
    return base64.urlsafe_b64encode(nonce + sealed).decode().rstrip("=")


def _open(sealed: str) -> str:
    raw = base64.urlsafe_b64decode(sealed + "=" * (-len(sealed) % 4))
    nonce, body = raw[:_NONCE_BYTES], raw[_NONCE_BYTES:]
    return bytes(a ^ b for a, b in zip(body, _keystream(nonce, len(body)), strict=True)).decode()


def unsubscribe_token(email: str, slug: str) -> str:
    return _unsubscribe_signer().dumps({"l": slug, "x": _seal(email)})


def confirm_token(email: str, slug: str) -> str:
    return _confirm_signer().dumps({"l": slug, "x": _seal(email)})


def _fields(data: object) -> tuple[str, str]:
    if not isinstance(data, dict) or not isinstance(data.get("l"), str):
        raise BadSignature("unexpected token contents")
    try:
        if isinstance(data.get("x"), str):
            return _open(data["x"]), data["l"]
    except (ValueError, UnicodeDecodeError):
        raise BadSignature("unexpected token contents") from None
    if isinstance(data.get("e"), str):  # issued before addresses were encrypted
        return data["e"], data["l"]
    raise BadSignature("unexpected token contents")


def read_unsubscribe_token(token: str) -> tuple[str, str]:
    """(email, list slug) from an unsubscribe token. Raises InvalidLink for anything forged or altered."""
    try:
        return _fields(_unsubscribe_signer().loads(token))
    except BadSignature:
        raise InvalidLink("This unsubscribe link is not valid. It may have been cut short or changed; "
                          "please use the link from the email exactly as it is.") from None


def read_confirm_token(token: str) -> tuple[str, str]:
    """(email, list slug) from a confirmation token. Raises InvalidLink when forged, altered or expired."""
    try:
        return _fields(_confirm_signer().loads(token, max_age=int(CONFIRM_MAX_AGE.total_seconds())))
    except SignatureExpired:
        raise InvalidLink("This confirmation link has expired. Please sign up again and we will "
                          "send a new one.", code="link_expired") from None
    except BadSignature:
        raise InvalidLink("This confirmation link is not valid. Please use the link from the email "
                          "exactly as it is, or sign up again.") from None


def _base() -> str:
    return current_app.config["BASE_URL"]


def unsubscribe_url(email: str, slug: str) -> str:
    """The page with a confirmation button (linked in the email body)."""
    return f"{_base()}/newsletters/unsubscribe/{unsubscribe_token(email, slug)}"


def one_click_url(email: str, slug: str) -> str:
    """The RFC 8058 List-Unsubscribe-Post target (mailbox providers POST here)."""
    return f"{_base()}/newsletters/unsubscribe/{unsubscribe_token(email, slug)}/one-click"


def confirm_url(email: str, slug: str) -> str:
    return f"{_base()}/newsletters/confirm/{confirm_token(email, slug)}"

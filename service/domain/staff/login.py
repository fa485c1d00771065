"""Staff sign-in: passwords, failure counts, password changes.

There is no account lockout: locking an account after N wrong passwords let anyone who
knew an admin's email lock them out. Guessing is throttled instead, in the web layer
(service/web/staff/auth.py), per address and per account from that address, with one
answer whether the account exists or not. This module checks passwords, counts failures
on the staff user (`failed_logins`, for the record: it locks nothing), and spends the
same time on an unknown email as on a known one. The caller commits the counters, so the
view must *return* a refusal rather than raise (an exception rolls the request back).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from service.domain.staff.users import find_staff, hasher, password_problem, verify_password
from service.errors import ValidationFailed
from service.extensions import db
from service.logs import log_event
from service.models import StaffUser

logger = logging.getLogger(__name__)
WRONG = "That email and password do not match a staff account."
WRONG_CURRENT = "The current password is not right."
# Verified against when the email is unknown, so both cases take as long as each other.
_DUMMY_HASH = hasher.hash("not a real password, only for timing")


@dataclass(frozen=True)
class LoginResult:
    user: StaffUser | None
    error: str | None = None


def attempt_login(email: str, password: str, now: datetime) -> LoginResult:
    """Check a staff user's email and password; count failures. One answer for every refusal."""
    user = find_staff(email)
    if user is None or not user.active:
        _burn(password)  # the same argon2 work as a real account: no faster path for unknown emails
        log_event(logger, "staff.login_failed", reason="unknown_or_inactive")
        return LoginResult(None, WRONG)
    if not verify_password(user, password):
        _record_failure(user, "staff.login_failed")
        return LoginResult(None, WRONG)
    user.failed_logins, user.locked_until, user.last_login_at = 0, None, now
    db.session.flush()
    log_event(logger, "staff.login", staff_user_id=user.id, role=str(user.role))
    return LoginResult(user)


def _burn(password: str) -> None:
    try:
        hasher.verify(_DUMMY_HASH, password)
    except Exception:  # noqa: BLE001 - only the time it takes matters
        pass


def _record_failure(user: StaffUser, event: str) -> None:
    user.failed_logins += 1
    db.session.flush()
    log_event(logger, event, staff_user_id=user.id, failures=user.failed_logins)


def confirm_password(user: StaffUser, password: str, now: datetime) -> bool:
    """Re-authentication before a sensitive action; a success counts as a fresh sign-in.

    Wrong passwords are counted like sign-in failures; the web layer throttles them per
    staff user, so an open session cannot be used to guess the password.
    """
    if not verify_password(user, password):
        _record_failure(user, "staff.reauth_failed")
        return False
    user.failed_logins, user.last_login_at = 0, now
    db.session.flush()
    return True


def sign_out_everywhere(user: StaffUser, now: datetime) -> None:
    """End every session of this staff user that began before now (web/staff checks it):
    a copied session cookie stops working at sign-out, not only at a password change."""
    user.signed_out_at = now
    db.session.flush()
    log_event(logger, "staff.signed_out", staff_user_id=user.id)


def change_password(user: StaffUser, current: str, new: str, now: datetime) -> None:
    """Replace the password after checking the current one and the password policy.

    Sessions started before `password_changed_at` stop working (web/staff checks it).
    Raises ValidationFailed naming the field to fix.
    """
    if not verify_password(user, current):
        # A guess like a wrong re-authentication: counted here, throttled by the web layer.
        _record_failure(user, "staff.password_change_failed")
        raise ValidationFailed(WRONG_CURRENT, fields={"current_password": ["Not right."]})
    problem = password_problem(new, user.email)
    if problem:
        raise ValidationFailed(problem, fields={"new_password": [problem]})
    if verify_password(user, new):
        raise ValidationFailed("The new password is the same as the current one.",
                               fields={"new_password": ["Same as the current one."]})
    user.password_hash = hasher.hash(new)
    user.password_changed_at = now
    db.session.flush()
    log_event(logger, "staff.password_changed", staff_user_id=user.id)

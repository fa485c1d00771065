"""Staff sign-in: passwords, temporary lockout after repeated failures, password changes.

A failed attempt is recorded on the staff user (`failed_logins`); after
`max_failures` in a row the account is locked for `lockout` and even the right
password is refused until then. The caller commits the counters, so the view
must *return* a refusal rather than raise (an exception rolls the request back).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from service.domain.staff.users import find_staff, hasher, password_problem, verify_password
from service.errors import ValidationFailed
from service.extensions import db
from service.logs import log_event
from service.models import StaffUser

logger = logging.getLogger(__name__)
WRONG = "That email and password do not match a staff account."
# Verified against when the email is unknown, so both cases take as long as each other.
_DUMMY_HASH = hasher.hash("not a real password, only for timing")


@dataclass(frozen=True)
class LoginResult:
    user: StaffUser | None
    error: str | None = None


def _locked_message(until: datetime, now: datetime) -> str:
    minutes = max(1, int((until - now).total_seconds() // 60) + 1)
    return f"Too many failed attempts: this account is locked for {minutes} more minute(s)."


def attempt_login(email: str, password: str, now: datetime, *, max_failures: int, lockout: timedelta) -> LoginResult:
    """Check a staff user's email and password; count failures and lock after too many."""
    user = find_staff(email)
    if user is None or not user.active:
        _burn(password)
        log_event(logger, "staff.login_failed", reason="unknown_or_inactive")
        return LoginResult(None, WRONG)
    if user.locked_until is not None and now < user.locked_until:
        log_event(logger, "staff.login_refused_locked", staff_user_id=user.id)
        return LoginResult(None, _locked_message(user.locked_until, now))
    if not verify_password(user, password):
        return LoginResult(None, _record_failure(user, now, max_failures, lockout))
    user.failed_logins, user.locked_until, user.last_login_at = 0, None, now
    db.session.flush()
    log_event(logger, "staff.login", staff_user_id=user.id, role=str(user.role))
    return LoginResult(user)


def _burn(password: str) -> None:
    try:
        hasher.verify(_DUMMY_HASH, password)
    except Exception:  # noqa: BLE001 - only the time it takes matters
        pass


def _record_failure(user: StaffUser, now: datetime, max_failures: int, lockout: timedelta) -> str:
    user.failed_logins += 1
    if user.failed_logins >= max_failures:
        user.locked_until, user.failed_logins = now + lockout, 0
        db.session.flush()
        log_event(logger, "staff.locked_out", level=logging.WARNING, staff_user_id=user.id,
                  until=user.locked_until.isoformat())
        return _locked_message(user.locked_until, now)
    db.session.flush()
    log_event(logger, "staff.login_failed", staff_user_id=user.id, failures=user.failed_logins)
    return WRONG


def confirm_password(user: StaffUser, password: str, now: datetime, *, max_failures: int,
                     lockout: timedelta) -> bool:
    """Re-authentication before a sensitive action; a success counts as a fresh sign-in.

    Wrong passwords count towards the same lockout as sign-in, so an open session
    cannot be used to guess the password.
    """
    if user.locked_until is not None and now < user.locked_until:
        log_event(logger, "staff.reauth_refused_locked", staff_user_id=user.id)
        return False
    if not verify_password(user, password):
        _record_failure(user, now, max_failures, lockout)
        log_event(logger, "staff.reauth_failed", staff_user_id=user.id)
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
        raise ValidationFailed("The current password is not right.", fields={"current_password": ["Not right."]})
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

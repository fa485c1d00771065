"""Staff sign-in and sign-out, re-authentication, and changing one's password.

Password guessing is throttled, never answered with an account lockout (which let anyone
lock an admin out by typing their email): every sign-in POST counts against the address
(STAFF_LOGIN_RATE_LIMIT), and failed ones against the pair (account, address): after
STAFF_MAX_FAILED_LOGINS failures that pair waits up to STAFF_LOCKOUT_MINUTES, after twice
as many up to an hour. The same account from another address is not slowed, and an
unknown email is throttled exactly like a real one, with the same message. Wrong
passwords on re-authentication and on the password form share one throttle per staff user.
"""
from __future__ import annotations

import secrets

from flask import Response, current_app, flash, redirect, render_template, request, session, url_for
from flask_login import login_user, logout_user

from service.db import utcnow
from service.domain.staff.login import attempt_login, change_password, confirm_password, sign_out_everywhere
from service.errors import ValidationFailed
from service.extensions import client_key, limiter
from service.models import normalize_email
from service.schemas.staff import LoginForm, PasswordForm, load
from service.web.staff.base import bp, current_staff, mark_authenticated, safe_next, signed_in_staff, staff_required

# One answer for every throttled attempt, whether or not the email belongs to an account.
THROTTLED = "Too many attempts. Wait a few minutes and try again."


def _login_limit() -> str:
    return current_app.config["STAFF_LOGIN_RATE_LIMIT"]


def _failures_limit() -> str:
    """A short wait after STAFF_MAX_FAILED_LOGINS failures, growing to an hour after twice as many."""
    failures, minutes = current_app.config["STAFF_MAX_FAILED_LOGINS"], current_app.config["STAFF_LOCKOUT_MINUTES"]
    return f"{failures} per {minutes} minutes;{failures * 2} per hour"


def _account_and_address() -> str:
    return f"{normalize_email(request.form.get('email', ''))}|{client_key()}"


def _staff_user_key() -> str:
    user = current_staff()
    return f"staff:{user.id}" if user is not None else client_key()


def _refused(response: Response) -> bool:
    return response.status_code == 401


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"], error_message=THROTTLED)
@limiter.limit(_failures_limit, key_func=_account_and_address, methods=["POST"], deduct_when=_refused,
               error_message=THROTTLED, scope="staff-login-account")
def login():
    if request.method == "GET":
        if current_staff() is not None:
            return redirect(safe_next(request.args.get("next")))
        return render_template("staff/login.html", next=safe_next(request.args.get("next")), error=None)
    form = load(LoginForm(), request.form)
    now = utcnow()
    result = attempt_login(form["email"], form["password"], now)
    if result.user is None:
        # Returned, not raised: the failure count must be committed with this request.
        return render_template("staff/login.html", next=safe_next(form["next"]), error=result.error,
                               email=form["email"]), 401
    session.clear()  # a new session at sign-in, so an id planted before it (fixation) is worthless
    session["staff_session"] = secrets.token_urlsafe(16)
    login_user(result.user)
    mark_authenticated(now, new_session=True)
    return redirect(safe_next(form["next"]))


@bp.post("/logout")
def logout():
    user = current_staff()
    if user is not None:
        sign_out_everywhere(user, utcnow())
    logout_user()
    session.clear()
    flash("You are signed out.", "info")
    return redirect(url_for("staff.login"))


# Wrong passwords given inside a session (re-authentication, the password form) share one throttle.
_password_guesses = limiter.shared_limit(_failures_limit, scope="staff-password-guesses", key_func=_staff_user_key,
                                         methods=["POST"], deduct_when=_refused, error_message=THROTTLED)


@bp.route("/reauth", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"], error_message=THROTTLED)
@_password_guesses
@staff_required()
def reauth():
    user = signed_in_staff()
    target = safe_next(request.values.get("next"))
    if request.method == "POST":
        now = utcnow()
        if confirm_password(user, request.form.get("password", ""), now):
            mark_authenticated(now)
            return redirect(target)
        return render_template("staff/reauth.html", next=target, error="That password is not right."), 401
    return render_template("staff/reauth.html", next=target, error=None)


@bp.route("/password", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"], error_message=THROTTLED)
@_password_guesses
@staff_required()
def password():
    if request.method == "GET":
        return render_template("staff/password.html")
    form = load(PasswordForm(), request.form)
    if form["new_password"] != form["repeat"]:
        return render_template("staff/password.html", error="The two new passwords differ."), 422
    now = utcnow()
    try:
        change_password(signed_in_staff(), form["current_password"], form["new_password"], now)
    except ValidationFailed as exc:
        # Returned, not raised: a wrong current password is counted (committed) and throttled (401).
        wrong_current = "current_password" in exc.fields
        return render_template("staff/password.html", error=exc.message), 401 if wrong_current else 422
    mark_authenticated(now, new_session=True)  # this session stays; older ones end
    flash("Your password is changed. Other sessions are signed out.", "info")
    return redirect(url_for("staff.dashboard"))

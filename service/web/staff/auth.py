"""Staff sign-in and sign-out, re-authentication, and changing one's password."""
from __future__ import annotations

import secrets
from datetime import timedelta

from flask import current_app, flash, redirect, render_template, request, session, url_for
from flask_login import login_user, logout_user

from service.db import utcnow
from service.domain.staff.login import attempt_login, change_password, confirm_password, sign_out_everywhere
from service.errors import ValidationFailed
from service.extensions import limiter
from service.schemas.staff import LoginForm, PasswordForm, load
from service.web.staff.base import bp, current_staff, mark_authenticated, safe_next, signed_in_staff, staff_required


def _login_limit() -> str:
    return current_app.config["STAFF_LOGIN_RATE_LIMIT"]


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])
def login():
    if request.method == "GET":
        if current_staff() is not None:
            return redirect(safe_next(request.args.get("next")))
        return render_template("staff/login.html", next=safe_next(request.args.get("next")), error=None)
    form = load(LoginForm(), request.form)
    config = current_app.config
    now = utcnow()
    result = attempt_login(form["email"], form["password"], now, max_failures=config["STAFF_MAX_FAILED_LOGINS"],
                           lockout=timedelta(minutes=config["STAFF_LOCKOUT_MINUTES"]))
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


@bp.route("/reauth", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])
@staff_required()
def reauth():
    user = signed_in_staff()
    target = safe_next(request.values.get("next"))
    if request.method == "POST":
        now, config = utcnow(), current_app.config
        if confirm_password(user, request.form.get("password", ""), now, max_failures=config["STAFF_MAX_FAILED_LOGINS"],
                            lockout=timedelta(minutes=config["STAFF_LOCKOUT_MINUTES"])):
            mark_authenticated(now)
            return redirect(target)
        return render_template("staff/reauth.html", next=target, error="That password is not right."), 401
    return render_template("staff/reauth.html", next=target, error=None)


@bp.route("/password", methods=["GET", "POST"])
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
        return render_template("staff/password.html", error=exc.message), 422
    mark_authenticated(now, new_session=True)  # this session stays; older ones end
    flash("Your password is changed. Other sessions are signed out.", "info")
    return redirect(url_for("staff.dashboard"))

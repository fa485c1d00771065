"""Admins: staff users and API tokens."""
from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for

from service.db import utcnow
from service.domain.staff import admin as staff_admin
from service.models import Role, TokenScope
from service.schemas.staff import StaffUpdateForm, StaffUserForm, TokenForm, load
from service.web.staff.base import bp, signed_in_staff, staff_required


@bp.get("/users")
@staff_required(Role.ADMIN)
def users():
    return render_template("staff/users.html", users=staff_admin.staff_users(), roles=list(Role))


@bp.post("/users")
@staff_required(Role.ADMIN, recent=True)
def create_user():
    form = load(StaffUserForm(), request.form)
    user = staff_admin.add_staff(signed_in_staff(), form["email"], Role(form["role"]), form["password"], form["name"],
                                 utcnow())
    flash(f"Staff user {user.email} created as {user.role}.", "info")
    return redirect(url_for("staff.users"), code=303)


@bp.post("/users/<int:user_id>")
@staff_required(Role.ADMIN, recent=True)
def update_user(user_id: int):
    form = load(StaffUpdateForm(), request.form)
    user = staff_admin.update_staff(signed_in_staff(), user_id, Role(form["role"]), form["active"], utcnow())
    flash(f"{user.email} is now {user.role}{'' if user.active else ', deactivated'}.", "info")
    return redirect(url_for("staff.users"), code=303)


@bp.get("/tokens")
@staff_required(Role.ADMIN)
def tokens():
    return render_template("staff/tokens.html", tokens=staff_admin.tokens(), users=staff_admin.staff_users(),
                           plain=None)


@bp.post("/tokens")
@staff_required(Role.ADMIN, recent=True)
def create_token():
    form = load(TokenForm(), request.form)
    token, plain = staff_admin.issue_token(signed_in_staff(), form["email"], form["name"], utcnow(),
                                           TokenScope(form["scope"]))
    # Shown once, in this response only; only its hash is stored.
    return render_template("staff/tokens.html", tokens=staff_admin.tokens(), users=staff_admin.staff_users(),
                           plain=plain, created=token)


@bp.post("/tokens/<int:token_id>/revoke")
@staff_required(Role.ADMIN)
def revoke_token(token_id: int):
    token = staff_admin.revoke_token(signed_in_staff(), token_id, utcnow())
    flash(f"Token {token.prefix}... revoked.", "info")
    return redirect(url_for("staff.tokens"), code=303)

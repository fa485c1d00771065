"""Signing in without a password: an emailed link, or the 8-digit code from the same email.

Every answer is the same whether or not the address belongs to a member. Rate limits here are
per process; the count of wrong codes that matters (per address, across every email) is kept in
the database by the domain.
"""
from __future__ import annotations

from flask import Blueprint, redirect, render_template, request, session
from flask_babel import lazy_gettext
from marshmallow import ValidationError
from werkzeug.wrappers import Response

from service.db import utcnow
from service.domain.members.signin import redeem_code, redeem_link, request_signin
from service.extensions import client_key, limiter
from service.models import Member
from service.schemas.join import CodeForm, SigninForm
from service.web.i18n import chosen_language
from service.web.public.readers import email_key, end_this_session, safe_next, sign_in

bp = Blueprint("signin", __name__)
NEXT = "signin_next"  # where to go after signing in, kept in the browser session between the steps
SIGNIN_EMAIL = "signin_email"
# Each request sends an email; each code guess is one of a hundred million.
REQUEST_LIMIT_PER_IP = "10 per minute;50 per hour"
REQUEST_LIMIT_PER_EMAIL = "3 per minute;10 per hour"
CODE_LIMIT_PER_IP = "10 per minute;30 per hour"
CODE_LIMIT_PER_EMAIL = "10 per hour"
WRONG_CODE = lazy_gettext("That code isn't right, or it has expired. Check the newest email from us, or ask for a new code.")
TOO_MANY_CODES = lazy_gettext("Too many wrong codes: use the link in your email instead.")


@bp.get("/signin")
def form():
    return render_template("signin/form.html", form={"next": safe_next(request.args.get("next"))}, errors={})


@bp.post("/signin")
@limiter.limit(REQUEST_LIMIT_PER_IP, key_func=client_key)
@limiter.limit(REQUEST_LIMIT_PER_EMAIL, key_func=email_key)
def request_link():
    try:
        data = SigninForm().load(request.form.to_dict())
    except ValidationError as exc:
        return render_template("signin/form.html", form=request.form, errors=exc.normalized_messages()), 422
    request_signin(data["email"], utcnow())
    session[SIGNIN_EMAIL], session[NEXT] = data["email"], safe_next(request.form.get("next"))
    return render_template("signin/check_inbox.html", email=data["email"], errors={})


@bp.post("/signin/code")
@limiter.limit(CODE_LIMIT_PER_IP, key_func=client_key)
@limiter.limit(CODE_LIMIT_PER_EMAIL, key_func=email_key)
def enter_code():
    try:
        data = CodeForm().load(request.form.to_dict())
    except ValidationError as exc:
        return render_template("signin/check_inbox.html", email=request.form.get("email", ""),
                               errors=exc.normalized_messages()), 422
    result = redeem_code(data["email"], data["code"], utcnow(), language=chosen_language())
    if result.member is None:
        message = TOO_MANY_CODES if result.too_many else WRONG_CODE
        return render_template("signin/check_inbox.html", email=data["email"], errors={"code": [message]}), 422
    return _signed_in(result.member)


@bp.get("/signin/link/<token>")
def follow_link(token: str):
    """The emailed link signs in at once; mail scanners that open it first use up one of its few uses.
    A language the reader chose in this browser becomes the member's."""
    return _signed_in(redeem_link(token, utcnow(), language=chosen_language()))


def _signed_in(member: Member) -> Response:
    target = safe_next(session.get(NEXT))
    sign_in(member)
    return redirect(target, 303)


@bp.post("/signout")
def sign_out():
    end_this_session()
    return redirect("/", 303)

"""Joining: the form's POST, and the end of checkout where Stripe sends the reader back, paid or not."""
from __future__ import annotations

import re

from flask import Blueprint, current_app, redirect, render_template, request, session, url_for
from marshmallow import ValidationError

from service.db import utcnow
from service.domain.billing.checkout import confirm_checkout
from service.domain.billing.join import JoinRequest, live_billing, start_join
from service.domain.billing.plans import active_plans
from service.domain.giving.attribution import clean
from service.domain.members.access import has_access
from service.domain.members.account import portal_url
from service.extensions import limiter
from service.gateways import payments
from service.i18n import current_language
from service.schemas.join import JoinForm
from service.web.public.currency import chosen_currency
from service.web.public.home import render_join_form
from service.web.public.readers import email_key, signed_in_member

bp = Blueprint("join", __name__)
SESSION_ID = re.compile(r"^cs_[A-Za-z0-9_]{1,250}$")
# The browser session key that remembers which pending member this reader is.
JOINING_MEMBER = "joining_member_id"
# Each join costs Stripe calls; an address gets a few tries, a network somewhat more (shared offices).
JOIN_LIMIT_PER_IP = "10 per minute;60 per hour"
JOIN_LIMIT_PER_EMAIL = "5 per minute;20 per hour"


@bp.post("/join")
@limiter.limit(JOIN_LIMIT_PER_IP)
@limiter.limit(JOIN_LIMIT_PER_EMAIL, key_func=email_key)
def join():
    """303 to Stripe Checkout; or, for an address that is already a member's, the same
    "check your inbox" page sign-in shows (a sign-in link was emailed)."""
    now, base_url = utcnow(), current_app.config["BASE_URL"]
    member = signed_in_member()
    if member is not None and (has_access(member, now) or live_billing(member, payments(), now)):
        if member.stripe_customer_id is None:  # a comp, with nothing to bill: their account page
            return redirect(url_for("account.index"), 303)
        return redirect(portal_url(member, payments(), f"{base_url}/account", now, language=current_language()), 303)
    try:
        form = JoinForm(active_plans(), chosen_currency(request.form)).load(request.form.to_dict())
    except ValidationError as exc:
        return render_join_form(request.form, exc.normalized_messages(), 422)
    outcome = start_join(JoinRequest(**form, attribution=clean(request.form), language=current_language()), payments(), now,
                         base_url=base_url, checked=member)
    if outcome.checkout_url is None:
        return render_template("signin/check_inbox.html", email=form["email"], errors={})
    session[JOINING_MEMBER] = outcome.member_id
    return redirect(outcome.checkout_url, 303)


@bp.get("/join/success")
def success():
    """Runs the same idempotent sync as the webhook, so a reader who arrives first sees
    their membership; the webhook that follows changes nothing. It works in any browser
    (the reader may finish paying on another device), but only the browser that started
    this checkout sees whose membership it is: any other sees "confirmed" or "still
    confirming", nothing more."""
    session_id, now = request.args.get("session_id", ""), utcnow()
    confirmed = confirm_checkout(session_id, payments(), now) if SESSION_ID.match(session_id) else None
    member = confirmed.member if confirmed is not None else None
    welcomed = member is not None and has_access(member, now)
    mine = member is not None and session.get(JOINING_MEMBER) == member.id
    return render_template("join/success.html", member=member if mine else None, welcomed=welcomed,
                           awaiting_bank=confirmed is not None and confirmed.awaiting_payment and not welcomed,
                           session_id=session_id if SESSION_ID.match(session_id) else None)


@bp.get("/join/cancelled")
def cancelled():
    return render_template("join/cancelled.html")

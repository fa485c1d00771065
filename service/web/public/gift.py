"""Gift memberships: the /gift form and its POST to Stripe Checkout, the way back, and the
recipient's redemption page."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Blueprint, current_app, redirect, render_template, request, session
from marshmallow import ValidationError

from service.db import utcnow
from service.domain.giving import gifts
from service.domain.giving.amounts import gift_prices
from service.domain.giving.attribution import clean
from service.domain.giving.give import confirm_gift
from service.domain.members.access import has_access
from service.extensions import limiter
from service.gateways import payments
from service.i18n import current_language
from service.schemas.gift import MAX_DAYS_AHEAD, GiftForm
from service.web.public.currency import chosen_currency
from service.web.public.join import JOIN_LIMIT_PER_EMAIL, JOIN_LIMIT_PER_IP, SESSION_ID
from service.web.public.readers import sign_in, signed_in_member

bp = Blueprint("gift", __name__)
# The browser session key that remembers whose gift purchase this browser started.
GIFTING_MEMBER = "gifting_member_email"
# Redeeming costs a Stripe call for a paying recipient; a link is tried a few times at most.
REDEEM_LIMIT = "10 per minute;50 per hour"


def _purchaser_email_key() -> str:
    return (request.form.get("purchaser_email") or "").strip().lower() or (request.remote_addr or "")


def render_gift_form(form: Mapping[str, Any], errors: Mapping[str, Any] | None = None, status: int = 200) -> tuple[str, int]:
    currency, today = chosen_currency(form), utcnow().date()
    form = dict(form)
    form.setdefault("months", "12")
    form.setdefault("deliver_on", today.isoformat())
    member = signed_in_member()
    if member is not None:
        form.setdefault("purchaser_name", member.name)
        form.setdefault("purchaser_email", member.email)
    page = render_template("gift/form.html", form=form, errors=dict(errors or {}), prices=gift_prices(currency),
                           currency=currency, today=today, last_day=today.fromordinal(today.toordinal() + MAX_DAYS_AHEAD),
                           attribution=clean(form), member=member)
    return page, status


@bp.get("/gift")
def form():
    return render_gift_form({**clean(request.args), "currency": chosen_currency(request.args),
                             **({"months": request.args["months"]} if request.args.get("months") in ("3", "6", "12") else {})})


@bp.post("/gift")
@limiter.limit(JOIN_LIMIT_PER_IP)
@limiter.limit(JOIN_LIMIT_PER_EMAIL, key_func=_purchaser_email_key)
def buy():
    """303 to Stripe Checkout for the gift membership, or the form again with what to fix beside each field."""
    currency, now = chosen_currency(request.form), utcnow()
    prices = gift_prices(currency)
    try:
        data = GiftForm(prices, now.date()).load(request.form.to_dict())
    except ValidationError as exc:
        return render_gift_form(request.form.to_dict(), exc.normalized_messages(), 422)
    req = gifts.GiftRequest(**data, currency=currency, attribution=clean(request.form), language=current_language())
    url = gifts.start_gift(req, payments(), now, base_url=current_app.config["BASE_URL"])
    session[GIFTING_MEMBER] = data["purchaser_email"]
    return redirect(url, 303)


@bp.get("/gift/success")
def success():
    """Records the payment now if Stripe says it is paid (the webhook that follows changes nothing)
    and says when the recipient will hear. Only the browser that bought the gift sees its details."""
    session_id, now = request.args.get("session_id", ""), utcnow()
    confirmed = confirm_gift(session_id, payments(), now) if SESSION_ID.match(session_id) else None
    gift = gifts.gift_for_session(session_id) if confirmed is not None else None
    mine = confirmed is not None and session.get(GIFTING_MEMBER) == confirmed.member.email
    return render_template("gift/success.html", gift=gift if mine else None,
                           paid=confirmed is not None and confirmed.contribution is not None,
                           contribution=confirmed.contribution if mine and confirmed else None,
                           awaiting_bank=confirmed is not None and confirmed.awaiting_payment)


@bp.get("/gift/redeem/<token>")
def redeem_page(token: str):
    """Shows the gift and a button: opening the link (as mail scanners do) spends nothing."""
    gift, now = gifts.gift_for_token(token), utcnow()
    if gift is None:
        return render_template("gift/redeem.html", gift=None, state="invalid"), 404
    state = "open" if gifts.usable(gift, now) else str(gift.status)
    return render_template("gift/redeem.html", gift=gift, state=state, token=token), 200 if state == "open" else 410


@bp.post("/gift/redeem/<token>")
@limiter.limit(REDEEM_LIMIT)
def redeem(token: str):
    """Redeem the gift (once, under its lock) and show the membership it gave."""
    gift, now = gifts.gift_for_token(token, lock=True), utcnow()
    if gift is None:
        return render_template("gift/redeem.html", gift=None, state="invalid"), 404
    result = gifts.redeem(gift, payments(), now)
    if result is None:
        return render_template("gift/redeem.html", gift=gift, state=str(gift.status), token=token), 410
    # A new reader is signed in by redeeming (the link came to their inbox, as a sign-in link would);
    # an existing member's account is not opened by a link that may have been forwarded.
    if result.new_member:
        sign_in(result.member)
    return render_template("gift/redeemed.html", gift=gift, member=result.member, credited=result.credited,
                           months_covered=gifts.months_covered(result.credited or 0, result.member),
                           member_access=has_access(result.member, utcnow()))

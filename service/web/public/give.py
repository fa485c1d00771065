"""One-time gifts: the /give form, its POST to Stripe Checkout (mode=payment), and the way back."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Blueprint, current_app, redirect, render_template, request, session
from flask_babel import gettext
from marshmallow import ValidationError

from service.db import utcnow
from service.domain.giving.amounts import fee_cover, give_minimum, month_price
from service.domain.giving.attribution import clean
from service.domain.giving.give import GiveRequest, confirm_gift, start_give
from service.domain.members.access import has_access
from service.extensions import limiter
from service.gateways import payments
from service.i18n import current_language
from service.schemas.give import OTHER, GiveForm
from service.schemas.join import dollars_to_cents
from service.web.public.currency import chosen_currency
from service.web.public.join import JOIN_LIMIT_PER_EMAIL, JOIN_LIMIT_PER_IP, SESSION_ID
from service.web.public.readers import email_key, signed_in_member

bp = Blueprint("give", __name__)
# The browser session key that remembers which member this reader's gift was for.
GIVING_MEMBER = "giving_member_id"


def _prefill(args: Mapping[str, str], suggested: list[int]) -> dict[str, Any]:
    """What a link like /give?amount=25&campaign=spring&currency=eur selects; a bad amount is ignored."""
    currency = chosen_currency(args)
    form: dict[str, Any] = {"currency": currency,
                            "amount_choice": str(suggested[1] if len(suggested) > 1 else suggested[0]) if suggested else OTHER}
    cents = dollars_to_cents(args.get("amount", ""), currency=currency) if args.get("amount") else None
    if cents is not None and cents >= give_minimum(currency):
        form.update(amount_choice=str(cents) if cents in suggested else OTHER,
                    other_amount="" if cents in suggested else args["amount"].strip())
    member = signed_in_member()
    if member is not None:
        form.update(name=member.name, email=member.email)
    return form


def render_give_form(form: Mapping[str, Any], errors: Mapping[str, Any] | None = None, status: int = 200) -> tuple[str, int]:
    config, currency = current_app.config, chosen_currency(form)
    page = render_template("give/form.html", form=dict(form), errors=dict(errors or {}),
                           suggested=config["GIVE_SUGGESTED_AMOUNTS"], minimum=give_minimum(currency),
                           currency=currency, fee_percent=config["FEE_PERCENT"], fee_fixed=config["FEE_FIXED"],
                           month_price=month_price(currency), max_months=config["ONE_TIME_MAX_MONTHS"],
                           attribution=clean(form), member=signed_in_member())
    return page, status


@bp.get("/give")
def form():
    prefill = {**clean(request.args), **_prefill(request.args, current_app.config["GIVE_SUGGESTED_AMOUNTS"])}
    return render_give_form(prefill)


@bp.post("/give")
@limiter.limit(JOIN_LIMIT_PER_IP)
@limiter.limit(JOIN_LIMIT_PER_EMAIL, key_func=email_key)
def give():
    """303 to Stripe Checkout for the gift, or the form again with what to fix beside each field."""
    config, currency = current_app.config, chosen_currency(request.form)
    try:
        data = GiveForm(config["GIVE_SUGGESTED_AMOUNTS"], give_minimum(currency), currency).load(request.form.to_dict())
    except ValidationError as exc:
        return render_give_form(request.form.to_dict(), exc.normalized_messages(), 422)
    req = GiveRequest(**data, currency=currency, attribution=clean(request.form), language=current_language())
    url = start_give(req, payments(), utcnow(), base_url=config["BASE_URL"])
    session[GIVING_MEMBER] = data["email"]
    return redirect(url, 303)


@bp.get("/give/fee")
def fee():
    """The fee cover for an amount, for readers whose browser runs no script: ?amount=25[&currency=eur]."""
    currency = chosen_currency(request.args)
    cents = dollars_to_cents(request.args.get("amount", ""), currency=currency)
    if cents is None or cents < give_minimum(currency):
        return {"error": {"code": "bad_amount", "message": gettext("Give an amount in dollars, like 25 or 12.50.")}}, 400
    return {"amount": cents, "fee_covered": fee_cover(cents), "total": cents + fee_cover(cents), "currency": currency}


@bp.get("/give/success")
def success():
    """Records the gift now if Stripe says it is paid (the webhook that follows changes nothing).
    Only the browser that started the gift sees its details."""
    session_id, now = request.args.get("session_id", ""), utcnow()
    confirmed = confirm_gift(session_id, payments(), now) if SESSION_ID.match(session_id) else None
    contribution = confirmed.contribution if confirmed is not None else None
    mine = confirmed is not None and session.get(GIVING_MEMBER) == confirmed.member.email
    # Access is checked after the member's lock was taken: the webhook may have granted the term
    # while this request waited for it, starting it later than `now` above.
    checked_at = utcnow()
    return render_template("give/success.html", contribution=contribution if mine else None, paid=contribution is not None,
                           member=confirmed.member if mine and confirmed else None,
                           member_access=bool(mine and confirmed and has_access(confirmed.member, checked_at)),
                           awaiting_bank=confirmed is not None and confirmed.awaiting_payment)

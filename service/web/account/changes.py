"""The account page's cancel flow (reason, offers, confirmation) and the reader's own plan changes."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext, ngettext
from marshmallow import ValidationError

from service.db import utcnow
from service.domain.members.account import cancel_plan, day, status_of
from service.domain.members.plan_changes import (
    PAUSE_MONTHS,
    Change,
    change_amount,
    choices,
    switch_to_monthly_at_renewal,
    switch_to_yearly,
)
from service.domain.members.retention import decline, offers_for, take_offer
from service.errors import ChangeDeclined, Conflict
from service.extensions import db
from service.gateways import payments
from service.models import CancelReason, Member, RetentionOffer
from service.money import format_money
from service.schemas.account import AmountForm, OfferForm, ReasonForm
from service.schemas.join import money
from service.web.account import account_page
from service.web.public.readers import reader_required, signed_in_member

bp = Blueprint("account_changes", __name__, url_prefix="/account")


@bp.errorhandler(ChangeDeclined)
def declined(exc: ChangeDeclined) -> tuple[str, int]:
    """A change the card did not pay for (switching to yearly, here or in the cancel flow): the
    account page, as it was, saying so. Like every error handler, it rolls the request back first."""
    db.session.rollback()
    return account_page(error=exc.message, status=422)


def _member() -> Member:
    member = signed_in_member()
    assert member is not None
    return member


def _cancel_page(step: str, form: Mapping[str, Any], errors: Mapping[str, Any] | None = None,
                 status: int = 200) -> tuple[str, int]:
    member, now = _member(), utcnow()
    offers = offers_for(member, current_app.config["RETENTION_OFFERS"])
    return render_template("account/cancel.html", step=step, form=dict(form), errors=dict(errors or {}),
                           member=member, status=status_of(member, now), plan=cancel_plan(member, now),
                           offers=offers, reasons=[r for r in CancelReason if r is not CancelReason.NOT_GIVEN], pause_months=PAUSE_MONTHS,
                           money=money, day=day), status


def _available(member: Member) -> tuple[list[str], str, int | None]:
    offers = offers_for(member, current_app.config["RETENTION_OFFERS"])
    names = [o.value for o in RetentionOffer if getattr(offers, o.value)]
    sub = offers.choices.subscription if offers.choices else None
    return names, sub.currency if sub else "usd", offers.choices.min_amount if offers.choices else None


@bp.get("/cancel")
@reader_required
def confirm_cancel():
    return _cancel_page("reason", {})


@bp.post("/cancel/reason")
@reader_required
def reason():
    """Step one answered: the offers (or, with none, the confirmation) with the reason carried along."""
    try:
        ReasonForm().load(request.form.to_dict())
    except ValidationError as exc:
        return _cancel_page("reason", request.form.to_dict(), exc.normalized_messages(), 422)
    return _cancel_page("offers", request.form.to_dict())


@bp.post("/cancel/offer")
@reader_required
def offer():
    member = _member()
    try:
        data = OfferForm(*_available(member)).load(request.form.to_dict())
    except ValidationError as exc:
        messages = exc.normalized_messages()
        step = "reason" if {"reason", "text"} & set(messages) else "offers"
        return _cancel_page(step, request.form.to_dict(), messages, 422)
    change = take_offer(member, data["reason"], data["text"], data["offer"], payments(), utcnow(),
                        configured=current_app.config["RETENTION_OFFERS"], months=data["months"], amount=data["amount"])
    flash(_said(data["offer"], change, data["months"]))
    return redirect(url_for("account.index"), 303)


@bp.post("/cancel")
@reader_required
def cancel():
    """Cancel at the period end. The pages ask for a reason first, but a post without one (an older
    page, a script) still cancels: leaving is never made to depend on answering."""
    form = request.form.to_dict()
    try:
        data: dict[str, Any] = ReasonForm().load(form) if form.get("reason") else {"reason": CancelReason.NOT_GIVEN, "text": None}
    except ValidationError as exc:
        return _cancel_page("reason", form, exc.normalized_messages(), 422)
    done = decline(_member(), data["reason"], data["text"], payments(), utcnow())
    said = [gettext("Your membership is cancelled and you won't be charged again.")]
    if done.stop_now:
        said.append(gettext("The payment that failed will not be tried again."))
    if done.access_until is not None:
        said.append(gettext("It stays active until %(day)s. Changed your mind? You can undo this until then.",
                            day=day(done.access_until)))
    flash(" ".join(said))
    return redirect(url_for("account.index"), 303)


def _said(offer: RetentionOffer, change: Change, months: int | None) -> str:
    sub = change.subscription
    amount, when = format_money(change.next_amount, sub.currency), day(change.next_at)
    if offer is RetentionOffer.PAUSE:
        return ngettext("Thank you for staying. Your payments are paused for %(num)d month and your membership "
                        "stays active; your next payment is %(amount)s on %(day)s.",
                        "Thank you for staying. Your payments are paused for %(num)d months and your membership "
                        "stays active; your next payment is %(amount)s on %(day)s.", months or 1, amount=amount, day=when)
    if offer is RetentionOffer.YEARLY:
        return _yearly_said(change)
    return _amount_said(change)


def _yearly_said(change: Change) -> str:
    sub = change.subscription
    return gettext("You're now a yearly member: %(charged)s was charged today, less the unused part of your month. "
                   "Your next payment is %(amount)s on %(day)s.", charged=format_money(change.charged_now or 0, sub.currency),
                   amount=format_money(change.next_amount, sub.currency), day=day(change.next_at))


def _amount_said(change: Change) -> str:
    sub = change.subscription
    return gettext("Your amount is now %(amount)s. Your next payment, on %(day)s, will be %(next)s, adjusted for the "
                   "rest of this period.", amount=money(sub.amount, sub.currency), day=day(change.next_at),
                   next=format_money(change.next_amount, sub.currency))


@bp.post("/plan/yearly")
@reader_required
def to_yearly():
    flash(_yearly_said(switch_to_yearly(_member(), payments(), utcnow())))
    return redirect(url_for("account.index"), 303)


@bp.post("/plan/monthly")
@reader_required
def to_monthly():
    change = switch_to_monthly_at_renewal(_member(), payments(), utcnow())
    flash(gettext("From %(day)s your membership will be %(amount)s a month. Nothing changes before then.",
                  day=day(change.next_at), amount=format_money(change.next_amount, change.subscription.currency)))
    return redirect(url_for("account.index"), 303)


def _amount_page(form: Mapping[str, Any], errors: Mapping[str, Any] | None = None, status: int = 200) -> tuple[str, int]:
    found = choices(_member())
    if found is None or found.pwyw is None:
        raise Conflict(gettext("This membership has no amount to choose."), code="nothing_to_change")
    return render_template("account/amount.html", choices=found, form=dict(form), errors=dict(errors or {}),
                           money=money, day=day), status


@bp.get("/plan/amount")
@reader_required
def amount_form():
    return _amount_page({})


@bp.post("/plan/amount")
@reader_required
def amount():
    member = _member()
    found = choices(member)
    sub = found.subscription if found else None
    try:
        data = AmountForm(sub.currency if sub else "usd", found.min_amount if found else None).load(request.form.to_dict())
    except ValidationError as exc:
        return _amount_page(request.form.to_dict(), exc.normalized_messages(), 422)
    flash(_amount_said(change_amount(member, data["amount"], payments(), utcnow())))
    return redirect(url_for("account.index"), 303)

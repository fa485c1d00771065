"""Gift memberships in the console: the list by status, one gift's page, and what staff can do to it
(resend the email, move the delivery date, revoke with a refund)."""
from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for

from service.db import utcnow
from service.domain.insight.gifts import counts, page
from service.domain.staff import gifts as staff_gifts
from service.extensions import db
from service.gateways import payments
from service.models import Contribution, Gift, GiftStatus, Role
from service.schemas.gift import GiftQuery, RescheduleForm
from service.schemas.staff import load
from service.web.staff.base import bp, signed_in_staff, staff_required


@bp.get("/gifts")
@staff_required()
def gifts_page():
    args = load(GiftQuery(), request.args)
    found, next_cursor = page(args["status"], limit=args["limit"], after=args["cursor"])
    return render_template("staff/gifts.html", rows=found, counts=counts(), status=args["status"], statuses=list(GiftStatus),
                           next_cursor=next_cursor, first_page=args["cursor"] is None)


@bp.get("/gifts/<int:gift_id>")
@staff_required()
def gift_page(gift_id: int):
    gift = db.session.get(Gift, gift_id)
    if gift is None:
        abort(404)
    contribution = db.session.get(Contribution, gift.contribution_id) if gift.contribution_id else None
    me = signed_in_staff()
    return render_template("staff/gift.html", gift=gift, contribution=contribution, today=utcnow().date(),
                           can_act=me.role.allows(Role.SUPPORT), can_revoke=me.role.allows(Role.ADMIN))


def _back(gift_id: int, message: str):
    flash(message, "info")
    return redirect(url_for("staff.gift_page", gift_id=gift_id), code=303)


@bp.post("/gifts/<int:gift_id>/resend")
@staff_required(Role.SUPPORT)
def resend_gift(gift_id: int):
    gift = staff_gifts.resend(gift_id, signed_in_staff(), utcnow())
    return _back(gift_id, f"The gift's email is queued for {gift.recipient_email}.")


@bp.post("/gifts/<int:gift_id>/reschedule")
@staff_required(Role.SUPPORT)
def reschedule_gift(gift_id: int):
    form = load(RescheduleForm(), request.form)
    gift = staff_gifts.reschedule(gift_id, form["deliver_on"], signed_in_staff(), utcnow())
    said = "delivered now" if gift.status is GiftStatus.DELIVERED else f"to be delivered on {gift.deliver_on.isoformat()}"
    return _back(gift_id, f"Gift {said}.")


@bp.post("/gifts/<int:gift_id>/revoke")
@staff_required(Role.ADMIN, recent=True)
def revoke_gift(gift_id: int):
    staff_gifts.revoke(gift_id, signed_in_staff(), payments(), utcnow())
    return _back(gift_id, "Gift revoked and its payment refunded in Stripe; its link no longer works.")

"""What staff do to a member: each a POST with a CSRF token, one domain call, a redirect back."""
from __future__ import annotations

from datetime import UTC, datetime, time

from flask import flash, redirect, request, url_for

from service.db import utcnow
from service.domain.billing.reconcile import staff_resync
from service.domain.members import comps, email_change, erasure
from service.domain.staff import actions as staff_actions
from service.gateways import payments
from service.models import Role
from service.schemas.staff import CancelForm, CompForm, DuplicateForm, EditForm, EraseForm, NoteForm, load
from service.web.staff.base import bp, signed_in_staff, staff_required


def _back_to(member_id: int, message: str):
    flash(message, "info")
    return redirect(url_for("staff.member_page", member_id=member_id), code=303)


@bp.post("/members/<int:member_id>/comp")
@staff_required(Role.SUPPORT)
def grant_comp(member_id: int):
    form = load(CompForm(), request.form)
    until = datetime.combine(form["until"], time.min, tzinfo=UTC) if "until" in form else None
    comps.grant_comp(member_id, signed_in_staff(), utcnow(), until=until)
    return _back_to(member_id, "Complimentary membership granted.")


@bp.post("/members/<int:member_id>/comp/end")
@staff_required(Role.SUPPORT)
def end_comp(member_id: int):
    comps.end_comp(member_id, signed_in_staff(), utcnow())
    return _back_to(member_id, "Complimentary membership ended.")


@bp.post("/members/<int:member_id>/notes")
@staff_required(Role.SUPPORT)
def add_note(member_id: int):
    form = load(NoteForm(), request.form)
    staff_actions.add_note(member_id, signed_in_staff(), form["text"], utcnow())
    return _back_to(member_id, "Note added.")


@bp.post("/members/<int:member_id>/signin-link")
@staff_required(Role.SUPPORT)
def send_signin_link(member_id: int):
    staff_actions.resend_signin_link(member_id, signed_in_staff(), utcnow())
    return _back_to(member_id, "A sign-in link is on its way to the member.")


@bp.post("/members/<int:member_id>/resync")
@staff_required(Role.SUPPORT, recent=True)
def resync(member_id: int):
    staff_resync(member_id, signed_in_staff(), payments(), utcnow())
    return _back_to(member_id, "Billing re-read from Stripe.")


@bp.post("/members/<int:member_id>/edit")
@staff_required(Role.SUPPORT, recent=True)
def edit(member_id: int):
    form = load(EditForm(), request.form)
    done = staff_actions.edit_member(member_id, signed_in_staff(), payments(), utcnow(), email=form["email"],
                                     name=form["name"], override=form["apply_now"])
    return _back_to(member_id, _edited(done))


def _edited(done: staff_actions.Edited) -> str:
    said = ["Name saved, here and on the Stripe customer."] if done.renamed else []
    if done.pending is not None:
        said.append(f"The email changes to {done.pending.new_email} once that address confirms: a link went "
                    "there, and a notice to the current address.")
    if done.email_changed:
        said.append("Email changed without confirmation, here and on the Stripe customer; the old address was told.")
    return " ".join(said)


@bp.post("/members/<int:member_id>/email-changes/<int:change_id>/cancel")
@staff_required(Role.SUPPORT)
def cancel_email_change(member_id: int, change_id: int):
    email_change.cancel(member_id, change_id, signed_in_staff(), utcnow())
    return _back_to(member_id, "Email change cancelled: its confirmation link no longer works.")


@bp.post("/members/<int:member_id>/cancel")
@staff_required(Role.ADMIN, recent=True)
def cancel(member_id: int):
    form = load(CancelForm(), request.form)
    staff_actions.cancel_subscription(member_id, form["subscription"], signed_in_staff(), payments(), utcnow(),
                                      at_period_end=form["when"] == "period_end")
    return _back_to(member_id, "Subscription cancelled in Stripe.")


@bp.post("/members/<int:member_id>/duplicates/refund")
@staff_required(Role.ADMIN, recent=True)
def refund_duplicate(member_id: int):
    form = load(DuplicateForm(), request.form)
    staff_actions.cancel_and_refund_duplicate(member_id, form["subscription"], signed_in_staff(), payments(), utcnow())
    return _back_to(member_id, "Duplicate subscription cancelled and its payments refunded in Stripe.")


@bp.post("/members/<int:member_id>/erase")
@staff_required(Role.ADMIN, recent=True)
def erase(member_id: int):
    load(EraseForm(), request.form)
    erasure.erase_member(member_id, signed_in_staff(), payments(), utcnow())
    return _back_to(member_id, "Personal data erased; billing records kept.")

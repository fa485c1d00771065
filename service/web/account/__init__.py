"""A signed-in reader's account: status, invoices, billing, cancel and undo, newsletters, their data."""
from __future__ import annotations

import json

from flask import Blueprint, Response, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext

from service.db import utcnow
from service.domain.giving import gifts, statements
from service.domain.giving.statement_pdf import kind_name
from service.domain.members import email_change
from service.domain.members.access import primary_subscription
from service.domain.members.account import (
    day,
    invoice_status,
    invoices,
    portal_url,
    status_of,
    undo_cancel,
)
from service.domain.members.plan_changes import choices as plan_choices
from service.domain.members.reader_data import choose_newsletter, export, newsletter_choices
from service.domain.members.signin import end_reader_sessions
from service.errors import BillingError
from service.gateways import payments
from service.models import Member
from service.schemas.join import money
from service.web.public.readers import end_this_session, reader_required, signed_in_member

bp = Blueprint("account", __name__, url_prefix="/account")


def _member() -> Member:
    """The signed-in member; `reader_required` guarantees there is one."""
    member = signed_in_member()
    assert member is not None
    return member


@bp.get("")
@reader_required
def index():
    return account_page()


def account_page(error: str | None = None, status: int = 200) -> tuple[str, int]:
    """The account page, with `error` (a sentence for the reader) at the top when an action failed."""
    member, now = _member(), utcnow()
    contributions = statements.member_contributions(member.id)
    try:
        credit = gifts.gift_credit(member, payments())
    except BillingError:  # Stripe unreachable: the page shows everything else
        credit = None
    return render_template("account/index.html", member=member, status=status_of(member, now),
                           gift_credit=credit, gifts_given=gifts.given_by(member),
                           subscription=primary_subscription(member.subscriptions), invoices=invoices(member),
                           choices=newsletter_choices(member), money=money, day=day, contributions=contributions,
                           statement_years=statements.years_given(contributions), kind_name=kind_name,
                           invoice_status=invoice_status, plan_choices=plan_choices(member), error=error), status


@bp.post("/billing")
@reader_required
def manage_billing():
    """The billing portal for this member's own Stripe customer, coming back here."""
    url = portal_url(_member(), payments(), f"{current_app.config['BASE_URL']}/account", utcnow())
    return redirect(url, 303)


@bp.post("/cancel/undo")
@reader_required
def undo():
    sub = undo_cancel(_member(), payments(), utcnow())
    flash(gettext("Welcome back: your membership will renew on %(day)s.", day=day(sub.current_period_end)))
    return redirect(url_for("account.index"), 303)


@bp.post("/newsletters")
@reader_required
def newsletters():
    slug, subscribe = request.form.get("list", ""), request.form.get("action") == "subscribe"
    choose_newsletter(_member(), slug, subscribe, request.remote_addr, request.user_agent.string or None, utcnow())
    flash(gettext("Your newsletter choice is saved."))
    return redirect(url_for("account.index") + "#newsletters", 303)


@bp.post("/signout-everywhere")
@reader_required
def sign_out_everywhere():
    """End every session of this reader, on every device (a lost phone, a shared computer), and this one."""
    end_reader_sessions(_member())
    end_this_session()
    flash(gettext("You are signed out on every device, including this one."))
    return redirect("/", 303)


@bp.get("/data")
@reader_required
def download_data():
    """Everything stored about the reader, as a JSON file."""
    body = json.dumps(export(_member(), utcnow()), indent=2, sort_keys=True)
    return Response(body, mimetype="application/json",
                    headers={"Content-Disposition": 'attachment; filename="my-membership-data.json"',
                             "Cache-Control": "no-store"})


@bp.get("/statements/<int:year>.pdf")
@reader_required
def statement(year: int):
    """The reader's giving statement for fiscal year `year` (named by the year it ends in), as a PDF
    built now from their contributions; 404 for a year they gave nothing in."""
    pdf = statements.pdf_for(_member().id, year, utcnow())
    return Response(pdf, mimetype="application/pdf",
                    headers={"Content-Disposition": f'attachment; filename="giving-statement-{year}.pdf"',
                             "Cache-Control": "no-store"})


@bp.get("/email/confirm/<token>")
def confirm_email_page(token: str):
    """The link in the email only shows a button: mail scanners fetch links, and must not apply the change."""
    change = email_change.change_for_link(token, utcnow())
    return render_template("account/confirm_email.html", change=change, token=token, day=day)


@bp.post("/email/confirm/<token>")
def confirm_email(token: str):
    """Apply the change (once); every session under the old address ends, so the reader signs in again."""
    member = email_change.confirm(token, payments(), utcnow())
    return render_template("account/email_confirmed.html", email=member.email)

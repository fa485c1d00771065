"""Annual giving statements in the console: a fiscal year's donors with their statement's state,
"build and send all", and each donor's PDF."""
from __future__ import annotations

from flask import Response, flash, redirect, render_template, request, url_for

from service.db import utcnow
from service.domain.giving import donors, statements
from service.models import Role
from service.schemas.staff import load
from service.schemas.statements import SendStatementsForm, StatementsArgs
from service.web.staff.base import bp, signed_in_staff, staff_required

PAGE = 100
# Statements built and queued per click: each PDF takes about a tenth of a second, and the request
# must answer well within the proxy's timeout. The CLI has no such limit.
SEND_LIMIT = 50


@bp.get("/statements")
@staff_required()
def statements_page():
    """A fiscal year's donors (by default the last year that ended) and where their statements stand."""
    args, now = load(StatementsArgs(), request.args), utcnow()
    year = statements.past_or_current_year(args.get("year") or statements.fiscal_year_of(now) - 1, now)
    return render_template("staff/statements.html", o=donors.overview(year, after=args.get("cursor") or 0, limit=PAGE),
                           send_limit=SEND_LIMIT, can_send=signed_in_staff().role.allows(Role.SUPPORT))


@bp.post("/statements/send")
@staff_required(Role.SUPPORT, recent=True)
def send_statements():
    form, now = load(SendStatementsForm(), request.form), utcnow()
    year = statements.past_or_current_year(form["year"], now)
    sent, left = donors.send_unsent(year, signed_in_staff(), now, limit=SEND_LIMIT)
    said = f"{len(sent)} statement(s) for fiscal year {year.year} built and queued; the worker emails them."
    if left:
        said += (" More are waiting: press the button again, or run "
                 f"`membership statements build --year {year.year} --send`.")
    elif not sent:
        said = f"Every donor's statement for fiscal year {year.year} has been sent already."
    flash(said, "info")
    return redirect(url_for("staff.statements_page", year=year.year), code=303)


@bp.get("/statements/<int:year>/<int:member_id>.pdf")
@staff_required()
def statement_pdf(year: int, member_id: int):
    """One donor's statement as it stands now, for staff to check or forward."""
    pdf = statements.pdf_for(member_id, year, utcnow())
    return Response(pdf, mimetype="application/pdf",
                    headers={"Content-Disposition": f'attachment; filename="giving-statement-{year}-member-{member_id}.pdf"',
                             "Cache-Control": "no-store"})

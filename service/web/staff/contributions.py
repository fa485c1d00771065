"""The contributions list: filters, totals per currency, paging, and the same list as CSV."""
from __future__ import annotations

from dataclasses import replace

from flask import Response, render_template, request, stream_with_context

from service.domain.insight.contributions import export_lines, members_of, page, totals
from service.models import ContributionKind
from service.schemas.contribution import ContributionArgs
from service.schemas.staff import load
from service.web.staff.base import bp, staff_required

PAGE = 50


@bp.get("/contributions")
@staff_required()
def contributions():
    args = load(ContributionArgs(), request.args)
    f = args["filter"]
    found, next_cursor = page(f, limit=PAGE, after=args["cursor"])
    return render_template("staff/contributions.html", f=f, rows=found, members=members_of(found), totals=totals(f),
                           next_cursor=next_cursor.encode() if next_cursor else None, kinds=list(ContributionKind),
                           first_page=args["cursor"] is None, everyone=replace(f, member_id=None))


@bp.get("/contributions.csv")
@staff_required()
def export_contributions():
    f = load(ContributionArgs(exclude=("limit", "cursor")), request.args)["filter"]
    return Response(stream_with_context(export_lines(f)), mimetype="text/csv",
                    headers={"Content-Disposition": 'attachment; filename="contributions.csv"'})

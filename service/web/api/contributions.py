"""Contributions in the JSON API, and as CSV for spreadsheets and the accountant."""
from __future__ import annotations

from flask import Response, jsonify, stream_with_context

from service.domain.insight.contributions import export_lines, page
from service.schemas.contribution import ContributionListOut, ContributionQuery
from service.web.api.base import bp, parse_query, require_token


@bp.get("/v1/contributions")
@require_token()
def list_contributions():
    args = parse_query(ContributionQuery())
    found, next_cursor = page(args["filter"], limit=args["limit"], after=args["cursor"])
    return jsonify(ContributionListOut().dump(
        {"data": found, "has_more": next_cursor is not None, "next_cursor": next_cursor.encode() if next_cursor else None}))


@bp.get("/v1/contributions.csv")
@require_token()
def export_contributions():
    args = parse_query(ContributionQuery(exclude=("limit", "cursor")))
    return Response(stream_with_context(export_lines(args["filter"])), mimetype="text/csv",
                    headers={"Content-Disposition": 'attachment; filename="contributions.csv"'})

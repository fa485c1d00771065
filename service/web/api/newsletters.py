"""Newsletter subscribers in the JSON API (and as CSV): the `local` provider's list."""
from __future__ import annotations

from flask import Response, jsonify, stream_with_context

from service.domain.newsletter.lists import export_csv, subscribers
from service.domain.newsletter.subscriptions import get_list
from service.models import ListStatus
from service.schemas import cursor_value
from service.schemas.newsletter import SubscriberListOut, SubscriberQuery
from service.web.api.base import bp, parse_query, require_token


@bp.get("/v1/newsletters/<slug>/subscribers")
@require_token()
def list_subscribers(slug: str):
    args = parse_query(SubscriberQuery())
    cursor = cursor_value(args)
    page, next_cursor = subscribers(slug, status=ListStatus(args["status"]), limit=args["limit"], cursor=cursor)
    return jsonify(SubscriberListOut().dump(
        {"data": page, "has_more": next_cursor is not None, "next_cursor": str(next_cursor) if next_cursor else None}
    ))


@bp.get("/v1/newsletters/<slug>/subscribers.csv")
@require_token()
def export_subscribers(slug: str):
    args = parse_query(SubscriberQuery(only=("status",)))
    get_list(slug)  # 404 before the response starts streaming
    return Response(
        stream_with_context(export_csv(slug, ListStatus(args["status"]))),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{slug}-{args["status"]}.csv"'},
    )

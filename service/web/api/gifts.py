"""Gift memberships in the JSON API."""
from __future__ import annotations

from flask import jsonify

from service.domain.insight.gifts import page
from service.schemas.gift import GiftListOut, GiftQuery
from service.web.api.base import bp, parse_query, require_token


@bp.get("/v1/gifts")
@require_token()
def list_gifts():
    """Gift memberships, newest first: ?status=scheduled|delivered|redeemed|expired|revoked|awaiting_payment."""
    args = parse_query(GiftQuery())
    found, next_cursor = page(args["status"], limit=args["limit"], after=args["cursor"])
    return jsonify(GiftListOut().dump({"data": found, "has_more": next_cursor is not None,
                                       "next_cursor": str(next_cursor) if next_cursor else None}))

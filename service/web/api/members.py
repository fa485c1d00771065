"""Members in the JSON API."""
from __future__ import annotations

from flask import g, jsonify

from service.db import utcnow
from service.domain.billing.reconcile import staff_resync
from service.domain.insight.search import MemberFilter, search
from service.errors import NotFound
from service.extensions import db
from service.gateways import payments
from service.models import Member, MemberStatus, Role
from service.schemas import cursor_value
from service.schemas.member import MemberListOut, MemberOut, MemberQuery
from service.web.api.base import bp, parse_query, require_token


@bp.get("/v1/members")
@require_token()
def list_members():
    args = parse_query(MemberQuery())
    wanted = MemberFilter(email=args.get("email"), q=args.get("q"), plan=args.get("plan"),
                          status=MemberStatus(args["status"]) if "status" in args else None,
                          joined_from=args.get("joined_from"), joined_to=args.get("joined_to"))
    page, next_cursor = search(wanted, limit=args["limit"], cursor=cursor_value(args))
    return jsonify(MemberListOut().dump(
        {"data": page, "has_more": next_cursor is not None, "next_cursor": str(next_cursor) if next_cursor else None}
    ))


@bp.post("/v1/members/<int:member_id>/resync")
@require_token(Role.SUPPORT, write=True)
def resync_member(member_id: int):
    """Re-read the member's subscriptions from Stripe now; the change is audited."""
    member = staff_resync(member_id, g.api_user, payments(), utcnow())
    return jsonify(MemberOut().dump(member))


@bp.get("/v1/members/<int:member_id>")
@require_token()
def get_member(member_id: int):
    member = db.session.get(Member, member_id)
    if member is None:
        raise NotFound(f"No member with id {member_id}.")
    return jsonify(MemberOut().dump(member))

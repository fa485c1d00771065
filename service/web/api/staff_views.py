"""What the staff console shows, in the JSON API: member detail, audit log, stats."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Response, jsonify, stream_with_context

from service.db import utcnow
from service.domain.insight import dashboard, figures, member_view, snapshots
from service.domain.insight.audit_log import AuditFilter, entries
from service.domain.insight.dashboard import LongFigures
from service.errors import NotFound
from service.extensions import db
from service.schemas import cursor_value
from service.schemas.insight import InsightOut, InsightStatsOut
from service.schemas.staff_api import AuditListOut, AuditQuery, GivingOut, MemberDetailOut
from service.web.api.base import bp, parse_query, require_token

STATS_PART = "stats_json"


@bp.get("/v1/members/<int:member_id>/detail")
@require_token()
def member_detail(member_id: int):
    page = member_view.load(member_id, utcnow())
    body = MemberDetailOut().dump({**vars(page), "subscriptions": page.member.subscriptions})
    return jsonify(body)


@bp.get("/v1/audit")
@require_token()
def audit_log():
    args = parse_query(AuditQuery())
    wanted = AuditFilter(actor=args.get("actor"), action=args.get("action"), member_id=args.get("member_id"),
                         since=args.get("since"), until=args.get("until"))
    page, next_cursor = entries(wanted, limit=args["limit"], cursor=cursor_value(args))
    return jsonify(AuditListOut().dump(
        {"data": page, "has_more": next_cursor is not None, "next_cursor": str(next_cursor) if next_cursor else None}))


@bp.get("/v1/stats")
@require_token()
def stats():
    now = utcnow()
    body = InsightStatsOut(exclude=("giving", "insight")).dump(dashboard.load(now))
    long = snapshots.current(now)
    db.session.commit()  # a slow computation's result is kept
    return jsonify({**body, **long.parts[STATS_PART]})


@snapshots.renders(STATS_PART)
def _long_figures_json(long: LongFigures, now: datetime) -> dict[str, Any]:
    """The twelve-month figures' keys of /api/v1/stats, rendered once per computation."""
    return {"giving": GivingOut().dump(long.giving), "insight": InsightOut().dump(long.insight)}


@bp.get("/v1/stats/<figure>.csv")
@require_token()
def stats_csv(figure: str):
    """One insight figure as CSV: retention, churn, recovery, movements, campaigns or currencies."""
    if figure not in figures.FIGURES:
        raise NotFound(f"no figure {figure!r}: one of " + ", ".join(figures.FIGURES))
    return Response(stream_with_context(figures.csv_lines(figure, utcnow())), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{figure}.csv"'})


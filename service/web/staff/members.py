"""Finding members and the member page."""
from __future__ import annotations

from flask import Response, redirect, render_template, request, stream_with_context, url_for

from service.db import utcnow
from service.domain.insight import member_view
from service.domain.insight.search import MemberFilter, plan_codes, search
from service.domain.members.access import has_access, live_subscriptions, primary_subscription
from service.domain.members.csv_io import export_rows
from service.models import MemberStatus, Role
from service.schemas.staff import SearchArgs, load
from service.web.staff.base import bp, signed_in_staff, staff_required

PAGE = 25


def _filter(args: dict) -> MemberFilter:
    return MemberFilter(email=args.get("email"), q=args.get("q"), status=MemberStatus(args["status"])
                        if "status" in args else None, plan=args.get("plan"), joined_from=args.get("joined_from"),
                        joined_to=args.get("joined_to"))


@bp.get("/")
@staff_required()
def home():
    return redirect(url_for("staff.dashboard"))


@bp.get("/members")
@staff_required()
def search_members():
    args = load(SearchArgs(), request.args)
    f = _filter(args)
    page, next_cursor = search(f, limit=PAGE, cursor=args.get("cursor"), newsletters=False)
    now = utcnow()
    rows = [(m, has_access(m, now), primary_subscription(m.subscriptions)) for m in page]
    return render_template("staff/members.html", rows=rows, f=f, next_cursor=next_cursor, plans=plan_codes(),
                           statuses=list(MemberStatus), searched=bool(f.as_args()), first_page="cursor" not in args)


@bp.get("/members.csv")
@staff_required()
def export_members():
    f = _filter(load(SearchArgs(), request.args))
    lines = export_rows(f, utcnow())
    return Response(stream_with_context(lines), mimetype="text/csv",
                    headers={"Content-Disposition": 'attachment; filename="members.csv"'})


@bp.get("/members/<int:member_id>")
@staff_required()
def member_page(member_id: int):
    now = utcnow()
    page = member_view.load(member_id, now)
    user = signed_in_staff()
    return render_template("staff/member.html", p=page, m=page.member, live=live_subscriptions(page.member), now=now,
                           can_support=user.role.allows(Role.SUPPORT), can_admin=user.role.allows(Role.ADMIN))

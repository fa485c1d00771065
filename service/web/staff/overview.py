"""The dashboard and the audit log."""
from __future__ import annotations

from flask import render_template, request

from service.db import utcnow
from service.domain.insight import audit_log, dashboard
from service.models import Role
from service.schemas.staff import AuditArgs, load
from service.web.staff import charts
from service.web.staff.base import bp, staff_required


@bp.get("/dashboard", endpoint="dashboard")
@staff_required()
def dashboard_page():
    now = utcnow()
    d = dashboard.load(now)
    labels = [f"{w.start:%d %b}" for w in d.weeks]
    figures = {
        "status": charts.hbar("Members by status", list(d.by_status.items())),
        "weeks": charts.columns("Joins and lapses per week", labels,
                                [("Joins", [w.joins for w in d.weeks]), ("Lapses", [w.lapses for w in d.weeks])]),
        "revenue": charts.hbar("Monthly recurring revenue by plan",
                               [(f"{r.plan} ({r.currency.upper()})", r.monthly / 100) for r in d.revenue]),
    }
    return render_template("staff/dashboard.html", d=d, charts=figures, now=now)



@bp.get("/audit")
@staff_required(Role.VIEWER)
def audit_page():
    args = load(AuditArgs(), request.args)
    f = audit_log.AuditFilter(actor=args.get("actor"), action=args.get("action"), member_id=args.get("member_id"),
                              since=args.get("since"), until=args.get("until"))
    entries, next_cursor = audit_log.entries(f, cursor=args.get("cursor"))
    actors = audit_log.staff_emails({e.staff_user_id for e in entries if e.staff_user_id})
    return render_template("staff/audit.html", entries=entries, actors=actors, f=f, next_cursor=next_cursor,
                           actions=audit_log.actions())

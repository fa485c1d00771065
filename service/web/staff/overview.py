"""The dashboard, its figures as CSV, and the audit log."""
from __future__ import annotations

from datetime import datetime

from flask import Response, render_template, request, stream_with_context
from markupsafe import Markup

from service.db import utcnow
from service.domain.insight import audit_log, dashboard, figures, snapshots
from service.domain.insight.dashboard import LongFigures
from service.domain.insight.figures import Insight
from service.domain.insight.retention import OFFSETS
from service.errors import NotFound
from service.extensions import db
from service.models import Role
from service.money import to_decimal
from service.schemas.staff import AuditArgs, load
from service.web.staff import charts
from service.web.staff.base import bp, staff_required

DASHBOARD_PART = "dashboard_html"


@bp.get("/dashboard", endpoint="dashboard")
@staff_required()
def dashboard_page():
    now = utcnow()
    d = dashboard.load(now)
    long = snapshots.current(now)
    db.session.commit()  # a slow computation's result is kept
    labels = [f"{w.start:%d %b}" for w in d.weeks]
    figures_drawn = {
        "status": charts.hbar("Members by status", list(d.by_status.items())),
        "weeks": charts.columns("Joins and lapses per week", labels,
                                [("Joins", [w.joins for w in d.weeks]), ("Lapses", [w.lapses for w in d.weeks])]),
        "revenue": charts.hbar("Monthly recurring revenue by plan",
                               [(f"{r.plan} ({r.currency.upper()})", r.monthly / 100) for r in d.revenue]),
    }
    return render_template("staff/dashboard.html", d=d, charts=figures_drawn, now=now, long=long,
                           long_html=Markup(long.parts[DASHBOARD_PART]))  # noqa: S704 - rendered by our template below


@snapshots.renders(DASHBOARD_PART)
def _long_figures_html(long: LongFigures, now: datetime) -> str:
    """The twelve-month figures' part of the dashboard, rendered once per computation."""
    campaigns = {c.campaign: c for c in long.insight.campaigns}
    return render_template("staff/_long_figures.html", giving=long.giving, i=long.insight, now=now, offsets=OFFSETS,
                           campaigns=campaigns, charts=_insight_charts(long.insight))


def _insight_charts(i: Insight) -> dict[str, Markup]:
    """The heat map of retention, churn by cause, and revenue movements in the reporting currency."""
    months = [c.month for c in i.churn]
    moves = {m.month: m for m in i.movements if m.currency == i.reporting_currency}
    move_months = sorted(moves)
    return {
        "retention": charts.heatmap("Members still members k months after joining, by join month",
                                    [f"{k} mo" for k in OFFSETS],
                                    [(c.month, [c.share(k) for k in OFFSETS]) for c in i.cohorts if c.size]),
        "churn": charts.columns("Members who left per month, by cause", months,
                                [("Voluntary", [c.voluntary for c in i.churn]),
                                 ("Involuntary", [c.involuntary for c in i.churn]), ("Ended", [c.ended for c in i.churn])]),
        "movements": charts.columns(
            f"Recurring revenue movements per month ({i.reporting_currency.upper()})", move_months,
            [(name.capitalize(), [to_decimal(getattr(moves[m], name), i.reporting_currency) for m in move_months])
             for name in ("new", "reactivated", "expansion", "contraction", "churned")]),
    }


@bp.get("/insight/<figure>.csv")
@staff_required()
def insight_csv(figure: str):
    """One dashboard figure as CSV: retention, churn, recovery, movements, campaigns or currencies."""
    if figure not in figures.FIGURES:
        raise NotFound(f"no figure {figure!r}: one of " + ", ".join(figures.FIGURES))
    return Response(stream_with_context(figures.csv_lines(figure, utcnow())), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{figure}.csv"'})


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

"""The dashboard's twelve-month figures, kept when computing them is slow.

At a million members the long figures (`dashboard.long_figures`: contributions, campaigns,
cohorts, churn, recovery, movements) read tens of millions of rows and take seconds
(bench/insight.py). When one computation takes at least INSIGHT_CACHE_AFTER_SECONDS, each
rendering of it (the dashboard's HTML, the API's JSON: `RENDERERS`, filled by the web layer) is
stored in one row and served for INSIGHT_CACHE_SECONDS, saying when it was computed; the worker's
`insight` job computes it again after half that time, so staff rarely wait. A newsroom whose
figures are quick never stores one, and every page is live. The live figures (members by
status, recurring revenue, failing payments, webhook health) are never kept.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import delete, select

from service.domain.insight.dashboard import LongFigures, long_figures
from service.extensions import db
from service.models import InsightSnapshot

ROW = 1
Renderer = Callable[[LongFigures, datetime], Any]
RENDERERS: dict[str, Renderer] = {}


def renders(name: str) -> Callable[[Renderer], Renderer]:
    """Register a rendering of the long figures (it must give JSON: a string, a dict...)."""
    def register(fn: Renderer) -> Renderer:
        RENDERERS[name] = fn
        return fn
    return register


@dataclass(frozen=True)
class Snapshot:
    parts: dict[str, Any]  # each renderer's result, by name
    computed_at: datetime
    took_ms: int
    stored: bool  # served from an earlier computation (the page says when)


def _lifetime() -> timedelta:
    return timedelta(seconds=current_app.config["INSIGHT_CACHE_SECONDS"])


def current(now: datetime) -> Snapshot:
    """The stored figures while they are fresh, else computed now (the caller commits, to keep them)."""
    lifetime = _lifetime()
    row = db.session.get(InsightSnapshot, ROW)
    if row is not None and lifetime and now - row.computed_at < lifetime and set(RENDERERS) <= set(row.parts):
        return Snapshot(row.parts, row.computed_at, row.took_ms, stored=True)
    return compute(now, stored=row is not None)


def compute(now: datetime, *, stored: bool = True) -> Snapshot:
    """Compute and render the figures; store them when that was slow, and forget an earlier stored
    result when it is quick again (the caller commits)."""
    started = time.perf_counter()
    figures = long_figures(now)
    parts = {name: render(figures, now) for name, render in RENDERERS.items()}
    took_ms = round((time.perf_counter() - started) * 1000)
    if _lifetime() and took_ms >= current_app.config["INSIGHT_CACHE_AFTER_SECONDS"] * 1000:
        values = {"computed_at": now, "took_ms": took_ms, "parts": parts}
        db.session.execute(db.insert(InsightSnapshot).values(id=ROW, **values)
                           .on_conflict_do_update(index_elements=["id"], set_=values))
    elif stored:
        db.session.execute(delete(InsightSnapshot))
    return Snapshot(parts, now, took_ms, stored=False)


def refresh_due(now: datetime) -> int:
    """The worker's `insight` job: compute a stored snapshot again once half its life is gone, one
    worker at a time (the row is locked until the caller commits; others skip it). Nothing stored:
    nothing to do."""
    lifetime = _lifetime()
    if not lifetime:
        return 0
    row = db.session.scalar(select(InsightSnapshot).where(InsightSnapshot.id == ROW).with_for_update(skip_locked=True))
    if row is None or now - row.computed_at < lifetime / 2:
        return 0
    compute(now)
    return 1

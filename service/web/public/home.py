"""The front page: the pitch and the join form."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Blueprint, render_template

from service.domain.billing.plans import active_plans
from service.schemas.join import money
from service.web.public.readers import signed_in_member

bp = Blueprint("home", __name__)
PRESELECTED_PLAN = "monthly-5"


def render_join_form(form: Mapping[str, Any] | None = None, errors: Mapping[str, Any] | None = None,
                     status: int = 200) -> tuple[str, int]:
    """The front page with the join form, keeping what the reader typed and errors beside their fields."""
    plans = active_plans()
    form = dict(form or {})
    codes = {p.code for p in plans}
    if form.get("plan") not in codes:
        form["plan"] = PRESELECTED_PLAN if PRESELECTED_PLAN in codes else (plans[0].code if plans else "")
    page = render_template("home.html", plans=plans, form=form, errors=dict(errors or {}), money=money,
                           member=signed_in_member())
    return page, status


@bp.get("/")
def index():
    return render_join_form()

"""The front page: the pitch and the join form."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Blueprint, render_template, request

from service.domain.billing.plans import active_plans
from service.domain.giving.attribution import clean
from service.schemas.join import dollars_to_cents, money
from service.web.public.currency import chosen_currency, currency_links
from service.web.public.readers import signed_in_member

bp = Blueprint("home", __name__)
bp.add_app_template_global(currency_links)
PRESELECTED_PLAN = "monthly-5"


def render_join_form(form: Mapping[str, Any] | None = None, errors: Mapping[str, Any] | None = None,
                     status: int = 200) -> tuple[str, int]:
    """The front page with the join form in the reader's currency (the plans that have an amount in
    it), keeping what the reader typed and errors beside their fields."""
    form = dict(form or {})
    currency = chosen_currency(form)
    plans = [p for p in active_plans() if p.amount_in(currency) is not None]
    codes = {p.code for p in plans}
    if form.get("plan") not in codes:
        form["plan"] = PRESELECTED_PLAN if PRESELECTED_PLAN in codes else (plans[0].code if plans else "")
    page = render_template("home.html", plans=plans, form=form, errors=dict(errors or {}), money=money,
                           member=signed_in_member(), attribution=clean(form), currency=currency,
                           month_from=min((p.amount_in(currency) or 0 for p in plans if str(p.interval) == "month"
                                           and not p.pay_what_you_want), default=None))
    return page, status


def _prefill(args: Mapping[str, str]) -> dict[str, Any]:
    """What a link selects: /?plan=yearly-50 a plan, /?amount=10 a pay-what-you-want amount (at or
    above its minimum). A value that names nothing is ignored, so a mistyped link still works."""
    currency = chosen_currency(args)
    plans = {p.code: p for p in active_plans() if p.amount_in(currency) is not None}
    form: dict[str, Any] = {**clean(args), "currency": currency}
    if args.get("plan") in plans:
        form["plan"] = args["plan"]
    cents = dollars_to_cents(args.get("amount", ""), currency=currency) if args.get("amount") else None
    flexible = next((p for p in plans.values() if p.pay_what_you_want), None)
    if (cents is not None and flexible is not None and (flexible.min_amount_in(currency) or 0) <= cents
            and form.get("plan") in (None, flexible.code)):
        form.update(plan=flexible.code, amount=args["amount"].strip())
    return form


@bp.get("/")
def index():
    return render_join_form(_prefill(request.args))

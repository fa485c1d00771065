"""The billing portal page: cancel or keep a subscription, switch plan, replace the card.

https://docs.stripe.com/customer-management : the portal lets a customer cancel
at the period end, update the subscription to another of the merchant's prices
(prorated, here with `create_prorations`) and update the payment method.
"""
from flask import Blueprint, abort, redirect, render_template, request, url_for

from . import billing, prorations
from .currencies import supports
from .money import format_price
from .pages import DECLINED, UNKNOWN, date_text, load
from .resources.subscriptions import LIVE, period_end, set_cancel_at_period_end
from .state import sandbox

bp = Blueprint("sandbox_portal", __name__, template_folder="templates")


@bp.get("/portal/<session_id>")
def portal(session_id, error=None, status=200):
    sb = sandbox()
    with sb.store.transaction():
        session = load("billing_portal.session", session_id)
        customer = load("customer", session["customer"])
        subs = [_sub_view(sb, sub) for sub in sb.store.all("subscription", customer["id"])]
        pm_id = customer["invoice_settings"]["default_payment_method"] or next(
            (s["default_payment_method"] for s in subs if s["default_payment_method"]), None)
        pm = sb.store.get(pm_id, "payment_method") if pm_id else None
        return render_template("portal.html", session=session, customer=customer,
                               subscriptions=subs, card=(pm or {}).get("card"), error=error,
                               notice=request.args.get("notice")), status


def _sub_view(sb, sub: dict) -> dict:
    item = sub["items"]["data"][0]
    currency = sub["currency"]
    return {**sub, "plan_text": format_price(item["price"], item["quantity"], currency),
            "period_end_text": date_text(period_end(sub)), "live": sub["status"] in LIVE,
            "plans": [(p["id"], format_price(p, 1, currency)) for p in switchable_prices(sb, item["price"], currency)]}


def switchable_prices(sb, current: dict, currency: str) -> list[dict]:
    """Active recurring prices in the subscription's currency (their own or a currency option),
    of the same product or, when the current price has a lookup key, any price with one (the
    plans `plans sync` keeps)."""
    return [p for p in sb.store.all("price")
            if p["active"] and p["type"] == "recurring" and p["id"] != current["id"]
            and supports(p, currency)
            and (p["product"] == current["product"] or (current["lookup_key"] and p["lookup_key"]))]


@bp.post("/portal/<session_id>/subscriptions/<sub_id>")
def portal_subscription(session_id, sub_id):
    sb = sandbox()
    with sb.store.transaction():
        session = load("billing_portal.session", session_id)
        sub = load("subscription", sub_id)
        if sub["customer"] != session["customer"] or sub["status"] not in LIVE:
            abort(404)
        action = request.form.get("action")
        if action == "switch":
            notice = _switch(sb, sub, request.form.get("price", ""))
        elif action in ("cancel", "renew"):
            set_cancel_at_period_end(sb, sub, action == "cancel", sb.now_for(sub["customer"]))
            notice = ("Your subscription will end at the end of the period." if action == "cancel"
                      else "Your subscription will continue.")
        else:
            abort(400)
    return redirect(url_for(".portal", session_id=session_id, notice=notice), 303)


def _switch(sb, sub, price_id) -> str:
    current = sub["items"]["data"][0]["price"]
    price = next((p for p in switchable_prices(sb, current, sub["currency"]) if p["id"] == price_id), None)
    if price is None:
        abort(400)
    prorations.switch_price(sb, sub, price, sb.now_for(sub["customer"]))
    return f"Your plan is now {format_price(price, 1, sub['currency'])}."


@bp.post("/portal/<session_id>/card")
def portal_card(session_id):
    sb = sandbox()
    with sb.store.transaction():
        session = load("billing_portal.session", session_id)
        customer = load("customer", session["customer"])
        try:
            billing.replace_card(sb, customer, request.form.get("card_number", ""))
        except billing.CardDeclined:
            return portal(session_id, error=DECLINED, status=402)
        except billing.UnknownCard:
            return portal(session_id, error=UNKNOWN, status=400)
    return redirect(url_for(".portal", session_id=session_id, notice="Your card was updated."), 303)

"""Hosted pages: Checkout, the billing portal and invoices, as plain HTML forms.

Views are thin: load under the store transaction, call one billing
function, render or redirect. URLs are built with `url_for`, so they keep the
mount prefix (`/_sandbox`) when the sandbox runs inside the service.
"""
from datetime import UTC, datetime

from flask import Blueprint, abort, redirect, render_template, request, url_for

from . import billing
from .money import format_amount, format_price
from .resources.checkout import get_session
from .resources.subscriptions import period_end, set_cancel_at_period_end
from .state import sandbox
from .wire import StripeError

bp = Blueprint("sandbox_pages", __name__, template_folder="templates")

DECLINED = "Your card was declined. Try another card."
UNKNOWN = "Use a test card, such as 4242 4242 4242 4242."


@bp.app_template_filter("date")
def _date(ts):
    return datetime.fromtimestamp(ts, UTC).strftime("%d %b %Y")


@bp.app_context_processor
def _helpers():
    return {"money": format_amount}


def _load(kind: str, obj_id: str) -> dict:
    obj = sandbox().store.get(obj_id, kind)
    if obj is None:
        abort(404)
    return obj


@bp.route("/checkout/<session_id>", methods=["GET", "POST"])
def checkout(session_id):
    sb = sandbox()
    with sb.store.transaction():
        try:
            session = get_session(sb, session_id)
        except StripeError:
            abort(404)
        if session["status"] != "open":
            return _closed(session)
        if request.method == "GET":
            return _checkout_form(sb, session)
        try:
            done = billing.pay_checkout(sb, session, request.form.get("card_number", ""),
                                        request.form.get("email", "").strip() or None)
        except billing.CardDeclined:
            return _checkout_form(sb, session, DECLINED), 402
        except billing.UnknownCard:
            return _checkout_form(sb, session, UNKNOWN), 400
    return redirect(done["success_url"].replace("{CHECKOUT_SESSION_ID}", done["id"]), 303)


def _checkout_form(sb, session, error=None):
    entry = session["_line_items"][0]
    price = sb.store.get(entry["price"], "price")
    product = sb.store.get(price["product"], "product")
    customer = sb.store.get(session["customer"], "customer") if session["customer"] else None
    email = (customer or {}).get("email") or session["customer_email"]
    return render_template(
        "checkout.html", product_name=product["name"], price_text=format_price(price, entry["quantity"]),
        email=email or request.form.get("email"), email_locked=bool(email), error=error,
        card_number=request.form.get("card_number"), expiry=request.form.get("expiry"),
        cancel_url=session["cancel_url"])


def _closed(session):
    if session["status"] == "complete":
        return render_template(
            "message.html", heading="Payment complete",
            message="This checkout session has already been paid.",
            link=session["success_url"].replace("{CHECKOUT_SESSION_ID}", session["id"]),
            link_text="Continue")
    return render_template(
        "message.html", heading="This checkout has expired",
        message="This checkout session expired before it was paid. Start again from the site.",
        link=session["cancel_url"], link_text="Go back"), 410


@bp.get("/portal/<session_id>")
def portal(session_id, error=None, status=200):
    sb = sandbox()
    with sb.store.transaction():
        session = _load("billing_portal.session", session_id)
        customer = _load("customer", session["customer"])
        subs = [_sub_view(sub) for sub in sb.store.all("subscription", customer["id"])]
        pm_id = customer["invoice_settings"]["default_payment_method"] or next(
            (s["default_payment_method"] for s in subs if s["default_payment_method"]), None)
        card = sb.store.get(pm_id, "payment_method")["card"] if pm_id else None
        return render_template("portal.html", session=session, customer=customer,
                               subscriptions=subs, card=card, error=error,
                               notice=request.args.get("notice")), status


def _sub_view(sub: dict) -> dict:
    item = sub["items"]["data"][0]
    return {**sub, "plan_text": format_price(item["price"], item["quantity"]),
            "period_end_text": _date(period_end(sub))}


@bp.post("/portal/<session_id>/subscriptions/<sub_id>")
def portal_subscription(session_id, sub_id):
    sb = sandbox()
    with sb.store.transaction():
        session = _load("billing_portal.session", session_id)
        sub = _load("subscription", sub_id)
        if sub["customer"] != session["customer"]:
            abort(404)
        action = request.form.get("action")
        if action not in ("cancel", "renew"):
            abort(400)
        set_cancel_at_period_end(sb, sub, action == "cancel", sb.now())
    notice = "Your subscription will end at the end of the period." if action == "cancel" \
        else "Your subscription will continue."
    return redirect(url_for(".portal", session_id=session_id, notice=notice), 303)


@bp.post("/portal/<session_id>/card")
def portal_card(session_id):
    sb = sandbox()
    with sb.store.transaction():
        session = _load("billing_portal.session", session_id)
        customer = _load("customer", session["customer"])
        try:
            billing.replace_card(sb, customer, request.form.get("card_number", ""))
        except billing.CardDeclined:
            return portal(session_id, error=DECLINED, status=402)
        except billing.UnknownCard:
            return portal(session_id, error=UNKNOWN, status=400)
    return redirect(url_for(".portal", session_id=session_id, notice="Your card was updated."), 303)


@bp.get("/invoices/<invoice_id>")
def invoice(invoice_id):
    with sandbox().store.transaction():
        return render_template("invoice.html", invoice=_load("invoice", invoice_id))

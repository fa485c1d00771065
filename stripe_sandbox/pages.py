"""The hosted Checkout page, its 3-D Secure step, and the hosted invoice page, as plain HTML forms.

Views are thin: load under the store transaction, call one payment function,
render or redirect. URLs are built with `url_for`, so they keep the mount
prefix (`/_sandbox`) when the sandbox runs inside the service. The billing
portal is in pages_portal.py.
3-D Secure: https://docs.stripe.com/testing#regulatory-cards (cards.py); the
authentication step mimics Stripe's test page, which offers to complete or
fail the authentication.
"""
from datetime import UTC, datetime

from flask import Blueprint, abort, redirect, render_template, request, url_for

from . import billing, checkout_pay, invoicing, renewals
from .cards import bank_account
from .money import format_amount, format_price
from .resources.charges import new_bank_payment_method, new_payment_method
from .resources.checkout import get_session
from .resources.invoices import subscription_of
from .state import sandbox
from .wire import StripeError

bp = Blueprint("sandbox_pages", __name__, template_folder="templates")

DECLINED = "Your card was declined. Try another card."
UNKNOWN = "Use a test card, such as 4242 4242 4242 4242."
UNKNOWN_BANK = "Use a test bank account, such as 000123456789."
GONE = "This customer no longer exists. Start again from the site."
AUTH_FAILED = ("We are unable to authenticate your payment method. Please choose a different "
               "payment method and try again.")


@bp.app_template_filter("date")
def date_text(ts):
    return datetime.fromtimestamp(ts, UTC).strftime("%d %b %Y")


@bp.app_context_processor
def _helpers():
    return {"money": format_amount}


def load(kind: str, obj_id: str) -> dict:
    obj = sandbox().store.get(obj_id, kind)
    if obj is None or obj.get("deleted"):
        abort(404)
    return obj


def _open_session(sb, session_id):
    try:
        return get_session(sb, session_id)
    except StripeError:
        abort(404)


@bp.route("/checkout/<session_id>", methods=["GET", "POST"])
def checkout(session_id):
    sb = sandbox()
    with sb.store.transaction():
        session = _open_session(sb, session_id)
        if session["status"] != "open":
            return _closed(session)
        if request.method == "GET":
            return _checkout_form(sb, session)
        if session["customer"] and sb.store.get(session["customer"], "customer").get("deleted"):
            return _checkout_form(sb, session, GONE), 400
        email = request.form.get("email", "").strip() or None
        if request.form.get("payment_method") == "us_bank_account":
            return _pay_by_bank(sb, session, email)
        if request.form.get("payment_method") == "none":
            if not _cardless_trial(session):
                abort(400)
            return _to_success(checkout_pay.pay(sb, session, None, email))
        number = request.form.get("card_number", "")
        try:
            needs_auth = billing.check_first_payment(number)
        except billing.CardDeclined:
            return _checkout_form(sb, session, DECLINED), 402
        except billing.UnknownCard:
            return _checkout_form(sb, session, UNKNOWN), 400
        if needs_auth:
            sb.store.put({**session, "_pending_card": {"number": number, "email": email}})
            return redirect(url_for(".authenticate", session_id=session_id), 303)
        done = checkout_pay.pay(sb, session, _card(sb, number), email)
    return _to_success(done)


def _cardless_trial(session) -> bool:
    """A trial may start without a card when `payment_method_collection=if_required`."""
    data = session.get("_subscription_data") or {}
    return session.get("payment_method_collection") == "if_required" and bool(
        data.get("trial_end") or data.get("trial_days"))


def _card(sb, number):
    return lambda customer, email: new_payment_method(sb, number, customer, email)


def _pay_by_bank(sb, session, email):
    account = bank_account(request.form.get("account_number"))
    if account is None or session["currency"] != "usd":
        return _checkout_form(sb, session, UNKNOWN_BANK), 400
    done = checkout_pay.pay(sb, session, lambda customer, mail: new_bank_payment_method(
        sb, account[0], account[1], customer, mail), email)
    return _to_success(done)


def _to_success(done):
    return redirect(done["success_url"].replace("{CHECKOUT_SESSION_ID}", done["id"]), 303)


@bp.route("/checkout/<session_id>/authenticate", methods=["GET", "POST"])
def authenticate(session_id):
    """The bank's 3-D Secure challenge: complete pays as usual; fail leaves the session open."""
    sb = sandbox()
    with sb.store.transaction():
        session = _open_session(sb, session_id)
        pending = session.get("_pending_card")
        if session["status"] != "open" or not pending:
            return redirect(url_for(".checkout", session_id=session_id), 303)
        if request.method == "GET":
            return render_template("authenticate.html", amount=format_amount(
                session["amount_total"], session["currency"]), action=request.path)
        session = sb.store.put({**session, "_pending_card": None})
        if request.form.get("action") != "complete":
            return _checkout_form(sb, session, AUTH_FAILED), 402
        done = checkout_pay.pay(sb, session, _card(sb, pending["number"]), pending["email"],
                                authenticated=True)
    return _to_success(done)


def _checkout_form(sb, session, error=None):
    entry = session["_line_items"][0]
    price = sb.store.get(entry["price"], "price")
    product = sb.store.get(price["product"], "product")
    customer = sb.store.get(session["customer"], "customer") if session["customer"] else None
    email = (customer or {}).get("email") or session["customer_email"]
    return render_template(
        "checkout.html", product_name=product["name"], price_text=format_price(price, entry["quantity"], session["currency"]),
        email=email or request.form.get("email"), email_locked=bool(email), error=error,
        card_number=request.form.get("card_number"), expiry=request.form.get("expiry"),
        cancel_url=session["cancel_url"], subscribe=session["mode"] == "subscription",
        bank=session["currency"] == "usd", trial=session["_subscription_data"]["trial_end"]
        or session["_subscription_data"]["trial_days"], cardless=_cardless_trial(session))


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


@bp.route("/invoices/<invoice_id>", methods=["GET", "POST"])
def invoice(invoice_id):
    """The hosted invoice page; an open invoice can be paid here, authenticating if the
    bank asks (https://docs.stripe.com/billing/subscriptions/overview#requires-action)."""
    sb = sandbox()
    with sb.store.transaction():
        found, message = load("invoice", invoice_id), None
        if request.method == "POST" and found["status"] == "open":
            found, message = _pay_invoice(sb, found, request.form.get("action"))
        return render_template("invoice.html", invoice=found, message=message,
                               needs_auth=found.get("_intent_status") == "requires_action")


def _pay_invoice(sb, invoice, action):
    if action == "fail":
        return invoice, AUTH_FAILED
    sub = sb.store.get(subscription_of(invoice), "subscription")
    now = sb.now_for(invoice["customer"])
    paid = invoicing.attempt(sb, invoice, sub, now, off_session=False, authenticated=True)
    renewals.settle_status(sb, sub, paid, now)
    return paid, "Thank you, this invoice is paid." if paid["status"] == "paid" else DECLINED

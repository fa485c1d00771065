"""Checkout Sessions (mode=subscription and mode=payment) and their hosted-page URL.

The session is paid on the sandbox's hosted page (pages.py -> checkout_pay.py);
here it is created, read, listed and expired. Open sessions expire 24 h of
sandbox time after creation unless `expires_at` says otherwise; expiry is
applied lazily on read and by the clock.
"""
from flask import request

from ..api import endpoint
from ..currencies import unit_amount_in
from ..events import emit
from ..ids import new_id
from ..listing import PAGING, created_filter, page, render
from ..wire import StripeError, boolean, choice, fetch, metadata, reject_unknown, required, string
from .catalog import get_price
from .checkout_params import (
    customer_param,
    expires_at,
    line_item,
    payment_intent_data,
    refuse_mixed_currencies,
    session_currency,
    subscription_data,
)
from .checkout_shape import session_object

CREATE = {"mode", "customer", "client_reference_id", "metadata", "subscription_data",
          "line_items", "success_url", "cancel_url", "customer_email", "expires_at", "locale",
          "allow_promotion_codes", "billing_address_collection", "ui_mode", "payment_intent_data",
          "customer_creation", "payment_method_collection", "currency"}
# The languages Stripe shows Checkout in (stripe==16.1.0, checkout.SessionCreateParams.locale);
# anything else is refused, as Stripe refuses it.
LOCALES = ("auto", "bg", "cs", "da", "de", "el", "en", "en-GB", "es", "es-419", "et", "fi", "fil", "fr", "fr-CA",
           "hi-IN", "hr", "hu", "id", "it", "ja", "ko", "lt", "lv", "ms", "mt", "nb", "nl", "pl", "pt", "pt-BR",
           "ro", "ru", "sk", "sl", "sv", "th", "tr", "vi", "zh", "zh-HK", "zh-TW")


def expire_if_due(sb, session: dict, now: int) -> dict:
    if session["status"] == "open" and session["expires_at"] <= now:
        return expire(sb, session, session["expires_at"])
    return session


def expire(sb, session: dict, at: int) -> dict:
    """Close an open session; emits checkout.session.expired."""
    new = {**session, "status": "expired", "url": None}
    sb.store.put(new)
    emit(sb, "checkout.session.expired", new, at=at)
    return new


def get_session(sb, session_id, param="id") -> dict:
    session = fetch(sb, "checkout.session", session_id, param)
    return expire_if_due(sb, session, sb.now_for(session["customer"]))


def line_items(sb, session: dict) -> dict:
    """The session's `line_items` list (present only when expanded, as in Stripe), in the
    session's currency; each item's `price` is the Price itself, whatever its default currency."""
    stored = sb.store.get(session["id"], "checkout.session")
    data = []
    for entry in stored["_line_items"]:
        price = get_price(sb, entry["price"])
        product = sb.store.get(price["product"], "product") or {}
        amount = unit_amount_in(price, stored["currency"]) * entry["quantity"]
        data.append({"id": entry["id"], "object": "item", "amount_discount": 0,
                     "amount_subtotal": amount, "amount_tax": 0, "amount_total": amount,
                     "currency": stored["currency"], "description": product.get("name"),
                     "metadata": {}, "price": render(sb, price, {}), "quantity": entry["quantity"]})
    return {"object": "list", "data": data, "has_more": False,
            "url": f"/v1/checkout/sessions/{session['id']}/line_items"}


def _show(sb, session, params):
    return render(sb, session, params, {("checkout.session", "line_items"):
                                        lambda node: line_items(sb, node)})


@endpoint("/checkout/sessions", methods=["POST"])
def create(sb, params):
    reject_unknown(params, CREATE)
    mode = choice(params, "mode", ("payment", "setup", "subscription"))
    required(params, "mode")
    if mode == "setup":
        raise StripeError("The sandbox supports mode=subscription and mode=payment.", param="mode")
    success_url = required(params, "success_url")
    choice(params, "ui_mode", ("hosted_page",))
    choice(params, "billing_address_collection", ("auto", "required"))
    choice(params, "locale", LOCALES)
    creation = choice(params, "customer_creation", ("always", "if_required"))
    collection = choice(params, "payment_method_collection", ("always", "if_required"), "always")
    boolean(params, "allow_promotion_codes")
    customer = customer_param(sb, params)
    now = sb.now_for(customer)
    price, quantity = line_item(sb, params.get("line_items"), mode)
    currency = session_currency(sb, params, price, customer)
    if mode == "subscription":
        refuse_mixed_currencies(sb, customer, currency)
    session = session_object(
        new_id("cs_test_"), params, now=now, expires_at=expires_at(params, now), customer=customer,
        currency=currency, amount=unit_amount_in(price, currency) * quantity, success_url=success_url)
    session.update(url=f"{request.url_root}checkout/{session['id']}", metadata=metadata(params),
                   mode=mode, payment_method_collection=collection, customer_creation=(creation or "if_required") if mode == "payment" else None,
                   _line_items=[{"id": new_id("li_"), "price": price["id"], "quantity": quantity}],
                   _subscription_data=subscription_data(params, mode, now),
                   _payment_intent_data=payment_intent_data(params, mode))
    sb.store.put(session)
    return _show(sb, session, params)


@endpoint("/checkout/sessions/<session_id>")
def retrieve(sb, params, session_id):
    reject_unknown(params, set())
    return _show(sb, get_session(sb, session_id), params)


@endpoint("/checkout/sessions/<session_id>/line_items")
def list_line_items(sb, params, session_id):
    reject_unknown(params, PAGING)
    items = line_items(sb, get_session(sb, session_id))
    return render(sb, page(items["data"], params, items["url"]), params)


@endpoint("/checkout/sessions/<session_id>/expire", methods=["POST"])
def expire_now(sb, params, session_id):
    reject_unknown(params, set())
    session = get_session(sb, session_id)
    if session["status"] != "open":
        raise StripeError("Only Checkout Sessions with a status in [\"open\"] can be expired.",
                          param="session")
    return _show(sb, expire(sb, session, sb.now_for(session["customer"])), params)


@endpoint("/checkout/sessions")
def list_(sb, params):
    reject_unknown(params, PAGING | {"customer", "subscription", "status", "created",
                                     "payment_intent"})
    customer, sub = string(params, "customer"), string(params, "subscription")
    status = choice(params, "status", ("open", "complete", "expired"))
    in_range = created_filter(params)
    found = [expire_if_due(sb, s, sb.now_for(s["customer"]))
             for s in sb.store.all("checkout.session", customer)]
    found = [s for s in found if (sub is None or s["subscription"] == sub)
             and (status is None or s["status"] == status) and in_range(s["created"])]
    return _show(sb, page(found, params, "/v1/checkout/sessions"), params)


def complete(sb, session: dict, *, customer: dict | None, payment_status: str, sub=None,
             invoice=None, intent=None, email=None) -> dict:
    """Mark the session complete; returns the stored session (the caller emits the event).

    `payment_status` is `paid`, `unpaid` (a payment that settles later) or
    `no_payment_required` ("The payment is delayed to a future date": a trial).
    """
    email = customer["email"] if customer else session["customer_email"] or email
    new = {**session, "status": "complete", "payment_status": payment_status, "url": None,
           "customer": customer["id"] if customer else None,
           "subscription": sub["id"] if sub else None, "invoice": invoice["id"] if invoice else None,
           "payment_intent": intent["id"] if intent and session["mode"] == "payment" else None,
           "_payment_intent": intent["id"] if intent and payment_status == "unpaid" else None,
           "customer_details": {"address": None, "business_name": None, "email": email,
                                "individual_name": None, "name": customer["name"] if customer else None,
                                "phone": None, "tax_exempt": "none", "tax_ids": []}}
    return sb.store.put(new)

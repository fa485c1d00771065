"""Checkout Sessions (mode=subscription only) and their hosted-page URL.

The session is paid on the sandbox's hosted page (pages.py -> billing.py);
here it is created, read, listed and expired. Open sessions expire 24 h of
sandbox time after creation unless `expires_at` says otherwise; expiry is
applied lazily on read and by the clock.
"""
from flask import request

from ..api import endpoint
from ..events import emit
from ..ids import new_id
from ..listing import PAGING, created_filter, page, render
from ..wire import StripeError, boolean, choice, fetch, integer, metadata, reject_unknown, required, string
from .catalog import get_price, get_product, new_price, new_product, recurring_params
from .checkout_shape import session_object
from .customers import get_customer

CREATE = {"mode", "customer", "client_reference_id", "metadata", "subscription_data",
          "line_items", "success_url", "cancel_url", "customer_email", "expires_at", "locale",
          "allow_promotion_codes", "billing_address_collection", "ui_mode"}
DAY = 86400


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
    return expire_if_due(sb, fetch(sb, "checkout.session", session_id, param), sb.now())


def line_items(sb, session: dict) -> dict:
    """The session's `line_items` list (present only when expanded, as in Stripe)."""
    stored = sb.store.get(session["id"], "checkout.session")
    data = []
    for entry in stored["_line_items"]:
        price = get_price(sb, entry["price"])
        product = sb.store.get(price["product"], "product") or {}
        amount = price["unit_amount"] * entry["quantity"]
        data.append({"id": entry["id"], "object": "item", "amount_discount": 0,
                     "amount_subtotal": amount, "amount_tax": 0, "amount_total": amount,
                     "currency": price["currency"], "description": product.get("name"),
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
    if mode != "subscription":
        raise StripeError("The sandbox supports only mode=subscription.", param="mode")
    success_url = required(params, "success_url")
    choice(params, "ui_mode", ("hosted_page",))
    choice(params, "billing_address_collection", ("auto", "required"))
    boolean(params, "allow_promotion_codes")
    customer = _customer(sb, params)
    price, quantity = _line_item(sb, params.get("line_items"))
    now = sb.now()
    session = session_object(
        new_id("cs_test_"), params, now=now, expires_at=_expires_at(params, now),
        customer=customer, price=price, quantity=quantity, success_url=success_url)
    session["url"] = f"{request.url_root}checkout/{session['id']}"
    session["metadata"] = metadata(params)
    session["_line_items"] = [{"id": new_id("li_"), "price": price["id"], "quantity": quantity}]
    session["_subscription_metadata"] = _subscription_metadata(params)
    sb.store.put(session)
    return _show(sb, session, params)


def _customer(sb, params) -> str | None:
    if params.get("customer") and params.get("customer_email"):
        raise StripeError("You may only specify one of these parameters: customer, customer_email.",
                          code="parameters_exclusive", param="customer_email")
    if params.get("customer"):
        return get_customer(sb, params["customer"], "customer", 400)["id"]
    return None


def _expires_at(params, now) -> int:
    expires_at = integer(params, "expires_at")
    if expires_at is None:
        return now + DAY
    if not now + 1800 <= expires_at <= now + DAY:
        raise StripeError("The `expires_at` timestamp must be between 30 minutes and 24 hours "
                          "from Checkout Session creation.", param="expires_at")
    return expires_at


def _subscription_metadata(params) -> dict:
    data = params.get("subscription_data") or {}
    if not isinstance(data, dict):
        raise StripeError("Invalid subscription_data: must be a hash", param="subscription_data")
    reject_unknown(data, {"metadata", "description"}, "subscription_data")
    return metadata(data)


def _line_item(sb, items):
    """(price, quantity) for the one recurring line item a membership checkout has."""
    if not items:
        raise StripeError("Missing required param: line_items.", code="parameter_missing",
                          param="line_items")
    if not isinstance(items, list) or len(items) != 1 or not isinstance(items[0], dict):
        raise StripeError("The sandbox supports exactly one line item.", param="line_items")
    item = items[0]
    reject_unknown(item, {"price", "price_data", "quantity"}, "line_items[0]")
    quantity = integer(item, "quantity", 1, "line_items[0][quantity]", minimum=1)
    if item.get("price"):
        price = get_price(sb, item["price"], "line_items[0][price]", 400)
    elif isinstance(item.get("price_data"), dict):
        price = _inline_price(sb, item["price_data"])
    else:
        raise StripeError("Missing required param: line_items[0][price].",
                          code="parameter_missing", param="line_items[0][price]")
    if price["type"] != "recurring":
        raise StripeError("You must specify at least one recurring price in `subscription` mode "
                          "when using prices.", param="line_items[0][price]")
    return price, quantity


def _inline_price(sb, data: dict) -> dict:
    label = "line_items[0][price_data]"
    reject_unknown(data, {"currency", "unit_amount", "product", "product_data", "recurring"}, label)
    currency = required(data, "currency", f"{label}[currency]")
    amount = integer(data, "unit_amount", label=f"{label}[unit_amount]", minimum=0)
    if amount is None:
        raise StripeError(f"Missing required param: {label}[unit_amount].",
                          code="parameter_missing", param=f"{label}[unit_amount]")
    if data.get("product"):
        product = get_product(sb, data["product"], f"{label}[product]", 400)["id"]
    else:
        names = data.get("product_data") if isinstance(data.get("product_data"), dict) else {}
        reject_unknown(names, {"name", "description", "metadata"}, f"{label}[product_data]")
        name = required(names, "name", f"{label}[product_data][name]")
        product = new_product(sb, name=name, meta=metadata(names), quiet=True)["id"]
    interval, count = recurring_params(data.get("recurring"), f"{label}[recurring]")
    # Inline prices are created archived, so they never show up in price lists.
    return new_price(sb, product=product, currency=currency, unit_amount=amount,
                     interval=interval, interval_count=count, active=False, quiet=True)


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
    return _show(sb, expire(sb, session, sb.now()), params)


@endpoint("/checkout/sessions")
def list_(sb, params):
    reject_unknown(params, PAGING | {"customer", "subscription", "status", "created",
                                     "payment_intent"})
    customer, sub = string(params, "customer"), string(params, "subscription")
    status = choice(params, "status", ("open", "complete", "expired"))
    in_range, now = created_filter(params), sb.now()
    found = [expire_if_due(sb, s, now) for s in sb.store.all("checkout.session", customer)]
    found = [s for s in found if (sub is None or s["subscription"] == sub)
             and (status is None or s["status"] == status) and in_range(s["created"])]
    return _show(sb, page(found, params, "/v1/checkout/sessions"), params)


def complete(sb, session: dict, *, customer: dict, sub: dict, invoice: dict) -> dict:
    """Mark the session paid; returns the stored session (the caller emits the event)."""
    new = {**session, "status": "complete", "payment_status": "paid", "customer": customer["id"],
           "subscription": sub["id"], "invoice": invoice["id"], "url": None,
           "customer_details": {"address": None, "business_name": None, "email": customer["email"],
                                "individual_name": None, "name": customer["name"], "phone": None,
                                "tax_exempt": "none", "tax_ids": []}}
    return sb.store.put(new)

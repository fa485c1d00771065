"""Paying a Checkout Session on the hosted page: subscription and one-time payments.

Subscription mode, in Stripe's order (https://docs.stripe.com/billing/subscriptions/webhooks,
https://docs.stripe.com/checkout/fulfillment): customer.created (only when the
session creates the customer), customer.subscription.created (status
`incomplete`, or `trialing` on a trial), invoice.created, invoice.finalized,
charge.succeeded, payment_intent.succeeded, invoice.paid,
invoice.payment_succeeded, customer.subscription.updated (`incomplete` ->
`active`), and checkout.session.completed last.
Payment mode: charge.succeeded, payment_intent.succeeded, checkout.session.completed
(payment_status `paid`). A bank debit completes the session `unpaid` and settles
later (settlement.py).
"""
from . import invoicing, payments
from .customer_balance import with_currency
from .events import emit, save_updated
from .ids import new_id
from .resources import checkout
from .resources.charges import set_up_for_future_use
from .resources.customers import get_customer, new_customer
from .resources.subscriptions import new_subscription

DAY = 86400


def pay(sb, session: dict, pm_factory, email: str | None, authenticated: bool = False) -> dict:
    """Complete an open session with the payment method `pm_factory(customer_id, email)` makes
    (None: a trial started without one, `payment_method_collection=if_required`)."""
    at = sb.now_for(session["customer"])
    customer = _customer(sb, session, email)
    pm = pm_factory(customer["id"] if customer else None,
                    customer["email"] if customer else (session["customer_email"] or email)) if pm_factory else None
    if session["mode"] == "payment":
        return _pay_once(sb, session, pm, customer, at, authenticated, email)
    return _subscribe(sb, session, set_up_for_future_use(sb, pm) if pm else None, customer, at, authenticated)


def _customer(sb, session, email) -> dict | None:
    """The session's customer (made now if it has none). A subscription makes its currency the
    customer's (https://support.stripe.com/questions/setting-a-customers-default-currency: "The
    customer's default currency will be changed when the customer does not have any active
    subscriptions and you start a new subscription ... in a new currency"; session creation
    refused any mix). A one-time payment is no billing object and leaves it as it is."""
    if session["customer"]:
        customer = get_customer(sb, session["customer"])
    elif session["mode"] == "payment" and session["customer_creation"] != "always":
        return None
    else:
        customer = new_customer(sb, email=session["customer_email"] or email or None)
    if session["mode"] == "subscription" and customer["currency"] != session["currency"]:
        customer = sb.store.put(with_currency(customer, session["currency"]))
    return customer


def _subscribe(sb, session, pm, customer, at, authenticated) -> dict:
    entry = session["_line_items"][0]
    price = sb.store.get(entry["price"], "price")
    data = session["_subscription_data"]
    trial_end = _trial_end(data, at)
    sub = new_subscription(sb, customer=customer["id"], price=price, quantity=entry["quantity"],
                           meta=dict(data["metadata"]), payment_method=pm["id"] if pm else None, at=at,
                           status="trialing" if trial_end else "incomplete", trial_end=trial_end,
                           missing_payment_method=data["missing_payment_method"], currency=session["currency"])
    sub["latest_invoice"] = new_id("in_")
    sb.store.put(sub)
    emit(sb, "customer.subscription.created", sub, at=at)
    item = sub["items"]["data"][0]
    invoice = invoicing.create_draft(sb, sub, reason="subscription_create", period=(at, at),
                                     line_period=(item["current_period_start"], item["current_period_end"]),
                                     at=at, fraction=0.0 if trial_end else None, invoice_id=sub["latest_invoice"])
    invoice = invoicing.finalize(sb, invoice, at)
    if invoice["status"] == "open":
        invoice = invoicing.attempt(sb, invoice, sub, at, off_session=False, authenticated=authenticated)
    if invoice["status"] == "paid" and sub["status"] == "incomplete":
        sub = save_updated(sb, "customer.subscription.updated", sub, {**sub, "status": "active"}, at)
    status = "no_payment_required" if trial_end else ("paid" if invoice["status"] == "paid" else "unpaid")
    intent = sb.store.get(invoice.get("_payment_intent") or "", "payment_intent")
    done = checkout.complete(sb, session, customer=customer, payment_status=status, sub=sub,
                             invoice=invoice, intent=intent)
    emit(sb, "checkout.session.completed", done, at=at)
    return done


def _trial_end(data: dict, at: int) -> int | None:
    return data["trial_end"] or (at + data["trial_days"] * DAY if data["trial_days"] else None)


def _pay_once(sb, session, pm, customer, at, authenticated, email) -> dict:
    data = session["_payment_intent_data"]
    intent = payments.attempt(sb, pm, amount=session["amount_total"], currency=session["currency"],
                              customer=customer["id"] if customer else None,
                              description=data["description"], at=at, off_session=False,
                              authenticated=authenticated, metadata=data["metadata"])
    status = "paid" if intent["status"] == "succeeded" else "unpaid"
    done = checkout.complete(sb, session, customer=customer, payment_status=status, intent=intent,
                             email=email)
    emit(sb, "checkout.session.completed", done, at=at)
    return done

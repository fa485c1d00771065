"""Payments that settle later: a bank debit paid on the hosted Checkout page.

https://docs.stripe.com/payments/checkout/fulfill-orders#delayed-notification :
checkout.session.completed arrives with payment_status `unpaid`; when the
payment settles Stripe sends checkout.session.async_payment_succeeded (now
`paid`) or checkout.session.async_payment_failed. The sandbox settles two days
of sandbox time after the payment (ACH Direct Debit takes about 4 business days).
https://docs.stripe.com/billing/subscriptions/overview#subscription-statuses :
a subscription whose first payment is pending stays `incomplete` (its PaymentIntent
`processing`) until then. Sandbox choice: when that payment fails the subscription
becomes `incomplete_expired` (customer.subscription.updated) and its invoice is voided.
"""
from . import invoicing, payments
from .events import emit, save_updated
from .resources.invoices import subscription_of


def settle_intent(sb, intent: dict, at: int) -> dict:
    """The due task: settle the debit, then the invoice, subscription and session waiting on it."""
    done = payments.settle(sb, intent, at)
    invoice = _find(sb, "invoice", lambda i: i.get("_payment_intent") == intent["id"])
    if invoice is not None:
        _settle_invoice(sb, invoice, done, at)
    session = _find(sb, "checkout.session", lambda s: s.get("_payment_intent") == intent["id"])
    if session is not None:
        _settle_session(sb, session, done, at)
    return done


def _find(sb, kind, predicate):
    return next((obj for obj in sb.store.all(kind) if predicate(obj)), None)


def _settle_invoice(sb, invoice: dict, intent: dict, at: int) -> None:
    sub = sb.store.get(subscription_of(invoice), "subscription")
    if intent["status"] == "succeeded":
        invoicing.mark_paid(sb, invoice, intent, at)
        if sub is not None and sub["status"] in ("incomplete", "past_due"):
            save_updated(sb, "customer.subscription.updated", sub, {**sub, "status": "active"}, at)
        return
    failed = sb.store.put({**invoice, "_intent_status": "requires_payment_method"})
    emit(sb, "invoice.payment_failed", failed, at=at)
    if sub is not None and sub["status"] == "incomplete":
        invoicing.void(sb, failed, at)
        save_updated(sb, "customer.subscription.updated", sub,
                     {**sub, "status": "incomplete_expired", "ended_at": at}, at)


def _settle_session(sb, session: dict, intent: dict, at: int) -> None:
    ok = intent["status"] == "succeeded"
    new = {**session, "payment_status": "paid" if ok else "unpaid", "_payment_intent": None}
    sb.store.put(new)
    emit(sb, "checkout.session.async_payment_succeeded" if ok else "checkout.session.async_payment_failed",
         new, at=at)

"""Invoice payments: which PaymentIntent paid an invoice, as Stripe lists them.

Since API version 2025-03-31 an invoice no longer names its charge or payment
intent; `GET /v1/invoice_payments?invoice=in_...` does
(https://docs.stripe.com/api/invoice-payment/list). The sandbox keeps the
intent privately on the invoice (`_payment_intent`) and shows it here.
"""
from ..api import endpoint
from ..listing import PAGING, includable, page, render
from ..wire import StripeError, choice, reject_unknown, string

STATUSES = ("canceled", "open", "paid")


def invoice_payment(invoice: dict) -> dict | None:
    """The invoice's default payment, or None when no payment was ever attempted."""
    intent = invoice.get("_payment_intent")
    if not intent:
        return None
    paid = invoice["status"] == "paid"
    status = "paid" if paid else "canceled" if invoice["status"] in ("void", "uncollectible") else "open"
    return {
        "id": "inpay_" + invoice["id"].removeprefix("in_"), "object": "invoice_payment",
        "amount_paid": invoice["amount_paid"] if paid else None, "amount_requested": invoice["amount_due"],
        "created": invoice["created"], "currency": invoice["currency"], "invoice": invoice["id"],
        "is_default": True, "livemode": False,
        "payment": {"type": "payment_intent", "payment_intent": intent},
        "status": status,
        "status_transitions": {"canceled_at": None, "paid_at": invoice["status_transitions"].get("paid_at")},
    }


@includable("invoice", "payments")
def invoice_payments(sb, node) -> dict:
    """An invoice's `payments`, shown only when expanded (`expand[]=payments`): "When retrieving an
    invoice, there is an includable payments property containing the first handful of those items.
    There is also a URL where you can retrieve the full (paginated) list of payments"
    (https://docs.stripe.com/api/invoice-payment/list)."""
    invoice = sb.store.get(node["id"], "invoice") or node
    found = [p for p in [invoice_payment(invoice)] if p is not None]
    return page(found, {}, f"/v1/invoice_payments?invoice={node['id']}")


@endpoint("/invoice_payments")
def list_(sb, params):
    reject_unknown(params, PAGING | {"invoice", "status", "payment"})
    invoice_id, status = string(params, "invoice"), choice(params, "status", STATUSES)
    intent_id = _payment_filter(params)
    invoices = [i for i in sb.store.all("invoice") if invoice_id in (None, i["id"])]
    found = [p for p in map(invoice_payment, invoices) if p is not None and status in (None, p["status"])
             and intent_id in (None, p["payment"]["payment_intent"])]
    return render(sb, page(found, params, "/v1/invoice_payments"), params)


def _payment_filter(params) -> str | None:
    """`payment[type]=payment_intent&payment[payment_intent]=pi_...` (InvoicePaymentListParamsPayment)."""
    payment = params.get("payment")
    if payment is None:
        return None
    if not isinstance(payment, dict):
        raise StripeError("Invalid payment: must be a hash", param="payment")
    reject_unknown(payment, {"type", "payment_intent", "payment_record"}, "payment")
    choice(payment, "type", ("payment_intent", "payment_record"), label="payment[type]")
    return string(payment, "payment_intent")

"""An invoice's life: draft -> open (finalized) -> paid, or void / uncollectible.

https://docs.stripe.com/invoicing/integration/workflow-transitions : finalizing
emits invoice.finalized (draft -> open); paying emits invoice.paid (and
invoice.payment_succeeded), a failed attempt invoice.payment_failed; voiding
emits invoice.voided, marking uncollectible invoice.marked_uncollectible.
https://docs.stripe.com/subscriptions/invoices : a new subscription's invoice is
finalized at once; renewal drafts are finalized about an hour later (renewals.py).
https://docs.stripe.com/billing/customer/balance : a credit balance (negative
`customer.balance`) is applied when an invoice is finalized ("The invoice balance
automatically applies toward the next invoice finalized to a customer"), and a
negative invoice total is added to it; the change is recorded as a customer balance
transaction of type `applied_to_invoice` (https://docs.stripe.com/api/customer_balance_transactions/object)
naming the invoice. Only the balance in the invoice's currency applies
(https://docs.stripe.com/invoicing/multi-currency-customers).
"""
import copy

from . import payments
from .customer_balance import balance_in, record
from .events import emit
from .ids import new_id
from .resources.customers import get_customer
from .resources.invoices import item_line, new_invoice, subscription_lines

HOUR = 3600


def create_draft(sb, sub: dict, *, reason: str, period, line_period, at: int,
                 fraction: float | None = None, invoice_id: str | None = None) -> dict:
    """Store a draft for `sub` (with its pending invoice items) and emit invoice.created."""
    customer = get_customer(sb, sub["customer"])
    invoice_id = invoice_id or new_id("in_")
    lines = subscription_lines(invoice_id, sub, line_period, fraction) if line_period else []
    lines += pending_lines(sb, sub, invoice_id)
    invoice = new_invoice(sub, customer, invoice_id=invoice_id, reason=reason, period=period,
                          lines=lines, at=at)
    sb.store.put(invoice)
    emit(sb, "invoice.created", invoice, at=at)
    return invoice


def pending_lines(sb, sub: dict, invoice_id: str) -> list[dict]:
    """Lines for the subscription's pending invoice items, now attached to `invoice_id`."""
    lines = []
    for item in reversed(sb.store.all("invoiceitem", sub["customer"])):
        if item["invoice"] is None and item["parent"]["subscription_details"]["subscription"] == sub["id"]:
            sb.store.put({**item, "invoice": invoice_id})
            lines.append(item_line(invoice_id, item, sb.store.get(item["_price"], "price")))
    return lines


def finalize(sb, invoice: dict, at: int) -> dict:
    """Number the draft, apply the customer's balance, open it; a $0 invoice is paid at once
    (invoice.paid without a charge)."""
    customer = get_customer(sb, invoice["customer"])
    opened = copy.deepcopy(invoice)
    number = f"{customer['invoice_prefix']}-{customer['next_invoice_sequence']:04d}"
    balance = balance_in(customer, invoice["currency"])
    due = invoice["total"] + balance
    opened.update(status="open", number=number, effective_at=at, automatically_finalizes_at=None,
                  starting_balance=balance, ending_balance=min(due, 0),
                  amount_due=max(due, 0), amount_remaining=max(due, 0))
    opened["status_transitions"]["finalized_at"] = at
    customer = sb.store.put({**customer, "next_invoice_sequence": customer["next_invoice_sequence"] + 1})
    sb.store.put(opened)
    emit(sb, "invoice.finalized", opened, at=at)
    if opened["ending_balance"] != balance:
        record(sb, customer, amount=opened["ending_balance"] - balance, currency=invoice["currency"],
               type_="applied_to_invoice", invoice=invoice["id"], at=at)
    if opened["amount_due"] == 0:
        return mark_paid(sb, opened, None, at)
    return opened


def mark_paid(sb, invoice: dict, intent: dict | None, at: int) -> dict:
    """Paid in full (by `intent`, or by nothing for a $0 invoice); emits invoice.paid."""
    paid = copy.deepcopy(invoice)
    paid.update(status="paid", amount_paid=invoice["amount_due"], amount_remaining=0,
                attempted=True, attempt_count=invoice["attempt_count"] + (1 if intent else 0),
                next_payment_attempt=None, auto_advance=False,
                _payment_intent=intent["id"] if intent else None, _intent_status=None,
                _charge=intent["latest_charge"] if intent else None)
    paid["status_transitions"]["paid_at"] = at
    sb.store.put(paid)
    emit(sb, "invoice.paid", paid, at=at)
    emit(sb, "invoice.payment_succeeded", paid, at=at)
    return paid


def payment_method_for(sb, sub: dict):
    """The subscription's default payment method, else the customer's (Stripe's order)."""
    customer = get_customer(sb, sub["customer"])
    pm_id = sub["default_payment_method"] or customer["invoice_settings"]["default_payment_method"]
    return sb.store.get(pm_id, "payment_method") if pm_id else None


def attempt(sb, invoice: dict, sub: dict, at: int, *, off_session: bool = True,
            authenticated: bool = False) -> dict:
    """One payment attempt on an open invoice; returns the stored invoice.

    The outcome is the invoice's status (`paid`), or `open` with `_intent_status`
    `requires_action` (invoice.payment_action_required), `processing` (a bank
    debit that settles later) or a failure (invoice.payment_failed).
    """
    pm = payment_method_for(sb, sub)
    intent = None
    if pm is not None:
        intent = payments.attempt(sb, pm, amount=invoice["amount_remaining"], currency=invoice["currency"],
                                  customer=invoice["customer"], description=_description(invoice),
                                  at=at, off_session=off_session, authenticated=authenticated)
    if intent is not None and intent["status"] == "succeeded":
        return mark_paid(sb, invoice, intent, at)
    if intent is not None and intent["status"] == "processing":
        return sb.store.put({**invoice, "_payment_intent": intent["id"], "_intent_status": "processing",
                             "attempted": True, "attempt_count": invoice["attempt_count"] + 1})
    return _failed(sb, invoice, intent, at)


def _description(invoice) -> str:
    return "Subscription creation" if invoice["billing_reason"] == "subscription_create" else "Subscription update"


def _failed(sb, invoice, intent, at) -> dict:
    """A failed (or authentication-needing) attempt; schedules the next smart retry."""
    failed = copy.deepcopy(invoice)
    failed.update(attempted=True, attempt_count=invoice["attempt_count"] + 1,
                  _payment_intent=intent["id"] if intent else None,
                  _intent_status=intent["status"] if intent else "requires_payment_method")
    if invoice["billing_reason"] != "subscription_create":
        retries = sb.retry_days
        done = failed["attempt_count"] - 1  # retries already made
        failed["next_payment_attempt"] = int(at + retries[done] * 86400) if done < len(retries) else None
    sb.store.put(failed)
    emit(sb, "invoice.payment_failed", failed, at=at)
    if failed["_intent_status"] == "requires_action":
        emit(sb, "invoice.payment_action_required", failed, at=at)
    return failed


def void(sb, invoice: dict, at: int) -> dict:
    voided = copy.deepcopy(invoice)
    voided.update(status="void", amount_remaining=0, auto_advance=False, next_payment_attempt=None)
    voided["status_transitions"]["voided_at"] = at
    sb.store.put(voided)
    emit(sb, "invoice.voided", voided, at=at)
    return voided


def mark_uncollectible(sb, invoice: dict, at: int) -> dict:
    marked = copy.deepcopy(invoice)
    marked.update(status="uncollectible", auto_advance=False, next_payment_attempt=None)
    marked["status_transitions"]["marked_uncollectible_at"] = at
    sb.store.put(marked)
    emit(sb, "invoice.marked_uncollectible", marked, at=at)
    return marked

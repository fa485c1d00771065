"""Payments: paying a Checkout Session, renewing, retrying and giving up.

The rules follow Stripe's defaults for `collection_method=charge_automatically`:
a renewal invoice is created when the period ends and the period advances
whatever the payment outcome; a failed payment makes the subscription
`past_due` and is retried SANDBOX_RETRY_DAYS after each previous attempt;
after the last retry fails the subscription is `canceled` or `unpaid`
(SANDBOX_DUNNING_FINAL). https://docs.stripe.com/billing/revenue-recovery/smart-retries
"""
import copy

from .cards import DECLINED, lookup
from .events import emit, save_updated
from .periods import add_interval
from .resources import checkout
from .resources.charges import charge_card, new_payment_method
from .resources.customers import get_customer, new_customer
from .resources.invoices import new_invoice, subscription_of
from .resources.subscriptions import end_subscription, new_subscription

DAY = 86400


class CardDeclined(Exception):
    """The card was refused; nothing was created."""


class UnknownCard(Exception):
    """Not one of the test card numbers the sandbox understands."""


def check_card(number: str) -> None:
    card = lookup(number)
    if card is None:
        raise UnknownCard(number)
    if card[1] == DECLINED:
        raise CardDeclined(number)


def pay_checkout(sb, session: dict, card_number: str, email: str | None) -> dict:
    """Complete an open session with a test card; raises CardDeclined or UnknownCard.

    Events follow Stripe's order for a Checkout subscription: customer.created
    (only when the session creates the customer), charge.succeeded,
    checkout.session.completed, customer.subscription.created, invoice.created,
    invoice.finalized, invoice.paid, invoice.payment_succeeded.
    """
    check_card(card_number)
    if lookup(card_number)[1] != "pays":  # 0341 attaches later, but a first charge fails
        raise CardDeclined(card_number)
    at = sb.now()
    customer = _checkout_customer(sb, session, email)
    pm = new_payment_method(sb, card_number, customer["id"], customer["email"])
    price = sb.store.get(session["_line_items"][0]["price"], "price")
    sub = new_subscription(sb, customer=customer["id"], price=price,
                           quantity=session["_line_items"][0]["quantity"],
                           meta=dict(session["_subscription_metadata"]), payment_method=pm["id"], at=at)
    invoice = _new_invoice(sb, sub, customer, "subscription_create", (at, at),
                           _item_period(sub), at)
    charge = charge_card(sb, pm, amount=invoice["amount_due"], currency=invoice["currency"],
                         customer=customer["id"], description="Subscription creation", at=at)
    paid = _paid(invoice, charge, at)
    sub["latest_invoice"] = invoice["id"]
    sb.store.put(sub)
    sb.store.put(paid)
    done = checkout.complete(sb, session, customer=customer, sub=sub, invoice=paid)
    emit(sb, "checkout.session.completed", done, at=at)
    emit(sb, "customer.subscription.created", sub, at=at)
    _emit_invoice_opened(sb, invoice, at)
    _emit_invoice_paid(sb, paid, at)
    return done


def _checkout_customer(sb, session, email) -> dict:
    if session["customer"]:
        customer = get_customer(sb, session["customer"])
        if customer["currency"] is None:
            customer = sb.store.put({**customer, "currency": session["currency"]})
        return customer
    customer = new_customer(sb, email=session["customer_email"] or email or None)
    return sb.store.put({**customer, "currency": session["currency"]})


def _item_period(sub) -> tuple[int, int]:
    item = sub["items"]["data"][0]
    return item["current_period_start"], item["current_period_end"]


def _new_invoice(sb, sub, customer, reason, period, line_period, at) -> dict:
    invoice = new_invoice(sb, sub, customer, reason=reason, period=period,
                          line_period=line_period, at=at)
    sb.store.put({**customer, "next_invoice_sequence": customer["next_invoice_sequence"] + 1})
    return sb.store.put(invoice)


def _paid(invoice, charge, at) -> dict:
    paid = copy.deepcopy(invoice)
    paid.update(status="paid", amount_paid=invoice["amount_due"], amount_remaining=0,
                attempted=True, attempt_count=invoice["attempt_count"] + 1,
                next_payment_attempt=None, _charge=charge["id"])
    paid["status_transitions"]["paid_at"] = at
    return paid


def _emit_invoice_opened(sb, invoice, at) -> None:
    draft = copy.deepcopy(invoice)
    draft.update(status="draft", amount_paid=0, amount_remaining=invoice["amount_due"],
                 attempted=False, attempt_count=0, number=None)
    draft["status_transitions"].update(finalized_at=None, paid_at=None)
    emit(sb, "invoice.created", draft, at=at)
    opened = copy.deepcopy(draft)
    opened.update(status="open", number=invoice["number"])
    opened["status_transitions"]["finalized_at"] = invoice["status_transitions"]["finalized_at"]
    emit(sb, "invoice.finalized", opened, at=at)


def _emit_invoice_paid(sb, invoice, at) -> None:
    emit(sb, "invoice.paid", invoice, at=at)
    emit(sb, "invoice.payment_succeeded", invoice, at=at)


def attempt_payment(sb, invoice: dict, sub: dict, at: int) -> dict:
    """Charge the subscription's card for an open invoice; returns the stored invoice.

    On failure schedules the next retry (or none after the last) and emits
    invoice.payment_failed.
    """
    customer = get_customer(sb, invoice["customer"])
    pm_id = sub["default_payment_method"] or customer["invoice_settings"]["default_payment_method"]
    pm = sb.store.get(pm_id, "payment_method") if pm_id else None
    charge = None
    if pm is not None:
        charge = charge_card(sb, pm, amount=invoice["amount_remaining"], currency=invoice["currency"],
                             customer=customer["id"], description="Subscription update", at=at)
    if charge is not None and charge["paid"]:
        paid = sb.store.put(_paid(invoice, charge, at))
        _emit_invoice_paid(sb, paid, at)
        return paid
    failed = copy.deepcopy(invoice)
    failed.update(attempted=True, attempt_count=invoice["attempt_count"] + 1)
    retries = sb.retry_days
    done = failed["attempt_count"] - 1  # retries already made
    failed["next_payment_attempt"] = int(at + retries[done] * DAY) if done < len(retries) else None
    sb.store.put(failed)
    emit(sb, "invoice.payment_failed", failed, at=at)
    return failed


def renew(sb, sub: dict, at: int) -> dict:
    """Handle the end of `sub`'s period at time `at` (its current period end)."""
    if sub["cancel_at_period_end"]:
        return end_subscription(sb, sub, at)
    customer = get_customer(sb, sub["customer"])
    old, new = sub, copy.deepcopy(sub)
    for item in new["items"]["data"]:
        start = item["current_period_end"]
        item.update(current_period_start=start, current_period_end=add_interval(start, item["price"]))
    invoice = _new_invoice(sb, new, customer, "subscription_cycle", _item_period(old),
                           _item_period(new), at)
    new["latest_invoice"] = invoice["id"]
    sb.store.put(new)
    _emit_invoice_opened(sb, invoice, at)
    result = attempt_payment(sb, invoice, new, at)
    new["status"] = "active" if result["status"] == "paid" else "past_due"
    return save_updated(sb, "customer.subscription.updated", old, new, at)


def retry(sb, invoice: dict, at: int) -> dict:
    """A scheduled retry of an open subscription invoice."""
    sub = sb.store.get(subscription_of(invoice), "subscription")
    if sub is None or sub["status"] not in ("active", "past_due"):
        # Nothing left to collect for: stop retrying quietly.
        return sb.store.put({**invoice, "next_payment_attempt": None})
    result = attempt_payment(sb, invoice, sub, at)
    if result["status"] == "paid":
        if sub["status"] == "past_due":
            save_updated(sb, "customer.subscription.updated", sub, {**sub, "status": "active"}, at)
    elif result["next_payment_attempt"] is None:
        give_up(sb, sub, result, at)
    return result


def give_up(sb, sub: dict, invoice: dict, at: int) -> dict:
    """After the last failed retry: cancel (invoice uncollectible) or mark unpaid (invoice open)."""
    if sb.dunning_final == "unpaid":
        return save_updated(sb, "customer.subscription.updated", sub, {**sub, "status": "unpaid"}, at)
    marked = copy.deepcopy(invoice)
    marked["status"] = "uncollectible"
    marked["status_transitions"]["marked_uncollectible_at"] = at
    sb.store.put(marked)
    emit(sb, "invoice.marked_uncollectible", marked, at=at)
    return end_subscription(sb, sub, at, reason="payment_failed")


def replace_card(sb, customer: dict, card_number: str) -> dict:
    """Attach a new card and make it the default for the customer and their subscriptions.

    4000 0000 0000 0341 attaches fine; charges on it fail later. Raises
    CardDeclined for cards refused outright, UnknownCard for other numbers.
    """
    check_card(card_number)
    pm = new_payment_method(sb, card_number, customer["id"], customer["email"])
    settings = {**customer["invoice_settings"], "default_payment_method": pm["id"]}
    save_updated(sb, "customer.updated", customer, {**customer, "invoice_settings": settings})
    for sub in sb.store.all("subscription", customer["id"]):
        if sub["status"] not in ("canceled", "incomplete_expired"):
            save_updated(sb, "customer.subscription.updated", sub,
                         {**sub, "default_payment_method": pm["id"]})
    return pm

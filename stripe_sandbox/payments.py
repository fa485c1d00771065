"""Payment attempts: a PaymentIntent, and a Charge with its balance transaction when money moves.

https://docs.stripe.com/payments/paymentintents/lifecycle : an intent ends
`succeeded`; a declined card leaves it `requires_payment_method` with
`last_payment_error`; a bank that asks the cardholder to authenticate leaves it
`requires_action` (no charge is made until they do); a payment method that
settles later leaves it `processing` with a `pending` charge.
The cards and bank accounts the sandbox understands are in cards.py.
"""
from .cards import needs_authentication
from .events import emit, save_updated
from .fees import new_balance_transaction
from .ids import new_id

DECLINE = {"code": "card_declined", "decline_code": "generic_decline",
           "message": "Your card was declined.", "type": "card_error"}


def new_intent(sb, *, amount, currency, customer, description, pm, at, metadata=None) -> dict:
    """A PaymentIntent shaped like Stripe's (fixture keys); not stored."""
    intent_id = new_id("pi_")
    return {
        "id": intent_id, "object": "payment_intent", "amount": amount, "amount_capturable": 0,
        "amount_details": {"tip": {}}, "amount_received": 0, "application": None,
        "application_fee_amount": None, "automatic_payment_methods": None, "canceled_at": None,
        "cancellation_reason": None, "capture_method": "automatic",
        "client_secret": f"{intent_id}_secret_{new_id('')}", "confirmation_method": "automatic",
        "created": at, "currency": currency, "customer": customer, "customer_account": None,
        "description": description, "excluded_payment_method_types": None,
        "last_payment_error": None, "latest_charge": None, "livemode": False,
        "managed_payments": {"enabled": False}, "metadata": dict(metadata or {}),
        "next_action": None, "on_behalf_of": None, "payment_method": pm["id"],
        "payment_method_configuration_details": None, "payment_method_options": {},
        "payment_method_types": [pm["type"]], "processing": None, "receipt_email": None,
        "review": None, "setup_future_usage": None, "shipping": None, "source": None,
        "statement_descriptor": None, "statement_descriptor_suffix": None,
        "status": "requires_confirmation", "transfer_data": None, "transfer_group": None,
    }


def attempt(sb, pm: dict, *, amount, currency, customer, description, at,
            off_session: bool, authenticated: bool = False, metadata=None) -> dict:
    """Try to take a payment; returns the stored intent (its `status` tells the outcome)."""
    intent = new_intent(sb, amount=amount, currency=currency, customer=customer,
                        description=description, pm=pm, at=at, metadata=metadata)
    if pm["type"] == "us_bank_account":
        return _processing(sb, intent, pm, at)
    if needs_authentication(pm, off_session) and not authenticated:
        return _requires_action(sb, intent, at)
    return charge_intent(sb, intent, pm, at)


def charge_intent(sb, intent: dict, pm: dict, at: int) -> dict:
    """Charge a confirmed intent's card now; emits charge.* and payment_intent.* events."""
    ok = not pm.get("_fails")
    charge = _charge(pm, intent, at, "succeeded" if ok else "failed")
    if ok:
        charge["balance_transaction"] = new_balance_transaction(sb, charge, at)["id"]
    sb.store.put(charge)
    emit(sb, "charge.succeeded" if ok else "charge.failed", charge, at=at)
    done = {**intent, "latest_charge": charge["id"], "next_action": None,
            "status": "succeeded" if ok else "requires_payment_method",
            "amount_received": intent["amount"] if ok else 0,
            "last_payment_error": None if ok else dict(DECLINE, payment_method=pm["id"])}
    sb.store.put(done)
    emit(sb, "payment_intent.succeeded" if ok else "payment_intent.payment_failed", done, at=at)
    return done


def _requires_action(sb, intent, at) -> dict:
    """The bank asks for 3-D Secure: no charge; the customer must authenticate on a hosted page."""
    waiting = {**intent, "status": "requires_action",
               "next_action": {"type": "use_stripe_sdk", "use_stripe_sdk": {"type": "three_d_secure_redirect"}}}
    sb.store.put(waiting)
    emit(sb, "payment_intent.requires_action", waiting, at=at)
    return waiting


def _processing(sb, intent, pm, at) -> dict:
    """A bank debit: the charge is pending until it settles (settle() below)."""
    charge = _charge(pm, intent, at, "pending")
    sb.store.put(charge)
    emit(sb, "charge.pending", charge, at=at)
    pending = {**intent, "status": "processing", "latest_charge": charge["id"],
               "processing": {"type": "us_bank_account"}, "_settles_at": at + 2 * 86400}
    sb.store.put(pending)
    emit(sb, "payment_intent.processing", pending, at=at)
    return pending


def settle(sb, intent: dict, at: int) -> dict:
    """A processing bank debit settles: succeeds, or fails with the account's failure code."""
    pm = sb.store.get(intent["payment_method"], "payment_method")
    charge = sb.store.get(intent["latest_charge"], "charge")
    failure = pm["_failure"]
    new_charge = {**charge, "status": "failed" if failure else "succeeded", "paid": not failure,
                  "captured": not failure, "amount_captured": 0 if failure else charge["amount"],
                  "failure_code": failure, "failure_message": _BANK_FAILURES.get(failure)}
    if not failure:
        new_charge["balance_transaction"] = new_balance_transaction(sb, new_charge, at)["id"]
    save_updated(sb, "charge.failed" if failure else "charge.succeeded", charge, new_charge, at)
    done = {**intent, "_settles_at": None, "processing": None,
            "status": "requires_payment_method" if failure else "succeeded",
            "amount_received": 0 if failure else intent["amount"],
            "last_payment_error": {"code": failure, "type": "invalid_request_error",
                                   "message": _BANK_FAILURES[failure]} if failure else None}
    sb.store.put(done)
    emit(sb, "payment_intent.payment_failed" if failure else "payment_intent.succeeded", done, at=at)
    return done


_BANK_FAILURES = {
    "account_closed": "The customer's bank account has been closed.",
    "no_account": "The customer's bank account could not be located.",
    "insufficient_funds": "The customer's account has insufficient funds to cover this payment.",
}


def _charge(pm, intent, at, status) -> dict:
    ok = status == "succeeded"
    failed = status == "failed"
    return {
        "id": new_id("ch_"), "object": "charge", "amount": intent["amount"],
        "amount_captured": intent["amount"] if ok else 0, "amount_refunded": 0,
        "application": None, "application_fee": None, "application_fee_amount": None,
        "balance_transaction": None, "billing_details": pm["billing_details"],
        "calculated_statement_descriptor": "SANDBOX", "captured": ok, "created": at,
        "currency": intent["currency"], "customer": intent["customer"],
        "description": intent["description"], "disputed": False,
        "failure_balance_transaction": None, "failure_code": "card_declined" if failed else None,
        "failure_message": "Your card was declined." if failed else None, "fraud_details": {},
        "livemode": False, "metadata": dict(intent["metadata"]), "on_behalf_of": None,
        "outcome": _outcome(failed), "paid": ok, "payment_intent": intent["id"],
        "payment_method": pm["id"], "payment_method_details": _method_details(pm),
        "receipt_email": None, "receipt_number": None, "receipt_url": None, "refunded": False,
        "review": None, "shipping": None, "source": None, "source_transfer": None,
        "statement_descriptor": None, "statement_descriptor_suffix": None, "status": status,
        "transfer_data": None, "transfer_group": None,
    }


def _outcome(failed: bool) -> dict:
    return {"network_status": "declined_by_network" if failed else "approved_by_network",
            "reason": "generic_decline" if failed else None, "risk_level": "normal",
            "seller_message": ("The bank did not return any further details with this decline."
                               if failed else "Payment complete."),
            "type": "issuer_declined" if failed else "authorized"}


def _method_details(pm) -> dict:
    if pm["type"] == "us_bank_account":
        bank = pm["us_bank_account"]
        return {"type": "us_bank_account", "us_bank_account": {
            "account_holder_type": "individual", "account_type": "checking",
            "bank_name": bank["bank_name"], "expected_debit_date": None,
            "fingerprint": bank["fingerprint"], "last4": bank["last4"], "mandate": None,
            "payment_reference": None, "routing_number": bank["routing_number"]}}
    card = pm["card"]
    return {"card": {"brand": card["brand"], "last4": card["last4"], "exp_month": card["exp_month"],
                     "exp_year": card["exp_year"], "country": "US", "funding": "credit"},
            "type": "card"}

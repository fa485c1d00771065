"""Payment methods, payment intents, charges, refunds and disputes.

Only what invoice payments need: a successful payment leaves a `pi_` and a
`ch_`; a declined one a failed charge. Refunds and (sandbox-made) disputes
emit the events a live account sends.
"""
from ..api import endpoint
from ..cards import FAILS_LATER, fingerprint, lookup, normalize
from ..events import emit, save_updated
from ..ids import new_id
from ..listing import PAGING, created_filter, page, render
from ..wire import StripeError, fetch, integer, reject_unknown, required, string

_ADDRESS = {"city": None, "country": None, "line1": None, "line2": None,
            "postal_code": None, "state": None}


def new_payment_method(sb, number: str, customer: str | None, email=None, exp=(12, 2034)) -> dict:
    brand, behaviour = lookup(number)
    digits = normalize(number)
    pm = {
        "id": new_id("pm_"), "object": "payment_method", "allow_redisplay": "unspecified",
        "billing_details": {"address": dict(_ADDRESS), "email": email, "name": None,
                            "phone": None, "tax_id": None},
        "card": {"brand": brand, "checks": {"address_line1_check": None,
                                            "address_postal_code_check": None, "cvc_check": "pass"},
                 "country": "US", "display_brand": brand, "exp_month": exp[0], "exp_year": exp[1],
                 "fingerprint": fingerprint(digits), "funding": "credit", "generated_from": None,
                 "last4": digits[-4:], "networks": {"available": [brand], "preferred": None},
                 "regulated_status": "unregulated", "three_d_secure_usage": {"supported": True},
                 "wallet": None},
        "created": sb.now(), "customer": customer, "customer_account": None, "livemode": False,
        "metadata": {}, "type": "card", "_fails": behaviour == FAILS_LATER,
    }
    return sb.store.put(pm)


def charge_card(sb, pm: dict, *, amount: int, currency: str, customer: str,
                description: str, at: int) -> dict:
    """Create the payment intent and charge for one attempt; status says if it was paid."""
    ok = not pm["_fails"]
    intent_id, charge_id = new_id("pi_"), new_id("ch_")
    charge = _charge(pm, charge_id, intent_id, amount, currency, customer, description, at, ok)
    intent = {
        "id": intent_id, "object": "payment_intent", "amount": amount,
        "amount_received": amount if ok else 0, "capture_method": "automatic", "created": at,
        "currency": currency, "customer": customer, "description": description,
        "latest_charge": charge_id, "livemode": False, "metadata": {}, "payment_method": pm["id"],
        "payment_method_types": ["card"],
        "status": "succeeded" if ok else "requires_payment_method",
        "last_payment_error": None if ok else {"code": "card_declined", "decline_code": "generic_decline",
                                               "message": "Your card was declined.", "type": "card_error"},
    }
    sb.store.put(intent)
    sb.store.put(charge)
    emit(sb, "charge.succeeded" if ok else "charge.failed", charge, at=at)
    return charge


def _charge(pm, charge_id, intent_id, amount, currency, customer, description, at, ok) -> dict:
    card = pm["card"]
    return {
        "id": charge_id, "object": "charge", "amount": amount, "amount_captured": amount if ok else 0,
        "amount_refunded": 0, "application": None, "application_fee": None,
        "application_fee_amount": None, "balance_transaction": None,
        "billing_details": pm["billing_details"], "calculated_statement_descriptor": "SANDBOX",
        "captured": ok, "created": at, "currency": currency, "customer": customer,
        "description": description, "disputed": False, "failure_balance_transaction": None,
        "failure_code": None if ok else "card_declined",
        "failure_message": None if ok else "Your card was declined.", "fraud_details": {},
        "livemode": False, "metadata": {}, "on_behalf_of": None,
        "outcome": {"network_status": "approved_by_network" if ok else "declined_by_network",
                    "reason": None if ok else "generic_decline", "risk_level": "normal",
                    "seller_message": "Payment complete." if ok else "The bank did not return any further details with this decline.",
                    "type": "authorized" if ok else "issuer_declined"},
        "paid": ok, "payment_intent": intent_id, "payment_method": pm["id"],
        "payment_method_details": {"card": {"brand": card["brand"], "last4": card["last4"],
                                            "exp_month": card["exp_month"], "exp_year": card["exp_year"],
                                            "country": "US", "funding": "credit"}, "type": "card"},
        "receipt_email": None, "receipt_number": None, "receipt_url": None, "refunded": False,
        "review": None, "shipping": None, "source_transfer": None, "statement_descriptor": None,
        "statement_descriptor_suffix": None, "status": "succeeded" if ok else "failed",
        "transfer_data": None, "transfer_group": None,
    }


def get_charge(sb, charge_id, param="id", status=404) -> dict:
    return fetch(sb, "charge", charge_id, param, status)


def refund(sb, charge: dict, amount: int | None, reason: str | None) -> dict:
    """Refund (part of) a charge; emits charge.refunded."""
    remaining = charge["amount_captured"] - charge["amount_refunded"]
    amount = remaining if amount is None else amount
    if not charge["paid"] or amount <= 0 or amount > remaining:
        raise StripeError(f"Refund amount ({amount}) is greater than unrefunded amount on charge ({remaining})"
                          if charge["paid"] else "This charge cannot be refunded.",
                          param="amount", code="charge_already_refunded" if remaining == 0 else None)
    now = sb.now()
    refund_ = {"id": new_id("re_"), "object": "refund", "amount": amount, "balance_transaction": None,
               "charge": charge["id"], "created": now, "currency": charge["currency"],
               "customer": charge["customer"], "customer_account": None, "destination_details": None,
               "metadata": {}, "payment_intent": charge["payment_intent"],
               "payment_method": charge["payment_method"], "reason": reason,
               "receipt_number": None, "source_transfer_reversal": None, "status": "succeeded",
               "transfer_reversal": None}
    sb.store.put(refund_)
    refunded = charge["amount_refunded"] + amount
    new = {**charge, "amount_refunded": refunded, "refunded": refunded == charge["amount_captured"]}
    save_updated(sb, "charge.refunded", charge, new, at=now)
    return refund_


def dispute(sb, charge: dict, reason: str = "fraudulent") -> dict:
    """A dispute on a paid charge (sandbox-only trigger); emits charge.dispute.created."""
    if not charge["paid"] or charge["disputed"]:
        raise StripeError("This charge cannot be disputed.", param="charge")
    now = sb.now()
    dispute_ = {"id": new_id("dp_"), "object": "dispute", "amount": charge["amount"],
                "balance_transactions": [], "charge": charge["id"], "created": now,
                "currency": charge["currency"], "evidence": {}, "evidence_details": {
                    "due_by": now + 7 * 86400, "has_evidence": False, "past_due": False,
                    "submission_count": 0}, "is_charge_refundable": False, "livemode": False,
                "metadata": {}, "payment_intent": charge["payment_intent"], "reason": reason,
                "status": "needs_response", "customer": charge["customer"]}
    sb.store.put(dispute_)
    sb.store.put({**charge, "disputed": True})
    emit(sb, "charge.dispute.created", dispute_, at=now)
    return dispute_


@endpoint("/charges/<charge_id>")
def retrieve(sb, params, charge_id):
    reject_unknown(params, set())
    return render(sb, get_charge(sb, charge_id), params)


@endpoint("/charges")
def list_(sb, params):
    reject_unknown(params, PAGING | {"customer", "payment_intent", "created"})
    customer, intent = string(params, "customer"), string(params, "payment_intent")
    in_range = created_filter(params)
    found = [c for c in sb.store.all("charge", customer)
             if (intent is None or c["payment_intent"] == intent) and in_range(c["created"])]
    return render(sb, page(found, params, "/v1/charges"), params)


@endpoint("/refunds", methods=["POST"])
def create_refund(sb, params):
    reject_unknown(params, {"charge", "amount", "reason", "metadata"})
    charge = get_charge(sb, required(params, "charge"), "charge", 400)
    reason = string(params, "reason")
    return render(sb, refund(sb, charge, integer(params, "amount", minimum=1), reason), params)


@endpoint("/refunds/<refund_id>")
def retrieve_refund(sb, params, refund_id):
    reject_unknown(params, set())
    return render(sb, fetch(sb, "refund", refund_id), params)


@endpoint("/payment_intents/<intent_id>")
def retrieve_intent(sb, params, intent_id):
    reject_unknown(params, set())
    return render(sb, fetch(sb, "payment_intent", intent_id), params)


@endpoint("/payment_methods/<pm_id>")
def retrieve_payment_method(sb, params, pm_id):
    reject_unknown(params, set())
    return render(sb, fetch(sb, "payment_method", pm_id, label="PaymentMethod"), params)

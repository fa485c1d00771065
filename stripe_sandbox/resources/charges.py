"""Payment methods, payment intents, charges, balance transactions, refunds and disputes.

Payments themselves are made in payments.py: a successful one leaves a `pi_`,
a `ch_` and a `txn_`; a declined one a failed charge. Refunds and
(sandbox-made) disputes emit the events a live account sends.
"""
from ..api import endpoint
from ..cards import AUTH_ALWAYS, AUTH_UNLESS_SET_UP, FAILS_LATER, ROUTING_NUMBER, fingerprint, lookup, normalize
from ..events import emit, save_updated
from ..fees import refund_balance_transaction
from ..ids import new_id
from ..listing import PAGING, created_filter, page, render
from ..wire import StripeError, fetch, integer, reject_unknown, required, string

_ADDRESS = {"city": None, "country": None, "line1": None, "line2": None,
            "postal_code": None, "state": None}


def new_payment_method(sb, number: str, customer: str | None, email=None, exp=(12, 2034)) -> dict:
    """A card payment method for a test card number (cards.py says how it behaves)."""
    brand, behaviour = lookup(number)
    digits = normalize(number)
    pm = _payment_method(sb, "card", customer, email)
    pm["card"] = {
        "brand": brand, "checks": {"address_line1_check": None, "address_postal_code_check": None,
                                   "cvc_check": "pass"},
        "country": "US", "display_brand": brand, "exp_month": exp[0], "exp_year": exp[1],
        "fingerprint": fingerprint(digits), "funding": "credit", "generated_from": None,
        "last4": digits[-4:], "networks": {"available": [brand], "preferred": None},
        "regulated_status": "unregulated", "three_d_secure_usage": {"supported": True},
        "wallet": None}
    pm.update(_fails=behaviour == FAILS_LATER,
              _auth=behaviour if behaviour in (AUTH_ALWAYS, AUTH_UNLESS_SET_UP) else None)
    return sb.store.put(pm)


def new_bank_payment_method(sb, account: str, failure: str | None, customer: str | None, email=None) -> dict:
    """A us_bank_account payment method; a debit from it settles later (payments.settle)."""
    pm = _payment_method(sb, "us_bank_account", customer, email)
    pm["us_bank_account"] = {
        "account_holder_type": "individual", "account_type": "checking",
        "bank_name": "STRIPE TEST BANK", "financial_connections_account": None,
        "fingerprint": fingerprint(account), "last4": account[-4:],
        "networks": {"preferred": "ach", "supported": ["ach"]}, "routing_number": ROUTING_NUMBER,
        "status_details": None}
    pm.update(_fails=False, _auth=None, _failure=failure)
    return sb.store.put(pm)


def _payment_method(sb, type_: str, customer, email) -> dict:
    return {
        "id": new_id("pm_"), "object": "payment_method", "allow_redisplay": "unspecified",
        "billing_details": {"address": dict(_ADDRESS), "email": email, "name": None,
                            "phone": None, "tax_id": None},
        "created": sb.now_for(customer), "customer": customer, "customer_account": None, "livemode": False,
        "metadata": {}, "type": type_,
    }


def set_up_for_future_use(sb, pm: dict) -> dict:
    """Mark a payment method as set up for off-session payments (Checkout subscription mode,
    the portal's card form): https://docs.stripe.com/payments/save-and-reuse"""
    return sb.store.put({**pm, "_set_up": True})


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
    now = sb.now_for(charge["customer"])
    refund_ = {"id": new_id("re_"), "object": "refund", "amount": amount, "balance_transaction": None,
               "charge": charge["id"], "created": now, "currency": charge["currency"],
               "customer": charge["customer"], "customer_account": None, "destination_details": None,
               "metadata": {}, "payment_intent": charge["payment_intent"],
               "payment_method": charge["payment_method"], "reason": reason,
               "receipt_number": None, "source_transfer_reversal": None, "status": "succeeded",
               "transfer_reversal": None}
    refund_["balance_transaction"] = refund_balance_transaction(sb, refund_, now)["id"]
    sb.store.put(refund_)
    refunded = charge["amount_refunded"] + amount
    new = {**charge, "amount_refunded": refunded, "refunded": refunded == charge["amount_captured"]}
    save_updated(sb, "charge.refunded", charge, new, at=now)
    return refund_


def dispute(sb, charge: dict, reason: str = "fraudulent") -> dict:
    """A dispute on a paid charge (sandbox-only trigger); emits charge.dispute.created."""
    if not charge["paid"] or charge["disputed"]:
        raise StripeError("This charge cannot be disputed.", param="charge")
    now = sb.now_for(charge["customer"])
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
    """Refund a charge, or the charge of a PaymentIntent (`payment_intent`): exactly one of the
    two, as Stripe asks (https://docs.stripe.com/api/refunds/create)."""
    reject_unknown(params, {"charge", "payment_intent", "amount", "reason", "metadata"})
    if ("charge" in params) == ("payment_intent" in params):
        raise StripeError("You must pass either `charge` or `payment_intent` (not both).",
                          param="charge" if "charge" in params else None)
    if "payment_intent" in params:
        intent = fetch(sb, "payment_intent", required(params, "payment_intent"), "payment_intent", 400)
        if not intent["latest_charge"]:
            raise StripeError("This PaymentIntent has no successful charge to refund.", param="payment_intent")
        params = {**params, "charge": intent["latest_charge"]}
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


@endpoint("/balance_transactions/<txn_id>")
def retrieve_balance_transaction(sb, params, txn_id):
    reject_unknown(params, set())
    return render(sb, fetch(sb, "balance_transaction", txn_id, label="balance transaction"), params)

"""Customers: POST/GET /v1/customers, POST/GET/DELETE /v1/customers/:id.

https://docs.stripe.com/api/customers/delete : deleting "cancels any active
subscriptions on the customer" and returns `{"id", "object": "customer",
"deleted": true}`; retrieving a deleted customer returns that stub
(https://docs.stripe.com/api/customers/retrieve). Anything else done with it
(update, Checkout, billing portal) fails like an unknown id: resource_missing.
`test_clock` (https://docs.stripe.com/api/customers/create#create_customer-test_clock,
https://docs.stripe.com/billing/testing/test-clocks) puts the customer on a test
clock for good: it is created at the clock's frozen_time and lives by it.
"""
import secrets

from ..api import endpoint
from ..events import emit, save_updated
from ..ids import new_id
from ..listing import PAGING, created_filter, page, render
from ..test_clocks import live_clock
from ..wire import fetch, metadata, no_such, reject_unknown, string
from .subscriptions import LIVE, end_subscription

WRITABLE = {"email", "name", "description", "metadata", "phone"}
UPDATE = WRITABLE | {"invoice_settings"}
CREATE = WRITABLE | {"test_clock"}


def new_customer(sb, *, email=None, name=None, description=None, meta=None, phone=None,
                 test_clock: dict | None = None) -> dict:
    """Store a customer (on `test_clock`, stamped with its frozen_time) and emit customer.created."""
    customer = {
        "id": new_id("cus_"), "object": "customer", "address": None, "balance": 0,
        "created": test_clock["frozen_time"] if test_clock else sb.now(), "currency": None, "default_source": None, "delinquent": False,
        "description": description, "discount": None, "email": email,
        "invoice_prefix": secrets.token_hex(4).upper(),
        "invoice_settings": {"custom_fields": None, "default_payment_method": None,
                             "footer": None, "rendering_options": None},
        "livemode": False, "metadata": meta or {}, "name": name, "next_invoice_sequence": 1,
        "phone": phone, "preferred_locales": [], "shipping": None, "tax_exempt": "none",
        "test_clock": test_clock["id"] if test_clock else None,
    }
    sb.store.put(customer)
    emit(sb, "customer.created", customer)
    return customer


def get_customer(sb, customer_id: str, param: str = "id", status: int = 404) -> dict:
    """A live customer; a deleted one is missing, as Stripe answers for it."""
    customer = fetch(sb, "customer", customer_id, param, status)
    if customer.get("deleted"):
        raise no_such("customer", customer_id, param, status)
    return customer


def delete_customer(sb, customer: dict, at: int) -> dict:
    """Cancel the customer's live subscriptions (customer.subscription.deleted each),
    then replace the customer with its deleted stub (customer.deleted)."""
    for sub in sb.store.all("subscription", customer["id"]):
        if sub["status"] in LIVE:
            end_subscription(sb, sub, at)
    stub = {"id": customer["id"], "object": "customer", "deleted": True}
    kept = {"_test_clock": customer["test_clock"]} if customer.get("test_clock") else {}
    sb.store.put({**stub, "created": customer["created"], **kept})
    emit(sb, "customer.deleted", customer, at=at)
    return stub


def update_customer(sb, customer: dict, changes: dict) -> dict:
    """Apply top-level changes and emit customer.updated with previous_attributes."""
    return save_updated(sb, "customer.updated", customer, {**customer, **changes})


@endpoint("/customers", methods=["POST"])
def create(sb, params):
    reject_unknown(params, CREATE)
    customer = new_customer(sb, email=string(params, "email"), name=string(params, "name"),
                            description=string(params, "description"),
                            meta=metadata(params), phone=string(params, "phone"),
                            test_clock=_test_clock_param(sb, params))
    return render(sb, customer, params)


def _test_clock_param(sb, params) -> dict | None:
    clock_id = string(params, "test_clock")
    if not clock_id:
        return None
    found = live_clock(sb, clock_id)
    if found is None:
        raise no_such("test clock", clock_id, "test_clock", 400)
    return found


@endpoint("/customers/<customer_id>")
def retrieve(sb, params, customer_id):
    reject_unknown(params, set())
    found = fetch(sb, "customer", customer_id)
    if found.get("deleted"):
        return {"id": found["id"], "object": "customer", "deleted": True}
    return render(sb, found, params)


@endpoint("/customers/<customer_id>", methods=["DELETE"])
def delete(sb, params, customer_id):
    reject_unknown(params, set())
    return delete_customer(sb, get_customer(sb, customer_id), sb.now_for(customer_id))


@endpoint("/customers/<customer_id>", methods=["POST"])
def update(sb, params, customer_id):
    reject_unknown(params, UPDATE)
    customer = get_customer(sb, customer_id)
    changes = {k: string(params, k) for k in ("email", "name", "description", "phone") if k in params}
    changes = {k: (v or None) for k, v in changes.items()}
    if "metadata" in params:
        changes["metadata"] = metadata(params, current=customer["metadata"])
    if "invoice_settings" in params:
        changes["invoice_settings"] = _invoice_settings(sb, customer, params["invoice_settings"])
    return render(sb, update_customer(sb, customer, changes), params)


def _invoice_settings(sb, customer, value) -> dict:
    settings = dict(customer["invoice_settings"])
    reject_unknown(value if isinstance(value, dict) else {}, {"default_payment_method"},
                   "invoice_settings")
    pm_id = value.get("default_payment_method") if isinstance(value, dict) else None
    if pm_id and sb.store.get(pm_id, "payment_method") is None:
        raise no_such("PaymentMethod", pm_id, "invoice_settings[default_payment_method]", 400)
    settings["default_payment_method"] = pm_id or None
    return settings


@endpoint("/customers")
def list_(sb, params):
    reject_unknown(params, PAGING | {"email", "created", "test_clock"})
    email, in_range = string(params, "email"), created_filter(params)
    clock_id = string(params, "test_clock")
    found = [c for c in sb.store.all("customer") if not c.get("deleted")
             and (email is None or c["email"] == email) and in_range(c["created"])
             and (clock_id is None or c["test_clock"] == clock_id)]
    return render(sb, page(found, params, "/v1/customers"), params)

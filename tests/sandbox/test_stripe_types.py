"""The new objects and parameters checked against Stripe's own types, offline.

Sources (see ../shared/stripe-reference/README.md, last section):
- the pinned SDK's response classes (`stripe.PaymentIntent.__annotations__`, ...) name every
  property of an object in API version 2026-10-28.endive: a sandbox key the class does not
  annotate, or a missing key the class types as non-optional, is not Stripe's shape;
- `fixtures3.json` (github.com/stripe/openapi) holds one sample of each resource, including
  `payment_intent`, `balance_transaction`, `invoiceitem` and `deleted_customer`;
- `stripe.params.<Resource><Verb>Params.__annotations__` are exactly the parameters an endpoint
  accepts, so the sandbox's accepted sets must be subsets of them.
"""
import json
import typing
from pathlib import Path

import pytest
import stripe
from stripe.params import (
    CustomerCreateParams,
    CustomerUpdateParams,
    PriceCreateParams,
    PriceUpdateParams,
    SubscriptionCancelParams,
    SubscriptionUpdateParams,
)
from stripe.params import billing_portal as portal_params
from stripe.params import checkout as checkout_params_sdk
from stripe.params._subscription_update_params import (
    SubscriptionUpdateParamsCancellationDetails,
    SubscriptionUpdateParamsItem,
    SubscriptionUpdateParamsPauseCollection,
)
from stripe.params.checkout._session_create_params import (
    SessionCreateParamsLineItem,
    SessionCreateParamsLineItemPriceData,
    SessionCreateParamsLineItemPriceDataProductData,
    SessionCreateParamsPaymentIntentData,
    SessionCreateParamsSubscriptionData,
)

from stripe_sandbox.resources import checkout, checkout_params, customers, portal, prices, subscription_update, subscriptions

from .harness import pay
from .helpers import HOUR, period

# Stripe's samples, copied unchanged from ../shared/stripe-reference/fixtures3.json (the file
# names its source and checksum), so the check runs the same with or without shared/ beside the clone.
FIXTURES = json.loads((Path(__file__).parents[1] / "data" / "stripe_fixtures.json").read_text())
REQUEST_OPTIONS = set(stripe.RequestOptions.__annotations__)
# The SDK still types these as present; the 2026 spec removed them (README table, test_shapes.py).
SPEC_REMOVED = {"SubscriptionItem": {"plan"}}


def _annotated(cls) -> tuple[set, set]:
    """(every property, the non-optional ones) of an SDK response class."""
    hints = {k: v for k, v in cls.__annotations__.items() if k != "OBJECT_NAME"}
    required = {k for k, v in hints.items() if type(None) not in typing.get_args(v)}
    return set(hints), required


def check(cls, obj: dict, fixture: str | None = None) -> None:
    every, required = _annotated(cls)
    assert set(obj) - every == set(), f"{cls.__name__}: keys Stripe does not have"
    missing = required - set(obj) - SPEC_REMOVED.get(cls.__name__, set())
    assert missing == set(), f"{cls.__name__}: required keys missing"
    if fixture:
        assert set(FIXTURES[fixture]) - set(obj) == set(), f"{fixture}: fixture keys missing"


@pytest.fixture
def gift(client, sandbox):
    made = client.v1.checkout.sessions.create(params={
        "mode": "payment", "success_url": "http://svc.test/ok", "customer_creation": "always",
        "line_items": [{"price_data": {"currency": "usd", "unit_amount": 1500,
                                       "product_data": {"name": "Gift"}}}]})
    pay(sandbox, made.url)
    return client.v1.checkout.sessions.retrieve(made.id)


def test_payment_intent_charge_and_balance_transaction(client, gift):
    intent = client.v1.payment_intents.retrieve(gift.payment_intent)
    check(stripe.PaymentIntent, intent.to_dict(), "payment_intent")
    charge = client.v1.charges.retrieve(intent.latest_charge)
    check(stripe.Charge, charge.to_dict())
    txn = client.v1.balance_transactions.retrieve(charge.balance_transaction)
    check(stripe.BalanceTransaction, txn.to_dict(), "balance_transaction")
    assert set(txn.to_dict()) == set(FIXTURES["balance_transaction"])
    check(stripe.checkout.Session, gift.to_dict())


def test_deleted_customer(client, gift):
    deleted = client.v1.customers.delete(gift.customer).to_dict()
    assert set(deleted) == set(FIXTURES["deleted_customer"]) and deleted["deleted"] is True
    assert set(deleted) <= _annotated(stripe.Customer)[0]


def test_subscriptions_invoices_and_invoice_items_in_every_new_state(client, sandbox, member, plan):
    sub = member["subscription"]
    dearer = client.v1.prices.create(params={"product": plan.product, "currency": "usd", "unit_amount": 900,
                                             "recurring": {"interval": "month"}})
    client.v1.subscriptions.update(sub.id, params={"items": [{"id": sub["items"].data[0].id, "price": dearer.id}]})
    paused = client.v1.subscriptions.update(sub.id, params={
        "pause_collection": {"behavior": "keep_as_draft"}, "cancel_at": period(sub)[1] + 20 * 86400})
    check(stripe.Subscription, paused.to_dict())
    check(stripe.SubscriptionItem, paused["items"].data[0].to_dict())
    sandbox.advance(seconds=period(sub)[1] - sandbox.now() + HOUR + 60)
    draft = client.v1.invoices.retrieve(client.v1.subscriptions.retrieve(sub.id).latest_invoice)
    assert draft.status == "draft"
    check(stripe.Invoice, draft.to_dict())
    for line in draft.lines.data:
        check(stripe.InvoiceLineItem, line.to_dict())
    item = client.v1.events.list(params={"type": "invoiceitem.created"}).data[0].data.object.to_dict()
    check(stripe.InvoiceItem, item, "invoiceitem")


@pytest.mark.parametrize("accepted, params", [
    (subscription_update.UPDATE, SubscriptionUpdateParams),
    (subscription_update.PAUSE_KEYS, SubscriptionUpdateParamsPauseCollection),
    (subscription_update.ITEM_KEYS, SubscriptionUpdateParamsItem),
    (subscription_update.CANCELLATION_DETAILS, SubscriptionUpdateParamsCancellationDetails),
    (subscriptions.CANCEL, SubscriptionCancelParams),
    (checkout.CREATE, checkout_params_sdk.SessionCreateParams),
    (checkout_params.SUBSCRIPTION_DATA, SessionCreateParamsSubscriptionData),
    (checkout_params.PAYMENT_INTENT_DATA, SessionCreateParamsPaymentIntentData),
    (checkout_params.LINE_ITEM, SessionCreateParamsLineItem),
    (checkout_params.PRICE_DATA, SessionCreateParamsLineItemPriceData),
    (checkout_params.PRODUCT_DATA, SessionCreateParamsLineItemPriceDataProductData),
    (customers.WRITABLE, CustomerCreateParams),
    (customers.UPDATE, CustomerUpdateParams),
    (prices.CREATE, PriceCreateParams),
    (prices.UPDATE, PriceUpdateParams),
    (portal.CREATE, portal_params.SessionCreateParams),
])
def test_accepted_parameters_are_stripes(accepted, params):
    assert set(accepted) - (set(params.__annotations__) - REQUEST_OPTIONS) == set()

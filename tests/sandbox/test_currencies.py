"""Multi-currency prices (`currency_options`), Checkout in a chosen currency, a customer's single
billing currency, and converted charges and refunds.

Stripe sources:
- https://docs.stripe.com/api/prices/create#create_price-currency_options :
  `currency_options[<cur>][unit_amount]`, "Prices defined in each available currency option";
  the entry takes `custom_unit_amount`, `tax_behavior`, `tiers`, `unit_amount`,
  `unit_amount_decimal` (stripe.params.PriceCreateParamsCurrencyOptions); anything else is a
  400 parameter_unknown (../shared/stripe-reference/README.md, last section).
- https://docs.stripe.com/products-prices/manage-prices : "The API response won't include
  currency_options by default. To include it in the response, expand the currency_options field";
  https://github.com/stripe/stripe-mock/issues/420 (`GET /v1/prices/:id?expand[]=currency_options`,
  an "includable" property). Expanded, the default currency has its entry beside the others: the
  Price sample in https://github.com/arlyon/async-stripe/blob/master/tests/price.rs.
- https://docs.stripe.com/api/prices/update : "Updates the specified price by setting the values
  of the parameters passed. Any parameters not provided are left unchanged"; an option for the
  default currency is refused: "You are specifying an update to a currency option that matches
  the top-level currency for this price" (https://github.com/stripe/stripe-node/issues/1559).
- https://github.com/stripe/stripe-dotnet/issues/2745 : `GET /v1/prices?currency=brl` returns a
  price whose default currency is USD and which supports BRL through `currency_options`.
- https://docs.stripe.com/api/checkout/sessions/create#create_checkout_session-currency and
  https://docs.stripe.com/payments/checkout/localize-prices/manual-currency-prices : a session's
  `currency` picks the price's currency option; a currency the price lacks is refused: "The price
  specified supports currencies of `jpy` which doesn't include the expected currency of `usd`."
  (https://github.com/airbadge-dev/airbadge/issues/15).
- https://docs.stripe.com/invoicing/multi-currency-customers : "You can't have two active
  subscriptions with different currencies"; "you must cancel existing subscriptions before
  creating a new subscription with a new currency". At session creation: "You cannot combine
  currencies on a single customer. This customer has an active subscription, ... with currency
  gbp." and, without `currency`, Stripe picks "from the customer's billing history"
  (https://github.com/lukevella/rallly/pull/3307).
- https://support.stripe.com/questions/setting-a-customers-default-currency : "The customer's
  default currency will be changed when the customer does not have any active subscriptions and
  you start a new subscription ... in a new currency."
- https://docs.stripe.com/api/balance_transactions/object : `amount` in the settlement currency,
  `exchange_rate` when converted; https://docs.stripe.com/currencies/disputes-refunds : a refund
  of a converted payment is "converted back ... at the current exchange rate" (the sandbox's
  rates are its own fixed ones, so only the arithmetic is checked).
"""
import pytest
import stripe
from stripe.params._price_create_params import PriceCreateParamsCurrencyOptions
from stripe.params._price_update_params import PriceUpdateParamsCurrencyOptions

from stripe_sandbox.resources import prices

from .harness import pay
from .helpers import HOUR, SUCCESS, period

EUR, CHF = 450, 500


@pytest.fixture
def euro_plan(client):
    """$5 a month, €4.50 or CHF 5.00 (one Price with currency options)."""
    return client.v1.prices.create(params={
        "currency": "usd", "unit_amount": 500, "recurring": {"interval": "month"}, "lookup_key": "monthly-5",
        "currency_options": {"eur": {"unit_amount": EUR}, "chf": {"unit_amount": CHF, "tax_behavior": "inclusive"}},
        "product_data": {"name": "Membership"}})


def _session(client, price, **extra):
    return client.v1.checkout.sessions.create(params={
        "mode": "subscription", "line_items": [{"price": price.id, "quantity": 1}], "success_url": SUCCESS} | extra)


def _subscribe(client, sandbox, price, **extra):
    made = _session(client, price, **extra)
    assert pay(sandbox, made.url).status_code == 303
    done = client.v1.checkout.sessions.retrieve(made.id)
    return done, client.v1.subscriptions.retrieve(done.subscription)


def _invalid(call) -> stripe.InvalidRequestError:
    with pytest.raises(stripe.InvalidRequestError) as excinfo:
        call()
    return excinfo.value


def test_currency_options_are_shown_only_when_expanded(client, euro_plan):
    assert "currency_options" not in euro_plan.to_dict()
    assert "currency_options" not in client.v1.prices.retrieve(euro_plan.id).to_dict()
    shown = client.v1.prices.retrieve(euro_plan.id, params={"expand": ["currency_options"]}).currency_options
    assert sorted(shown.to_dict()) == ["chf", "eur", "usd"]
    assert (shown["usd"].unit_amount, shown["eur"].unit_amount, shown["chf"].unit_amount) == (500, EUR, CHF)
    assert (shown["eur"].unit_amount_decimal, shown["chf"].tax_behavior) == ("450", "inclusive")
    listed = client.v1.prices.list(params={"expand": ["data.currency_options"]}).data[0]
    assert listed.currency_options["eur"].unit_amount == EUR


def test_options_have_stripes_shape_and_parameters(client, euro_plan):
    shown = client.v1.prices.retrieve(euro_plan.id, params={"expand": ["currency_options"]}).currency_options
    fields = set(stripe.Price.CurrencyOptions.__annotations__) - {"tiers"}  # `tiers` is itself includable
    assert all(set(entry) == fields for entry in shown.to_dict().values())
    for params in (PriceCreateParamsCurrencyOptions, PriceUpdateParamsCurrencyOptions):
        assert set(params.__annotations__) == prices.OPTION_KEYS


def test_listing_by_currency_finds_prices_with_that_option(client, euro_plan):
    assert [p.id for p in client.v1.prices.list(params={"currency": "eur"}).data] == [euro_plan.id]
    assert client.v1.prices.list(params={"currency": "gbp"}).data == []


def test_currency_options_are_validated(client):
    base = {"currency": "usd", "unit_amount": 500, "product_data": {"name": "Gift"}}
    error = _invalid(lambda: client.v1.prices.create(params=base | {
        "currency_options": {"eur": {"unit_amount": 450, "colour": "blue"}}}))
    assert (error.code, error.param) == ("parameter_unknown", "currency_options[eur][colour]")
    error = _invalid(lambda: client.v1.prices.create(params=base | {"currency_options": {"eur": {"tax_behavior": "exclusive"}}}))
    assert (error.code, error.param) == ("parameter_missing", "currency_options[eur][unit_amount]")


def test_an_update_adds_options_but_not_the_default_currency(client, euro_plan):
    client.v1.prices.update(euro_plan.id, params={"currency_options": {"gbp": {"unit_amount": 400}}})
    shown = client.v1.prices.retrieve(euro_plan.id, params={"expand": ["currency_options"]}).currency_options
    assert {k: v["unit_amount"] for k, v in shown.to_dict().items()} == {"usd": 500, "eur": EUR, "chf": CHF, "gbp": 400}
    error = _invalid(lambda: client.v1.prices.update(euro_plan.id, params={
        "currency_options": {"usd": {"unit_amount": 600}}}))
    assert error.param == "currency_options[usd]" and "top-level currency" in error.user_message


def test_a_subscription_in_euros(client, sandbox, euro_plan):
    made = _session(client, euro_plan, currency="eur")
    assert (made.currency, made.amount_total, made.amount_subtotal) == ("eur", EUR, EUR)
    assert "€4.50" in sandbox.http.get(made.url).text  # the sandbox's own hosted page
    item = client.v1.checkout.sessions.retrieve(made.id, params={
        "expand": ["line_items.data.price.currency_options"]}).line_items.data[0]
    assert (item.currency, item.amount_total, item.price.id, item.price.currency) == ("eur", EUR, euro_plan.id, "usd")
    assert item.price.currency_options["eur"].unit_amount == EUR
    assert pay(sandbox, made.url).status_code == 303
    sub = client.v1.subscriptions.retrieve(client.v1.checkout.sessions.retrieve(made.id).subscription,
                                           params={"expand": ["items.data.price.currency_options"]})
    assert (sub.status, sub.currency, sub["items"].data[0].price.id) == ("active", "eur", euro_plan.id)
    assert "_currency_options" not in sub["items"].data[0].price.to_dict()
    assert sub["items"].data[0].price.currency_options["eur"].unit_amount == EUR
    invoice = client.v1.invoices.retrieve(sub.latest_invoice)
    assert (invoice.currency, invoice.total, invoice.amount_paid) == ("eur", EUR, EUR)
    assert (invoice.lines.data[0].currency, invoice.lines.data[0].amount) == ("eur", EUR)
    charge = client.v1.charges.list(params={"customer": sub.customer}).data[0]
    intent = client.v1.payment_intents.retrieve(charge.payment_intent)
    assert (intent.currency, intent.amount, charge.currency, charge.amount) == ("eur", EUR, "eur", EUR)
    txn = client.v1.balance_transactions.retrieve(charge.balance_transaction)
    assert txn.currency == "usd" and txn.exchange_rate is not None and txn.amount == round(EUR * txn.exchange_rate)
    assert client.v1.customers.retrieve(sub.customer).currency == "eur"

    sandbox.advance(seconds=period(sub)[1] - sandbox.now() + HOUR + 60)
    renewal = client.v1.invoices.retrieve(client.v1.subscriptions.retrieve(sub.id).latest_invoice)
    assert (renewal.billing_reason, renewal.status, renewal.currency, renewal.amount_paid) == (
        "subscription_cycle", "paid", "eur", EUR)


def test_a_currency_the_price_lacks_is_refused(client, euro_plan):
    error = _invalid(lambda: _session(client, euro_plan, currency="gbp"))
    assert "supports currencies of" in error.user_message and "expected currency of `gbp`" in error.user_message
    inline = {"currency": "usd", "unit_amount": 1000, "product_data": {"name": "Gift"}}
    error = _invalid(lambda: client.v1.checkout.sessions.create(params={
        "mode": "payment", "success_url": SUCCESS, "currency": "eur", "line_items": [{"price_data": inline}]}))
    assert "expected currency of `eur`" in error.user_message


def test_a_one_time_payment_in_francs(client, sandbox):
    once = client.v1.prices.create(params={"currency": "usd", "unit_amount": 2500, "product_data": {"name": "Gift"},
                                           "currency_options": {"chf": {"unit_amount": 2200}}})
    made = client.v1.checkout.sessions.create(params={
        "mode": "payment", "success_url": SUCCESS, "currency": "chf", "customer_creation": "always",
        "line_items": [{"price": once.id}]})
    assert (made.currency, made.amount_total) == ("chf", 2200)
    pay(sandbox, made.url)
    intent = client.v1.payment_intents.retrieve(client.v1.checkout.sessions.retrieve(made.id).payment_intent)
    assert (intent.currency, intent.amount) == ("chf", 2200)


def test_a_refund_of_a_converted_charge_is_converted_back(client, sandbox, euro_plan):
    _, sub = _subscribe(client, sandbox, euro_plan, currency="eur")
    charge = client.v1.charges.list(params={"customer": sub.customer}).data[0]
    refund = client.v1.refunds.create(params={"charge": charge.id, "amount": 200})
    txn = client.v1.balance_transactions.retrieve(refund.balance_transaction)
    assert (txn.type, txn.source, txn.currency) == ("refund", refund.id, "usd")
    assert txn.exchange_rate is not None and txn.amount == -round(200 * txn.exchange_rate) and txn.net == txn.amount


def test_a_customer_cannot_hold_two_currencies_at_once(client, sandbox, euro_plan):
    done, sub = _subscribe(client, sandbox, euro_plan)
    customer = done.customer
    assert (sub.currency, client.v1.customers.retrieve(customer).currency) == ("usd", "usd")
    error = _invalid(lambda: _session(client, euro_plan, customer=customer, currency="eur"))
    assert error.user_message.startswith("You cannot combine currencies on a single customer.")
    assert "with currency usd" in error.user_message
    # Without a currency the session follows the customer's billing history.
    assert _session(client, euro_plan, customer=customer).currency == "usd"
    # One-time payments are no billing objects: another currency is fine.
    gift = client.v1.checkout.sessions.create(params={
        "mode": "payment", "success_url": SUCCESS, "customer": customer,
        "line_items": [{"price_data": {"currency": "eur", "unit_amount": 900, "product_data": {"name": "Gift"}}}]})
    assert gift.currency == "eur"


def test_after_cancelling_a_customer_may_subscribe_in_another_currency(client, sandbox, euro_plan):
    done, sub = _subscribe(client, sandbox, euro_plan)
    client.v1.subscriptions.cancel(sub.id)
    made = _session(client, euro_plan, customer=done.customer, currency="eur")
    assert pay(sandbox, made.url).status_code == 303
    again = client.v1.subscriptions.retrieve(client.v1.checkout.sessions.retrieve(made.id).subscription)
    assert (again.currency, client.v1.customers.retrieve(done.customer).currency) == ("eur", "eur")


def test_an_open_subscription_session_holds_the_currency_too(client, euro_plan):
    customer = client.v1.customers.create(params={"email": "m@example.org"})
    _session(client, euro_plan, customer=customer.id, currency="chf")
    error = _invalid(lambda: _session(client, euro_plan, customer=customer.id, currency="eur"))
    assert "active subscription mode checkout session with currency chf" in error.user_message


def test_a_plan_change_bills_the_new_price_in_the_subscription_currency(client, sandbox, euro_plan):
    """https://docs.stripe.com/billing/subscriptions/prorations : a credit for the unused time on
    the old price and a debit for the remaining time on the new one."""
    _, sub = _subscribe(client, sandbox, euro_plan, currency="eur")
    yearly = client.v1.prices.create(params={
        "product": euro_plan.product, "currency": "usd", "unit_amount": 900, "recurring": {"interval": "month"},
        "currency_options": {"eur": {"unit_amount": 800}}})
    usd_only = client.v1.prices.create(params={
        "product": euro_plan.product, "currency": "usd", "unit_amount": 700, "recurring": {"interval": "month"}})
    item = sub["items"].data[0].id
    error = _invalid(lambda: client.v1.subscriptions.update(sub.id, params={"items": [{"id": item, "price": usd_only.id}]}))
    assert error.param == "items[0][price]"
    client.v1.subscriptions.update(sub.id, params={"items": [{"id": item, "price": yearly.id}],
                                                   "proration_behavior": "always_invoice"})
    invoice = client.v1.invoices.retrieve(client.v1.subscriptions.retrieve(sub.id).latest_invoice)
    assert invoice.currency == "eur" and {line.currency for line in invoice.lines.data} == {"eur"}
    credit, debit = sorted(line.amount for line in invoice.lines.data)
    assert -EUR <= credit < 0 < debit <= 800

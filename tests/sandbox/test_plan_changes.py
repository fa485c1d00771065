"""Price and quantity changes with prorations, through the API and the portal's "Switch plan".

Stripe sources:
- https://docs.stripe.com/billing/subscriptions/prorations : "If a customer upgrades from a
  10 USD monthly plan to a 20 USD option halfway through the billing period, the customer is
  billed an additional 5 USD": -5 USD "Unused time on original 10 USD plan (credit)", +10 USD
  "Remaining time on new 20 USD plan (debit)"; "The current billing period's start and end
  times are used to calculate the cost"; `proration_behavior` `create_prorations` (the
  default: pending invoice items on the next invoice), `always_invoice`, `none`.
- https://docs.stripe.com/billing/subscriptions/change-price and
  https://docs.stripe.com/billing/subscriptions/billing-cycle#changing : changing to a price
  with a different interval resets the billing period and invoices at once.
- https://docs.stripe.com/invoicing/customer/balance : a negative invoice total becomes a
  credit balance applied to the next invoice.
- https://docs.stripe.com/customer-management : the portal lets customers switch plans.
"""
import pytest
import stripe

from .helpers import DAY, HOUR, events, period


@pytest.fixture
def prices(client, plan):
    product = plan.product
    def make(amount, interval, key):
        return client.v1.prices.create(params={"product": product, "currency": "usd", "unit_amount": amount,
                                               "recurring": {"interval": interval}, "lookup_key": key})
    return {"monthly-10": make(1000, "month", "monthly-10"), "yearly-50": make(5000, "year", "yearly-50")}


def _change(client, sub, price=None, **params):
    item = {"id": sub["items"].data[0].id} | ({"price": price.id} if price else {})
    if "quantity" in params:
        item["quantity"] = params.pop("quantity")
    return client.v1.subscriptions.update(sub.id, params={"items": [item]} | params)


def _proration_lines(invoice):
    return [line for line in invoice.lines.data
            if line.parent.type == "invoice_item_details" and line.parent.invoice_item_details.proration]


def _expected(lines, start, end, old, new):
    """Stripe's formula, from the change time the proration lines carry."""
    changed_at = lines[0].period.start
    unused = (end - changed_at) / (end - start)
    return -round(old * unused), round(new * unused)


def test_upgrade_creates_prorations_for_the_next_invoice(client, sandbox, member, prices):
    sub = member["subscription"]
    start, end = period(sub)
    sandbox.advance(days=15)
    changed = _change(client, sub, prices["monthly-10"])
    assert changed["items"].data[0].price.id == prices["monthly-10"].id
    assert changed.latest_invoice == sub.latest_invoice  # nothing invoiced yet
    update = events(client, "customer.subscription.updated")[0]
    assert update.data.previous_attributes["items"].data[0].price.id == sub["items"].data[0].price.id
    assert len(events(client, "invoiceitem.created")) == 2

    sandbox.advance(seconds=end - sandbox.now() + HOUR + 60)
    invoice = client.v1.invoices.retrieve(client.v1.subscriptions.retrieve(sub.id).latest_invoice)
    lines = _proration_lines(invoice)
    credit, debit = _expected(lines, start, end, 500, 1000)
    assert sorted(line.amount for line in lines) == [credit, debit]
    assert credit < 0 < debit and abs(debit + 2 * credit) <= 1  # the documented -5 / +10 shape
    assert "Unused time on" in min(lines, key=lambda x: x.amount).description
    assert (invoice.status, invoice.amount_paid) == ("paid", 1000 + credit + debit)


def test_always_invoice_bills_the_change_at_once(client, sandbox, member, prices):
    sub = member["subscription"]
    start, end = period(sub)
    sandbox.advance(days=10)
    changed = _change(client, sub, prices["monthly-10"], proration_behavior="always_invoice")
    invoice = client.v1.invoices.retrieve(changed.latest_invoice)
    assert (invoice.billing_reason, invoice.status) == ("subscription_update", "paid")
    credit, debit = _expected(_proration_lines(invoice), start, end, 500, 1000)
    assert invoice.amount_paid == credit + debit
    assert period(changed) == (start, end)  # same interval: the billing period is kept


def test_no_prorations_with_proration_behavior_none(client, sandbox, member, prices):
    sub = member["subscription"]
    sandbox.advance(days=10)
    _change(client, sub, prices["monthly-10"], proration_behavior="none")
    assert events(client, "invoiceitem.created") == []
    sandbox.advance(seconds=period(sub)[1] - sandbox.now() + HOUR + 60)
    invoice = client.v1.invoices.retrieve(client.v1.subscriptions.retrieve(sub.id).latest_invoice)
    assert invoice.amount_paid == 1000 and _proration_lines(invoice) == []


def test_monthly_to_yearly_resets_the_billing_period_and_invoices_now(client, sandbox, member, prices):
    sub = member["subscription"]
    start, end = period(sub)
    sandbox.advance(days=10)
    changed = _change(client, sub, prices["yearly-50"])
    new_start, new_end = period(changed)
    assert changed.billing_cycle_anchor == new_start and new_start > start
    assert new_end - new_start >= 365 * DAY
    invoice = client.v1.invoices.retrieve(changed.latest_invoice)
    assert (invoice.billing_reason, invoice.status) == ("subscription_update", "paid")
    credit = _proration_lines(invoice)[0].amount
    assert credit == -round(500 * (end - new_start) / (end - start))
    assert invoice.amount_paid == 5000 + credit


def test_quantity_change_and_downgrade_credit_goes_to_the_customer_balance(client, sandbox, member, prices):
    sub = member["subscription"]
    start, end = period(sub)
    sandbox.advance(days=10)
    doubled = _change(client, sub, quantity=2, proration_behavior="always_invoice")
    assert doubled["items"].data[0].quantity == 2
    credit, debit = _expected(_proration_lines(client.v1.invoices.retrieve(doubled.latest_invoice)),
                              start, end, 500, 1000)
    assert client.v1.invoices.retrieve(doubled.latest_invoice).amount_paid == credit + debit
    halved = _change(client, doubled, quantity=1, proration_behavior="always_invoice")
    refund = client.v1.invoices.retrieve(halved.latest_invoice)
    assert refund.total < 0 and refund.amount_due == 0 and refund.status == "paid"
    assert refund.ending_balance == refund.total
    customer = client.v1.customers.retrieve(member["customer"].id)
    assert customer.balance == refund.total  # negative: a credit
    sandbox.advance(seconds=end - sandbox.now() + HOUR + 60)
    renewal = client.v1.invoices.retrieve(client.v1.subscriptions.retrieve(sub.id).latest_invoice)
    assert renewal.starting_balance == refund.total
    assert renewal.amount_paid == 500 + refund.total


@pytest.mark.parametrize("item, param", [
    ({"id": "si_nope"}, "items[0][id]"),
    ({"price": "price_nope"}, "items[0][price]"),
    ({"deleted": "true"}, "items[0][deleted]"),
    ({"quantity": 0}, "items[0][quantity]"),
])
def test_bad_item_changes_are_refused(client, member, item, param):
    sub = member["subscription"]
    with pytest.raises(stripe.InvalidRequestError) as excinfo:
        client.v1.subscriptions.update(sub.id, params={"items": [{"id": sub["items"].data[0].id} | item]})
    assert (excinfo.value.http_status, excinfo.value.param) == (400, param)
    assert events(client, "invoiceitem.created") == []


def test_inactive_or_one_time_prices_are_refused(client, member, plan):
    sub = member["subscription"]
    once = client.v1.prices.create(params={"product": plan.product, "currency": "usd", "unit_amount": 900})
    old = client.v1.prices.create(params={"product": plan.product, "currency": "usd", "unit_amount": 700,
                                          "recurring": {"interval": "month"}, "active": False})
    for price in (once, old):
        with pytest.raises(stripe.InvalidRequestError) as excinfo:
            _change(client, sub, price)
        assert excinfo.value.param == "items[0][price]"


def test_portal_switch_plan(client, sandbox, member, prices):
    sub = member["subscription"]
    portal = client.v1.billing_portal.sessions.create(params={"customer": member["customer"].id})
    page = sandbox.http.get(portal.url).text
    assert "Switch plan" in page and prices["yearly-50"].id in page and prices["monthly-10"].id in page
    response = sandbox.http.post(f"{portal.url}/subscriptions/{sub.id}",
                                 data={"action": "switch", "price": prices["monthly-10"].id}, allow_redirects=False)
    assert response.status_code == 303
    switched = client.v1.subscriptions.retrieve(sub.id)
    assert switched["items"].data[0].price.id == prices["monthly-10"].id
    assert len(events(client, "invoiceitem.created")) == 2  # create_prorations
    refused = sandbox.http.post(f"{portal.url}/subscriptions/{sub.id}",
                                data={"action": "switch", "price": "price_nope"}, allow_redirects=False)
    assert refused.status_code == 400

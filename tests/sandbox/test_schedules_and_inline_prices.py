"""What the account page's plan changes need from Stripe: a new amount as inline price data, the
pending prorations it leaves for the next invoice, and a change at the next renewal through a
subscription schedule.

Stripe sources:
- https://docs.stripe.com/api/subscriptions/update (items[].price_data: "Data used to generate a new
  Price object inline. You can use either `price` or `price_data`, but not both").
- https://docs.stripe.com/api/invoiceitems/list (`pending`: "only show pending invoice items, which
  are not yet attached to any invoices").
- https://docs.stripe.com/billing/subscriptions/subscription-schedules : a schedule made
  `from_subscription` has the current phase; later phases start when the one before ends;
  `end_behavior=release` leaves the subscription running when the last phase ends;
  "You can not modify the start date of the current phase."
"""
import pytest
import stripe

from .helpers import DAY, events, period


def _item(sub):
    return sub["items"].data[0]


def test_price_data_changes_the_amount_with_pending_prorations(client, sandbox, member, plan):
    sub = member["subscription"]
    start, end = period(sub)
    sandbox.advance(days=10)
    changed = client.v1.subscriptions.update(sub.id, params={"items": [{"id": _item(sub).id, "price_data": {
        "currency": "usd", "product": plan.product, "recurring": {"interval": "month"}, "unit_amount": 800}}]})
    price = _item(changed).price
    assert price.unit_amount == 800 and price.active is False and price.product == plan.product
    assert period(changed) == (start, end), "same interval: the period goes on"
    assert price.id not in [p.id for p in client.v1.prices.list(params={"limit": 100, "active": True}).data]
    pending = client.v1.invoice_items.list(params={"customer": member["customer"].id, "pending": True}).data
    assert sorted(i.amount for i in pending)[0] < 0 < sorted(i.amount for i in pending)[1]
    assert all(i.invoice is None and i.proration for i in pending)
    assert client.v1.invoice_items.list(params={"customer": member["customer"].id, "pending": False}).data == []


def test_price_and_price_data_together_are_refused(client, member, plan):
    sub = member["subscription"]
    with pytest.raises(stripe.InvalidRequestError) as refused:
        client.v1.subscriptions.update(sub.id, params={"items": [{"id": _item(sub).id, "price": plan.id, "price_data": {
            "currency": "usd", "product": plan.product, "recurring": {"interval": "month"}, "unit_amount": 800}}]})
    assert refused.value.param == "items[0][price_data]"
    with pytest.raises(stripe.InvalidRequestError) as other_currency:
        client.v1.subscriptions.update(sub.id, params={"items": [{"id": _item(sub).id, "price_data": {
            "currency": "eur", "product": plan.product, "recurring": {"interval": "month"}, "unit_amount": 800}}]})
    assert other_currency.value.param == "items[0][price_data][currency]"
    assert _item(client.v1.subscriptions.retrieve(sub.id)).price.id == plan.id, "a refused request changes nothing"


def test_a_schedule_moves_a_yearly_subscription_to_monthly_at_renewal(client, sandbox, member, plan):
    yearly = client.v1.prices.create(params={"product": plan.product, "currency": "usd", "unit_amount": 5000,
                                             "recurring": {"interval": "year"}})
    sub = client.v1.subscriptions.update(member["subscription"].id, params={
        "items": [{"id": _item(member["subscription"]).id, "price": yearly.id}], "proration_behavior": "none"})
    start, end = period(sub)
    schedule = client.v1.subscription_schedules.create(params={"from_subscription": sub.id})
    assert schedule.subscription == sub.id and schedule.phases[0].start_date == start
    assert client.v1.subscriptions.retrieve(sub.id).schedule == schedule.id
    with pytest.raises(stripe.InvalidRequestError) as moved:
        client.v1.subscription_schedules.update(schedule.id, params={"phases": [
            {"items": [{"price": yearly.id}], "start_date": start + DAY, "end_date": end}]})
    assert "start date of the current phase" in str(moved.value)
    client.v1.subscription_schedules.update(schedule.id, params={"end_behavior": "release", "phases": [
        {"items": [{"price": yearly.id}], "start_date": start, "end_date": end},
        {"items": [{"price": plan.id}], "iterations": 1, "proration_behavior": "none"}]})
    assert client.v1.invoice_items.list(params={"customer": member["customer"].id, "pending": True}).data == []

    sandbox.advance(seconds=end - sandbox.now() + 60)
    renewed = client.v1.subscriptions.retrieve(sub.id)
    assert _item(renewed).price.id == plan.id and period(renewed)[0] == end
    invoice = client.v1.invoices.retrieve(renewed.latest_invoice)
    assert invoice.billing_reason == "subscription_cycle" and invoice.amount_due == 500
    assert client.v1.subscription_schedules.retrieve(schedule.id).status == "active"

    sandbox.advance(seconds=period(renewed)[1] - sandbox.now() + 60)
    released = client.v1.subscription_schedules.retrieve(schedule.id)
    assert released.status == "released" and released.released_subscription == sub.id
    after = client.v1.subscriptions.retrieve(sub.id)
    assert after.schedule is None and after.status == "active" and _item(after).price.id == plan.id
    assert [e.type for e in events(client, "subscription_schedule.released")] == ["subscription_schedule.released"]


def test_releasing_early_keeps_the_subscription_as_it_is(client, member):
    sub = member["subscription"]
    schedule = client.v1.subscription_schedules.create(params={"from_subscription": sub.id})
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.subscription_schedules.create(params={"from_subscription": sub.id})
    released = client.v1.subscription_schedules.release(schedule.id)
    assert released.status == "released" and client.v1.subscriptions.retrieve(sub.id).schedule is None

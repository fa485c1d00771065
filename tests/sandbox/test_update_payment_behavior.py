"""`payment_behavior` on a subscription update that invoices at once (a new interval, or
`proration_behavior=always_invoice`).

Stripe sources:
- https://docs.stripe.com/billing/subscriptions/pending-updates : "By default, Stripe applies updates
  regardless of whether payment on the new invoice succeeds."
- https://docs.stripe.com/api/subscriptions/update#update_subscription-payment_behavior : "Use
  `error_if_incomplete` if you want Stripe to return an HTTP 402 status code if a subscription's
  invoice cannot be paid. [...] this parameter does not update the subscription and returns an error
  instead." `allow_incomplete` (the default) moves the subscription to `past_due`.
- https://docs.stripe.com/testing#cards : 4000 0000 0000 0341 attaches, then every charge is declined.
"""
import pytest
import stripe

from .helpers import period


@pytest.fixture
def yearly(client, plan):
    return client.v1.prices.create(params={"product": plan.product, "currency": "usd", "unit_amount": 5000,
                                           "recurring": {"interval": "year"}})


@pytest.fixture
def declining(client, sandbox, member):
    portal = client.v1.billing_portal.sessions.create(params={"customer": member["customer"].id})
    assert sandbox.http.post(f"{portal.url}/card", data={"card_number": "4000 0000 0000 0341"},
                             allow_redirects=False).status_code == 303
    return member["subscription"]


def _to(price, sub, **extra):
    return {"items": [{"id": sub["items"].data[0].id, "price": price.id}], "proration_behavior": "always_invoice",
            **extra}


def test_error_if_incomplete_with_a_declined_card_is_a_402_and_changes_nothing(client, declining, yearly, plan):
    sub = declining
    with pytest.raises(stripe.CardError) as declined:
        client.v1.subscriptions.update(sub.id, params=_to(yearly, sub, payment_behavior="error_if_incomplete"))
    assert declined.value.http_status == 402 and declined.value.code == "card_declined"
    after = client.v1.subscriptions.retrieve(sub.id)
    assert after["items"].data[0].price.id == plan.id and after.status == "active"
    assert period(after) == period(sub) and after.latest_invoice == sub.latest_invoice


def test_error_if_incomplete_with_a_good_card_applies_and_pays(client, member, yearly):
    sub = member["subscription"]
    changed = client.v1.subscriptions.update(sub.id, params=_to(yearly, sub, payment_behavior="error_if_incomplete"))
    assert changed["items"].data[0].price.id == yearly.id and changed.status == "active"
    assert client.v1.invoices.retrieve(changed.latest_invoice).status == "paid"


def test_the_default_applies_the_change_and_leaves_the_subscription_past_due(client, declining, yearly):
    sub = declining
    changed = client.v1.subscriptions.update(sub.id, params=_to(yearly, sub))
    assert changed["items"].data[0].price.id == yearly.id and changed.status == "past_due"
    assert client.v1.invoices.retrieve(changed.latest_invoice).status == "open"


def test_an_unknown_payment_behavior_is_refused(client, member, yearly):
    sub = member["subscription"]
    with pytest.raises(stripe.InvalidRequestError) as refused:
        client.v1.subscriptions.update(sub.id, params=_to(yearly, sub, payment_behavior="whenever"))
    assert refused.value.param == "payment_behavior"

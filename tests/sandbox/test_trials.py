"""Trials: from Checkout's `subscription_data[trial_period_days]`, and `trial_end` on update.

Stripe sources:
- https://docs.stripe.com/billing/subscriptions/trials : the subscription is `trialing`, a $0
  invoice is made at the start, the first charge at the trial's end;
  customer.subscription.trial_will_end is sent three days before it ends.
- https://docs.stripe.com/api/checkout/sessions/object (`payment_status`):
  `no_payment_required` "The payment is delayed to a future date".
- https://docs.stripe.com/billing/subscriptions/overview#subscription-statuses : `trialing`
  "transitions automatically to `active` when the first payment is made".
- the SDK's `SubscriptionUpdateParams.trial_end` docstring: "The `billing_cycle_anchor` will be
  updated to the `trial_end` value. The special value `now` can be provided to end the
  customer's trial immediately."; `SessionCreateParamsSubscriptionData.trial_period_days`:
  "Has to be at least 1".
"""
import pytest
import stripe

from .helpers import DAY, HOUR, events, period, session, subscribe


def test_checkout_trial_starts_trialing_with_a_zero_invoice(client, sandbox, plan):
    sub = subscribe(client, sandbox, plan, subscription_data={"trial_period_days": 14})
    assert sub.status == "trialing"
    assert sub.trial_end - sub.trial_start == 14 * DAY
    assert period(sub) == (sub.trial_start, sub.trial_end) and sub.billing_cycle_anchor == sub.trial_end
    invoice = client.v1.invoices.retrieve(sub.latest_invoice)
    assert (invoice.billing_reason, invoice.status, invoice.total) == ("subscription_create", "paid", 0)
    assert client.v1.charges.list().data == []
    done = client.v1.checkout.sessions.list(params={"subscription": sub.id}).data[0]
    assert (done.status, done.payment_status) == ("complete", "no_payment_required")
    created = events(client, "customer.subscription.created")[0].data.object
    assert created.status == "trialing"


def test_trial_end_warns_then_charges(client, sandbox, plan):
    sub = subscribe(client, sandbox, plan, subscription_data={"trial_period_days": 7})
    sandbox.advance(days=4, seconds=60)
    warned = events(client, "customer.subscription.trial_will_end")
    assert [e.data.object.id for e in warned] == [sub.id] and warned[0].created == sub.trial_end - 3 * DAY

    sandbox.advance(seconds=sub.trial_end - sandbox.now() + 60)
    active = client.v1.subscriptions.retrieve(sub.id, params={"expand": ["latest_invoice"]})
    assert active.status == "active"
    assert events(client, "customer.subscription.updated")[0].data.previous_attributes.status == "trialing"
    assert (active.latest_invoice.status, active.latest_invoice.billing_reason) == ("draft", "subscription_cycle")
    sandbox.advance(seconds=HOUR)
    invoice = client.v1.invoices.retrieve(active.latest_invoice.id)
    assert (invoice.status, invoice.amount_paid) == ("paid", 500)
    assert len(client.v1.charges.list().data) == 1


def test_trial_end_on_update_extends_or_ends_the_trial(client, sandbox, plan):
    sub = subscribe(client, sandbox, plan, subscription_data={"trial_period_days": 7})
    later = sub.trial_end + 7 * DAY
    extended = client.v1.subscriptions.update(sub.id, params={"trial_end": later})
    assert (extended.status, extended.trial_end, extended.billing_cycle_anchor) == ("trialing", later, later)
    assert period(extended)[1] == later
    ended = client.v1.subscriptions.update(sub.id, params={"trial_end": "now"})
    assert ended.status == "active" and ended.trial_end == ended.billing_cycle_anchor
    invoice = client.v1.invoices.retrieve(ended.latest_invoice)
    assert (invoice.status, invoice.amount_paid) == ("paid", 500)


def test_trial_end_starts_a_trial_on_a_paying_subscription(client, sandbox, member):
    sub = member["subscription"]
    trial_end = period(sub)[1] + 10 * DAY
    trialing = client.v1.subscriptions.update(sub.id, params={"trial_end": trial_end})
    assert trialing.status == "trialing" and period(trialing)[1] == trial_end
    credits = events(client, "invoiceitem.created")
    assert len(credits) == 1 and credits[0].data.object.amount < 0  # the unused, paid time


@pytest.mark.parametrize("data, param", [
    ({"trial_period_days": 0}, "subscription_data[trial_period_days]"),
    ({"trial_end": 1_000}, "subscription_data[trial_end]"),
])
def test_bad_trial_parameters(client, plan, data, param):
    with pytest.raises(stripe.InvalidRequestError) as excinfo:
        session(client, plan, subscription_data=data)
    assert excinfo.value.param == param


@pytest.mark.parametrize("behavior, status", [("pause", "paused"), ("cancel", "canceled")])
def test_a_trial_that_ends_without_a_payment_method(client, sandbox, plan, behavior, status):
    """https://docs.stripe.com/billing/subscriptions/trials#create-free-trials-without-payment :
    with `payment_method_collection=if_required` no card is needed for a trial; when it ends
    without one, `trial_settings.end_behavior.missing_payment_method` decides (`pause`: status
    `paused` and customer.subscription.paused; `cancel`); "When the trial ends, if the
    subscription status isn't paused, we generate an invoice" (docs.stripe.com/billing/subscriptions/trials)."""
    made = session(client, plan, payment_method_collection="if_required", subscription_data={
        "trial_period_days": 3, "trial_settings": {"end_behavior": {"missing_payment_method": behavior}}})
    page = sandbox.http.get(made.url).text
    assert "Start trial without a card" in page
    response = sandbox.http.post(made.url, data={"payment_method": "none", "email": "t@example.org"},
                                 allow_redirects=False)
    assert response.status_code == 303
    sub = client.v1.subscriptions.retrieve(client.v1.checkout.sessions.retrieve(made.id).subscription)
    assert sub.status == "trialing" and sub.default_payment_method is None
    sandbox.advance(days=3, seconds=HOUR + 60)
    ended = client.v1.subscriptions.retrieve(sub.id)
    assert ended.status == status
    if behavior == "pause":
        assert [e.data.object.id for e in events(client, "customer.subscription.paused")] == [sub.id]
    sandbox.advance(days=40)
    assert len(client.v1.invoices.list(params={"subscription": sub.id}).data) == 1


def test_no_cardless_trial_unless_asked(client, sandbox, plan):
    made = session(client, plan, subscription_data={"trial_period_days": 3})
    assert "Start trial without a card" not in sandbox.http.get(made.url).text
    response = sandbox.http.post(made.url, data={"payment_method": "none"}, allow_redirects=False)
    assert response.status_code == 400

"""`cancel_at` on subscription update: renew (and charge) until that date, then cancel.

Stripe sources:
- https://docs.stripe.com/billing/subscriptions/cancel (cancel at a date, cancel at period end)
- the pinned SDK's own docstring for `stripe.params.SubscriptionUpdateParams.cancel_at`:
  "A timestamp at which the subscription should cancel. If set to a date before the current
  period ends, this will cause a proration if prorations have been enabled using
  `proration_behavior`. If set during a future period, this will always cause a proration for
  that period."
- https://docs.stripe.com/changelog/basil/2025-07-30/cancel-at-enums (`min_period_end`,
  `max_period_end` "resolve to timestamps immediately")
Sandbox simplification (said in renewals.py): a `cancel_at` inside the current, paid period
creates no credit proration.
"""
import pytest
import stripe

from stripe_sandbox.periods import add_interval

from .helpers import DAY, HOUR, events, period


def test_cancel_at_a_later_date_keeps_renewing_until_then(client, sandbox, member):
    sub = member["subscription"]
    start, end = period(sub)
    cancel_at = end + 15 * DAY
    updated = client.v1.subscriptions.update(sub.id, params={"cancel_at": cancel_at})
    assert (updated.cancel_at, updated.cancel_at_period_end, updated.status) == (cancel_at, False, "active")
    assert updated.cancellation_details.reason == "cancellation_requested"
    previous = events(client, "customer.subscription.updated")[0].data.previous_attributes
    assert previous.cancel_at is None

    sandbox.advance(seconds=end - sandbox.now() + HOUR + 60)  # the renewal is charged
    renewed = client.v1.subscriptions.retrieve(sub.id, params={"expand": ["latest_invoice"]})
    assert renewed.status == "active" and not renewed.cancel_at_period_end
    assert period(renewed) == (end, cancel_at)  # the last period ends at cancel_at
    invoice = renewed.latest_invoice
    natural_end = add_interval(end, {"recurring": {"interval": "month", "interval_count": 1}})
    expected = round(500 * (cancel_at - end) / (natural_end - end))
    assert (invoice.status, invoice.amount_paid) == ("paid", expected)  # prorated last period
    assert invoice.lines.data[0].parent.subscription_item_details.proration is True
    assert invoice.lines.data[0].period.end == cancel_at

    sandbox.advance(days=16)
    ended = client.v1.subscriptions.retrieve(sub.id)
    assert (ended.status, ended.ended_at) == ("canceled", cancel_at)
    deleted = events(client, "customer.subscription.deleted")
    assert [e.data.object.id for e in deleted] == [sub.id] and deleted[0].created == cancel_at
    sandbox.advance(days=60)
    assert len(client.v1.invoices.list(params={"subscription": sub.id}).data) == 2


def test_cancel_at_inside_the_current_period_ends_it_early(client, sandbox, member):
    sub = member["subscription"]
    cancel_at = sandbox.now() + 10 * DAY
    client.v1.subscriptions.update(sub.id, params={"cancel_at": cancel_at})
    result = sandbox.advance(days=11)
    assert {"at": cancel_at, "task": "renewal", "id": sub.id} in result["processed"]
    ended = client.v1.subscriptions.retrieve(sub.id)
    assert ended.status == "canceled" and ended.ended_at == cancel_at
    assert len(client.v1.invoices.list(params={"subscription": sub.id}).data) == 1


def test_empty_cancel_at_clears_it(client, sandbox, member):
    sub = member["subscription"]
    cancel_at = period(sub)[1] + 40 * DAY
    client.v1.subscriptions.update(sub.id, params={"cancel_at": cancel_at})
    cleared = client.v1.subscriptions.update(sub.id, params={"cancel_at": ""})
    assert (cleared.cancel_at, cleared.canceled_at, cleared.cancel_at_period_end) == (None, None, False)
    assert events(client, "customer.subscription.updated")[0].data.previous_attributes.cancel_at == cancel_at
    sandbox.advance(days=80)
    assert client.v1.subscriptions.retrieve(sub.id).status == "active"


def test_cancel_at_period_end_sets_cancel_at_to_the_period_end(client, member):
    sub = member["subscription"]
    updated = client.v1.subscriptions.update(sub.id, params={"cancel_at_period_end": True})
    assert updated.cancel_at == period(sub)[1] and updated.cancel_at_period_end is True
    moved = client.v1.subscriptions.update(sub.id, params={"cancel_at": period(sub)[1] + 5 * DAY})
    assert moved.cancel_at_period_end is False
    assert client.v1.subscriptions.update(sub.id, params={"cancel_at": "min_period_end"}).cancel_at == period(sub)[1]


@pytest.mark.parametrize("params, param", [
    ({"cancel_at": 1_000_000}, "cancel_at"),
    ({"cancel_at": "soon"}, "cancel_at"),
    ({"cancel_at": 4_000_000_000, "cancel_at_period_end": True}, "cancel_at"),
])
def test_bad_cancel_at_is_refused_and_changes_nothing(client, member, params, param):
    sub = member["subscription"]
    with pytest.raises(stripe.InvalidRequestError) as excinfo:
        client.v1.subscriptions.update(sub.id, params=params)
    assert (excinfo.value.http_status, excinfo.value.param) == (400, param)
    assert client.v1.subscriptions.retrieve(sub.id).cancel_at is None

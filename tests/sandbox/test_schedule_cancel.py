"""A subscription a schedule manages cannot have its cancellation changed directly: the schedule is
released first (or the subscription is cancelled now, which is allowed).

Stripe sources:
- The error Stripe answers when `cancel_at_period_end` or `cancel_at` is set on such a subscription,
  "The subscription is managed by the subscription schedule `sub_sched_...`, and updating any
  cancelation behavior directly is not allowed. Please update the schedule instead.", as reported in
  https://github.com/laravel/cashier-stripe/issues/1748 and fixed (release the schedule first) in
  https://github.com/Nine-Minds/alga-psa/pull/1802 and https://github.com/dust-tt/dust/pull/32051.
- https://docs.stripe.com/api/subscription_schedules/release : releasing "will stop scheduling of its
  phases, but leave any existing subscription in place", and sets `released_subscription`.
"""
import pytest
import stripe

from .helpers import period


@pytest.fixture
def scheduled(client, member):
    sub = member["subscription"]
    schedule = client.v1.subscription_schedules.create(params={"from_subscription": sub.id})
    return client.v1.subscriptions.retrieve(sub.id), schedule


@pytest.mark.parametrize("params", [{"cancel_at_period_end": True}, {"cancel_at_period_end": False},
                                    {"cancel_at": "max_period_end"}, {"cancel_at": ""}])
def test_a_scheduled_subscription_refuses_cancellation_changes(client, scheduled, params):
    sub, schedule = scheduled
    with pytest.raises(stripe.InvalidRequestError) as refused:
        client.v1.subscriptions.update(sub.id, params=params)
    assert f"managed by the subscription schedule `{schedule.id}`" in str(refused.value.user_message)
    assert "cancelation behavior" in str(refused.value.user_message)
    after = client.v1.subscriptions.retrieve(sub.id)
    assert after.cancel_at_period_end is False and after.cancel_at is None and after.schedule == schedule.id


def test_released_it_can_be_cancelled_at_the_period_end(client, scheduled):
    sub, schedule = scheduled
    released = client.v1.subscription_schedules.release(schedule.id)
    assert released.status == "released" and released.released_subscription == sub.id
    cancelled = client.v1.subscriptions.update(sub.id, params={"cancel_at_period_end": True})
    assert cancelled.cancel_at_period_end is True and cancelled.cancel_at == period(sub)[1]
    assert cancelled.schedule is None


def test_it_can_still_be_cancelled_now(client, scheduled):
    sub, _schedule = scheduled
    assert client.v1.subscriptions.cancel(sub.id).status == "canceled"

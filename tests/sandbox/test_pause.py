"""`pause_collection`: the subscription stays `active`, renewal invoices are not charged.

Stripe sources:
- https://docs.stripe.com/billing/subscriptions/pause-payment : "When you pause payment
  collection, the subscription remains `active` and invoices continue to generate, but Stripe
  doesn't collect payment"; `behavior=void` (never collect), `keep_as_draft` (invoices stay
  `draft` with `auto_advance` false), `mark_uncollectible`; collection resumes at `resumes_at`,
  or when `pause_collection` is unset.
- the pinned SDK's `SubscriptionUpdateParams.pause_collection` docstring: "the subscription
  status will be unchanged and will not be updated to `paused`".
"""
import pytest
import stripe

from .helpers import DAY, HOUR, events, period


def _charges(client, member):
    return client.v1.charges.list(params={"customer": member["customer"].id}).data


def _renewal(client, sandbox, sub):
    """Advance past the period end and the hour before finalization; the renewal invoice."""
    sandbox.advance(seconds=period(sub)[1] - sandbox.now() + HOUR + 60)
    return client.v1.subscriptions.retrieve(sub.id, params={"expand": ["latest_invoice"]})


@pytest.mark.parametrize("behavior, status, event", [
    ("void", "void", "invoice.voided"),
    ("mark_uncollectible", "uncollectible", "invoice.marked_uncollectible"),
    ("keep_as_draft", "draft", None),
])
def test_renewals_during_a_pause_are_not_charged(client, sandbox, member, behavior, status, event):
    sub = member["subscription"]
    paused = client.v1.subscriptions.update(sub.id, params={"pause_collection": {"behavior": behavior}})
    assert paused.status == "active"
    assert paused.pause_collection.to_dict() == {"behavior": behavior, "resumes_at": None}
    assert events(client, "customer.subscription.updated")[0].data.previous_attributes.pause_collection is None

    renewed = _renewal(client, sandbox, sub)
    assert renewed.status == "active"
    assert renewed.latest_invoice.status == status
    assert renewed.latest_invoice.amount_paid == 0
    if behavior == "keep_as_draft":
        assert renewed.latest_invoice.auto_advance is False
    assert len(_charges(client, member)) == 1
    assert [e.data.object.id for e in events(client, "invoice.payment_succeeded")] == [sub.latest_invoice]
    if event:
        assert events(client, event)[0].data.object.id == renewed.latest_invoice.id
    sandbox.advance(days=2)
    assert client.v1.invoices.retrieve(renewed.latest_invoice.id).status == status


def test_collection_resumes_by_itself_at_resumes_at(client, sandbox, member):
    sub = member["subscription"]
    resumes_at = period(sub)[1] + 10 * DAY
    client.v1.subscriptions.update(sub.id, params={
        "pause_collection": {"behavior": "void", "resumes_at": resumes_at}})
    first = _renewal(client, sandbox, sub)
    assert first.latest_invoice.status == "void"
    sandbox.advance(days=10)
    resumed = client.v1.subscriptions.retrieve(sub.id)
    assert resumed.pause_collection is None
    update = events(client, "customer.subscription.updated")[0]
    assert update.created == resumes_at
    assert update.data.previous_attributes.pause_collection.behavior == "void"
    second = _renewal(client, sandbox, resumed)
    assert (second.latest_invoice.status, second.latest_invoice.amount_paid) == ("paid", 500)
    assert len(_charges(client, member)) == 2


def test_empty_pause_collection_resumes_now(client, sandbox, member):
    sub = member["subscription"]
    client.v1.subscriptions.update(sub.id, params={"pause_collection": {"behavior": "keep_as_draft"}})
    resumed = client.v1.subscriptions.update(sub.id, params={"pause_collection": ""})
    assert resumed.pause_collection is None
    assert _renewal(client, sandbox, sub).latest_invoice.status == "paid"


@pytest.mark.parametrize("pause, param", [
    ({"behavior": "forever"}, "pause_collection[behavior]"),
    ({"resumes_at": 4_000_000_000}, "pause_collection[behavior]"),
    ({"behavior": "void", "resumes_at": 1_000}, "pause_collection[resumes_at]"),
    ({"behavior": "void", "colour": "red"}, "pause_collection[colour]"),
])
def test_bad_pause_collection_is_refused(client, member, pause, param):
    with pytest.raises(stripe.InvalidRequestError) as excinfo:
        client.v1.subscriptions.update(member["subscription"].id, params={"pause_collection": pause})
    assert (excinfo.value.http_status, excinfo.value.param) == (400, param)

"""Per-customer test clocks (/v1/test_helpers/test_clocks).

Stripe sources:
- https://docs.stripe.com/api/test_clocks : the object (id `clock_...`, created, deletes_after,
  frozen_time, livemode, name, status, status_details), create (`frozen_time` required, `name`),
  retrieve, list, delete (`{"id", "object", "deleted": true}`), advance; the events
  test_helpers.test_clock.created / .advancing / .ready / .deleted.
- https://docs.stripe.com/api/test_clocks/advance : `frozen_time` "Must be after the test clock's
  current frozen time. Cannot be more than two intervals in the future from the shortest
  subscription in this test clock. If there are no subscriptions in this test clock, it cannot be
  more than two years in the future"; the answer has status `advancing`.
- https://docs.stripe.com/billing/testing/test-clocks (and /api-advanced-usage): a customer
  created with `test_clock` and their subscriptions live at the clock's frozen time; advancing
  the clock makes renewals happen; deleting the clock deletes its customers.
- https://docs.stripe.com/billing/subscriptions/overview : renewal drafts are finalized and paid
  about an hour after the period end.
"""
import json
from pathlib import Path

import pytest
import stripe
from stripe.params import test_helpers as clock_params

from stripe_sandbox.cli import main
from stripe_sandbox.resources import test_clocks as clocks_resource

from .harness import pay
from .helpers import DAY, HOUR, period, session

FROZEN = 1_700_000_000  # 2023-11-14, long before the sandbox's own time
# Stripe's samples, copied unchanged from ../shared/stripe-reference/fixtures3.json.
FIXTURES = Path(__file__).resolve().parents[1] / "data" / "stripe_fixtures.json"
KEY = ("sk_test_sandbox", "")


def _clock(client, frozen=FROZEN, **extra):
    return client.v1.test_helpers.test_clocks.create(params={"frozen_time": frozen, **extra})


def _subscribed(client, sandbox, plan, frozen=FROZEN):
    """A customer on a new clock with a $5/month subscription bought through Checkout."""
    clock = _clock(client, frozen)
    customer = client.v1.customers.create(params={"email": "c@example.org", "test_clock": clock.id})
    made = session(client, plan, customer=customer.id)
    assert pay(sandbox, made.url).status_code == 303
    sub_id = client.v1.checkout.sessions.retrieve(made.id).subscription
    return clock, customer, client.v1.subscriptions.retrieve(sub_id)


def _advance(client, clock_id, to):
    return client.v1.test_helpers.test_clocks.advance(clock_id, params={"frozen_time": to})


def _events_of(client, customer_id):
    found = client.v1.events.list(params={"limit": 100}).auto_paging_iter()
    return [e for e in found if _customer(e.data.object.to_dict()) == customer_id]


def _customer(obj):
    return obj["id"] if obj.get("object") == "customer" else obj.get("customer")


def _raw(sandbox, method, path, **data):
    return sandbox.http.request(method, f"{sandbox.url}/v1{path}", auth=KEY, data=data or None)


def test_create_retrieve_list_and_delete_a_clock(client, sandbox):
    before = sandbox.now()
    clock = _clock(client, name="Annual renewal")
    assert clock.id.startswith("clock_") and clock.object == "test_helpers.test_clock"
    assert (clock.frozen_time, clock.name, clock.status, clock.livemode) == (FROZEN, "Annual renewal", "ready", False)
    # Created at the sandbox's own time (within the call: the clock may cross a second meanwhile).
    assert before <= clock.created <= sandbox.now()
    assert clock.deletes_after == clock.created + 30 * DAY
    assert clock.status_details.to_dict() == {}
    assert client.v1.test_helpers.test_clocks.retrieve(clock.id).to_dict() == clock.to_dict()
    other = _clock(client, FROZEN + DAY)
    listed = client.v1.test_helpers.test_clocks.list(params={"limit": 1})
    assert [c.id for c in listed.data] == [other.id] and listed.has_more
    deleted = client.v1.test_helpers.test_clocks.delete(clock.id)
    assert deleted.to_dict() == {"id": clock.id, "object": "test_helpers.test_clock", "deleted": True}
    with pytest.raises(stripe.InvalidRequestError) as missing:
        client.v1.test_helpers.test_clocks.retrieve(clock.id)
    assert missing.value.http_status == 404 and missing.value.code == "resource_missing"
    assert [c.id for c in client.v1.test_helpers.test_clocks.list().data] == [other.id]
    types = [e.type for e in client.v1.events.list(params={"limit": 100}).data if e.data.object.id == clock.id]
    assert types == ["test_helpers.test_clock.deleted", "test_helpers.test_clock.created"]


def test_shapes_follow_the_sdk_and_the_fixture(client, sandbox):
    """stripe.test_helpers.TestClock annotations and fixtures3.json's test_helpers.test_clock."""
    clock = _raw(sandbox, "POST", "/test_helpers/test_clocks", frozen_time=FROZEN).json()
    annotated = set(stripe.test_helpers.TestClock.__annotations__) - {"OBJECT_NAME"}
    assert set(clock) == annotated - {"deleted"}
    fixture = json.loads(FIXTURES.read_text())["test_helpers.test_clock"]
    assert set(clock) == set(fixture) and clock["status_details"] == fixture["status_details"]
    stub = _raw(sandbox, "DELETE", f"/test_helpers/test_clocks/{clock['id']}").json()
    assert set(stub) == {"id", "object", "deleted"} <= annotated


def test_parameters_are_the_sdks_and_others_are_refused(client, sandbox):
    assert set(clock_params.TestClockCreateParams.__annotations__) >= clocks_resource.CREATE
    assert set(clock_params.TestClockAdvanceParams.__annotations__) >= clocks_resource.ADVANCE
    refused = _raw(sandbox, "POST", "/test_helpers/test_clocks", frozen_time=FROZEN, metadata="x")
    assert refused.status_code == 400
    assert refused.json()["error"]["code"] == "parameter_unknown" and refused.json()["error"]["param"] == "metadata"
    missing = _raw(sandbox, "POST", "/test_helpers/test_clocks", name="no time").json()["error"]
    assert (missing["code"], missing["param"]) == ("parameter_missing", "frozen_time")
    clock = _clock(client)
    extra = _raw(sandbox, "POST", f"/test_helpers/test_clocks/{clock.id}/advance", frozen_time=FROZEN + 1, name="x")
    assert extra.status_code == 400 and extra.json()["error"]["code"] == "parameter_unknown"
    bad = _raw(sandbox, "POST", "/customers", test_clock="clock_nope").json()["error"]
    assert (bad["code"], bad["param"]) == ("resource_missing", "test_clock")


def test_advance_must_move_forward_and_within_stripes_limit(client, sandbox, plan):
    empty = _clock(client)
    for target in (FROZEN, FROZEN - 1, FROZEN + 2 * 366 * DAY):
        with pytest.raises(stripe.InvalidRequestError) as refused:
            _advance(client, empty.id, target)
        assert refused.value.param == "frozen_time"
    assert _advance(client, empty.id, FROZEN + 700 * DAY).status == "advancing"
    clock, _customer_, _sub = _subscribed(client, sandbox, plan)
    with pytest.raises(stripe.InvalidRequestError):
        _advance(client, clock.id, FROZEN + 70 * DAY)  # more than two monthly intervals
    assert client.v1.test_helpers.test_clocks.retrieve(clock.id).frozen_time == FROZEN


def test_a_customer_on_a_clock_lives_at_its_frozen_time(client, sandbox, plan):
    clock, customer, sub = _subscribed(client, sandbox, plan)
    assert customer.test_clock == clock.id and customer.created == FROZEN
    assert sub.test_clock == clock.id and sub.status == "active" and period(sub)[0] == FROZEN
    invoice = client.v1.invoices.retrieve(sub.latest_invoice)
    assert invoice.created == FROZEN and invoice.test_clock == clock.id
    assert [c.created for c in client.v1.charges.list(params={"customer": customer.id}).data] == [FROZEN]
    assert client.v1.checkout.sessions.list(params={"customer": customer.id}).data[0].created == FROZEN
    stamped = _events_of(client, customer.id)
    assert len(stamped) >= 8 and {e.created for e in stamped} == {FROZEN}
    listed = client.v1.customers.list(params={"test_clock": clock.id}).data
    assert [c.id for c in listed] == [customer.id]


def test_renews_only_when_its_clock_passes_the_period_end(client, sandbox, plan):
    clock, customer, sub = _subscribed(client, sandbox, plan)
    end = period(sub)[1]
    assert sandbox.advance(days=40)["processed"] == []  # the global clock leaves it alone
    assert period(client.v1.subscriptions.retrieve(sub.id)) == period(sub)
    answer = _advance(client, clock.id, end - 60)
    assert (answer.status, answer.frozen_time) == ("advancing", FROZEN)
    assert answer.status_details.advancing.target_frozen_time == end - 60
    assert period(client.v1.subscriptions.retrieve(sub.id)) == period(sub)
    _advance(client, clock.id, end + 60)
    renewed = client.v1.subscriptions.retrieve(sub.id, params={"expand": ["latest_invoice"]})
    assert period(renewed)[0] == end and renewed.latest_invoice.status == "draft"
    assert renewed.latest_invoice.created == end and renewed.latest_invoice.test_clock == clock.id
    _advance(client, clock.id, end + HOUR + 60)
    paid = client.v1.invoices.retrieve(renewed.latest_invoice.id)
    assert paid.status == "paid" and paid.status_transitions.paid_at == end + HOUR
    late = [e for e in _events_of(client, customer.id) if e.created > FROZEN]
    assert {e.created for e in late} == {end, end + HOUR}
    assert "invoice.paid" in {e.type for e in late if e.created == end + HOUR}
    ready = client.v1.test_helpers.test_clocks.retrieve(clock.id)
    assert (ready.status, ready.frozen_time) == ("ready", end + HOUR + 60)


def test_clock_events_in_stripes_order(client, sandbox):
    clock = _clock(client)
    _advance(client, clock.id, FROZEN + DAY)
    types = [e.type for e in reversed(client.v1.events.list(params={"limit": 100}).data)]
    assert types == ["test_helpers.test_clock.created", "test_helpers.test_clock.advancing",
                     "test_helpers.test_clock.ready"]
    ready = client.v1.events.list(params={"type": "test_helpers.test_clock.ready"}).data[0]
    assert ready.data.object.frozen_time == FROZEN + DAY and ready.data.object.status == "ready"


def test_two_clocks_move_independently(client, sandbox, plan):
    first, _a, sub_a = _subscribed(client, sandbox, plan)
    second, _b, sub_b = _subscribed(client, sandbox, plan, frozen=FROZEN + 10 * DAY)
    _advance(client, first.id, period(sub_a)[1] + 60)
    assert period(client.v1.subscriptions.retrieve(sub_a.id))[0] == period(sub_a)[1]
    assert period(client.v1.subscriptions.retrieve(sub_b.id)) == period(sub_b)
    assert client.v1.test_helpers.test_clocks.retrieve(second.id).frozen_time == FROZEN + 10 * DAY
    _advance(client, second.id, period(sub_b)[1] + 60)
    assert period(client.v1.subscriptions.retrieve(sub_b.id))[0] == period(sub_b)[1]


def test_deleting_the_clock_deletes_its_customers(client, sandbox, plan):
    clock, customer, sub = _subscribed(client, sandbox, plan)
    bystander = client.v1.customers.create(params={"email": "b@example.org"})
    client.v1.test_helpers.test_clocks.delete(clock.id)
    assert client.v1.customers.retrieve(customer.id).to_dict() == {
        "id": customer.id, "object": "customer", "deleted": True}
    ended = client.v1.subscriptions.retrieve(sub.id)
    assert ended.status == "canceled" and ended.ended_at == FROZEN
    assert client.v1.customers.retrieve(bystander.id).email == "b@example.org"
    stamped = {e.type: e.created for e in _events_of(client, customer.id)}
    assert stamped["customer.deleted"] == stamped["customer.subscription.deleted"] == FROZEN
    assert len(client.v1.events.list(params={"type": "test_helpers.test_clock.deleted"}).data) == 1
    sandbox.advance(days=400)  # its leftovers never fall due on the global clock
    assert client.v1.invoices.list(params={"customer": customer.id}).data[0].id == sub.latest_invoice


def test_cli_advance_moves_every_test_clock_too(client, sandbox, plan, capsys):
    clock, _customer_, sub = _subscribed(client, sandbox, plan)
    assert main(["advance", "--days", "31", "--url", sandbox.url]) == 0
    out = capsys.readouterr().out
    assert "offset 2678400 s" in out and f"test clock {clock.id} is now at {FROZEN + 31 * DAY}" in out
    assert "renewal" in out and period(client.v1.subscriptions.retrieve(sub.id))[0] == period(sub)[1]
    assert client.v1.test_helpers.test_clocks.retrieve(clock.id).frozen_time == FROZEN + 31 * DAY

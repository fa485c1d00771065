"""Stripe's wire format: errors, authentication, idempotency, paging, expand, filters."""
import pytest
import requests
import stripe

from stripe_sandbox.wire import parse_params


def test_parse_params_bracket_notation():
    pairs = [("metadata[member_id]", "1"), ("line_items[0][price]", "price_1"),
             ("line_items[0][quantity]", "2"), ("expand[]", "a"), ("expand[]", "b"),
             ("lookup_keys[0]", "x"), ("lookup_keys[1]", "y"),
             ("line_items[0][price_data][recurring][interval]", "month")]
    assert parse_params(pairs) == {
        "metadata": {"member_id": "1"},
        "line_items": [{"price": "price_1", "quantity": "2",
                        "price_data": {"recurring": {"interval": "month"}}}],
        "expand": ["a", "b"], "lookup_keys": ["x", "y"]}


def test_unknown_parameter_is_named(client):
    with pytest.raises(stripe.InvalidRequestError) as excinfo:
        client.v1.customers.create(params={"email": "a@example.org", "favourite_colour": "red"})
    assert excinfo.value.http_status == 400
    assert excinfo.value.param == "favourite_colour"
    assert excinfo.value.code == "parameter_unknown"


def test_payment_method_types_is_unknown_in_the_pinned_version(client, plan):
    with pytest.raises(stripe.InvalidRequestError) as excinfo:
        client.v1.checkout.sessions.create(params={
            "mode": "subscription", "line_items": [{"price": plan.id}],
            "success_url": "http://x/ok", "payment_method_types": ["card"]})
    assert excinfo.value.param == "payment_method_types"
    assert excinfo.value.code == "parameter_unknown"


@pytest.mark.parametrize("params, param, code", [
    ({"mode": "subscription", "line_items": [{"price": "PRICE"}]}, "success_url", "parameter_missing"),
    ({"mode": "payment", "line_items": [{"price": "PRICE"}], "success_url": "http://x"},
     "line_items[0][price]", None),
    ({"mode": "setup", "line_items": [{"price": "PRICE"}], "success_url": "http://x"}, "mode", None),
    ({"mode": "subscription", "line_items": [{"price": "price_nope"}], "success_url": "http://x"},
     "line_items[0][price]", "resource_missing"),
    ({"mode": "subscription", "line_items": [{"price": "PRICE", "quantity": "two"}], "success_url": "http://x"},
     "line_items[0][quantity]", "parameter_invalid_integer"),
    ({"mode": "subscription", "customer": "cus_nope", "line_items": [{"price": "PRICE"}],
      "success_url": "http://x"}, "customer", "resource_missing"),
])
def test_checkout_parameter_errors(client, plan, params, param, code):
    params["line_items"][0]["price"] = params["line_items"][0]["price"].replace("PRICE", plan.id)
    with pytest.raises(stripe.InvalidRequestError) as excinfo:
        client.v1.checkout.sessions.create(params=params)
    assert (excinfo.value.http_status, excinfo.value.param, excinfo.value.code) == (400, param, code)


def test_unknown_id_is_404_resource_missing(client, sandbox):
    with pytest.raises(stripe.InvalidRequestError) as excinfo:
        client.v1.customers.retrieve("cus_x")
    assert excinfo.value.http_status == 404 and excinfo.value.code == "resource_missing"
    assert excinfo.value.param == "id"
    body = excinfo.value.json_body["error"]
    assert body == {"type": "invalid_request_error", "code": "resource_missing", "param": "id",
                    "message": "No such customer: 'cus_x'",
                    "doc_url": "https://stripe.com/docs/error-codes/resource-missing"}
    for path in ("subscriptions/sub_x", "invoices/in_x", "checkout/sessions/cs_test_x", "prices/price_x"):
        response = requests.get(f"{sandbox.url}/v1/{path}", auth=("sk_test_x", ""))
        assert response.status_code == 404 and response.json()["error"]["code"] == "resource_missing"


@pytest.mark.parametrize("key", ["sk_live_123456789", "pk_test_123456789", "nonsense"])
def test_bad_api_keys_are_401(sandbox, key):
    bad = stripe.StripeClient(key, base_addresses={"api": sandbox.url})
    with pytest.raises(stripe.AuthenticationError) as excinfo:
        bad.v1.customers.list()
    assert excinfo.value.http_status == 401


def test_missing_key_is_401(sandbox):
    response = requests.get(f"{sandbox.url}/v1/customers")
    assert response.status_code == 401
    assert response.json()["error"]["type"] == "invalid_request_error"
    assert response.headers["Request-Id"].startswith("req_")


def test_unknown_path_answers_like_stripe(sandbox):
    response = requests.get(f"{sandbox.url}/v1/nothing_here", auth=("sk_test_x", ""))
    assert response.status_code == 404
    assert "Unrecognized request URL" in response.json()["error"]["message"]


def test_idempotent_replay_returns_the_same_object(client, sandbox):
    first = client.v1.customers.create(params={"email": "i@example.org"},
                                       options={"idempotency_key": "member-1"})
    again = client.v1.customers.create(params={"email": "i@example.org"},
                                       options={"idempotency_key": "member-1"})
    assert again.id == first.id
    assert len(client.v1.customers.list(params={"email": "i@example.org"}).data) == 1
    assert len(client.v1.events.list(params={"type": "customer.created"}).data) == 1
    raw = requests.post(f"{sandbox.url}/v1/customers", data={"email": "i@example.org"},
                        headers={"Idempotency-Key": "member-1", "Authorization": "Bearer sk_test_sandbox"})
    assert raw.headers["Idempotent-Replayed"] == "true" and raw.json()["id"] == first.id


def test_idempotency_key_with_other_parameters_is_refused(client):
    client.v1.customers.create(params={"email": "a@example.org"}, options={"idempotency_key": "k"})
    with pytest.raises(stripe.IdempotencyError) as excinfo:
        client.v1.customers.create(params={"email": "b@example.org"}, options={"idempotency_key": "k"})
    assert excinfo.value.http_status == 400
    assert len(client.v1.customers.list().data) == 1


def test_failed_request_leaves_no_state(client):
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.prices.create(params={"currency": "usd", "unit_amount": 500,
                                        "product_data": {"name": "X"},
                                        "recurring": {"interval": "fortnight"}})
    assert client.v1.products.list().data == []


def test_list_paging_newest_first(client):
    made = [client.v1.customers.create(params={"email": f"p{i}@example.org"}) for i in range(5)]
    newest_first = [c.id for c in reversed(made)]
    first = client.v1.customers.list(params={"limit": 2})
    assert [c.id for c in first.data] == newest_first[:2] and first.has_more
    assert first.url == "/v1/customers"
    second = client.v1.customers.list(params={"limit": 2, "starting_after": first.data[-1].id})
    assert [c.id for c in second.data] == newest_first[2:4] and second.has_more
    last = client.v1.customers.list(params={"limit": 2, "starting_after": second.data[-1].id})
    assert [c.id for c in last.data] == newest_first[4:] and not last.has_more
    back = client.v1.customers.list(params={"limit": 2, "ending_before": last.data[0].id})
    assert [c.id for c in back.data] == newest_first[2:4]
    assert [c.id for c in client.v1.customers.list(params={"limit": 2}).auto_paging_iter()] == newest_first
    with pytest.raises(stripe.InvalidRequestError) as excinfo:
        client.v1.customers.list(params={"limit": 101})
    assert excinfo.value.param == "limit"


def test_events_filters(client, sandbox, member):
    all_types = [e.type for e in client.v1.events.list(params={"limit": 100}).data]
    assert "invoice.paid" in all_types and "customer.created" in all_types
    invoices = client.v1.events.list(params={"types": ["invoice.paid", "invoice.created"]}).data
    assert sorted({e.type for e in invoices}) == ["invoice.created", "invoice.paid"]
    wildcard = client.v1.events.list(params={"type": "invoice.*"}).data
    assert {e.type for e in wildcard} == {"invoice.created", "invoice.finalized", "invoice.paid",
                                          "invoice.payment_succeeded"}
    now = sandbox.now()
    assert client.v1.events.list(params={"created": {"gt": now}}).data == []
    end = member["subscription"]["items"].data[0].current_period_end
    sandbox.advance(seconds=end - now + 3600 + 60)  # the period end, and the hour before the charge
    later = client.v1.events.list(params={"created": {"gte": now + 1}, "limit": 100}).data
    assert later and all(e.created > now for e in later)
    assert {e.type for e in later} >= {"invoice.paid", "customer.subscription.updated"}
    earlier = client.v1.events.list(params={"created": {"lte": now}, "limit": 100}).data
    assert len(earlier) + len(later) == len(client.v1.events.list(params={"limit": 100}).data)
    assert client.v1.events.retrieve(later[0].id).id == later[0].id


def test_expand_subscription_customer_and_invoice_parent(client, member):
    sub = client.v1.subscriptions.retrieve(member["subscription"].id,
                                           params={"expand": ["customer", "latest_invoice"]})
    assert sub.customer.email == "m@example.org" and sub.latest_invoice.object == "invoice"
    invoice = client.v1.invoices.retrieve(sub.latest_invoice.id, params={
        "expand": ["parent.subscription_details.subscription"]})
    assert invoice.parent.subscription_details.subscription.id == sub.id
    listed = client.v1.subscriptions.list(params={"expand": ["data.customer"]})
    assert listed.data[0].customer.id == member["customer"].id
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.subscriptions.retrieve(sub.id, params={"expand": ["status"]})

"""Idempotency keys: kept 24 hours (sandbox time), replaying the first result, 500s included;
a request refused by validation saves nothing.

Stripe source: https://docs.stripe.com/api/idempotent_requests : "Stripe saves the status code
and body of the first request made with a given idempotency key after endpoint execution
begins. Retries with the same key return the saved response, including `500` errors."; "You can
remove keys from the system automatically after they're at least 24 hours old. We generate a new
request if a key is reused after the original is pruned."; "We save results only after the
execution of an endpoint begins. If incoming parameters fail validation, or the request
conflicts with another one that's executing concurrently, we don't save the idempotent result
because no API endpoint initiates the execution."
"""
import pytest
import requests
import stripe

from stripe_sandbox.resources import customers

from .helpers import DAY

AUTH = {"Authorization": "Bearer sk_test_sandbox"}


def _post(sandbox, key, **data):
    return requests.post(f"{sandbox.url}/v1/customers", data=data, headers=AUTH | {"Idempotency-Key": key})


def test_a_key_replays_for_24_hours_then_runs_anew(client, sandbox):
    first = _post(sandbox, "member-1-customer", email="a@example.org")
    sandbox.advance(seconds=DAY - 120)
    again = _post(sandbox, "member-1-customer", email="a@example.org")
    assert again.headers["Idempotent-Replayed"] == "true" and again.json()["id"] == first.json()["id"]
    sandbox.advance(seconds=180)
    later = _post(sandbox, "member-1-customer", email="a@example.org")
    assert "Idempotent-Replayed" not in later.headers
    assert later.status_code == 200 and later.json()["id"] != first.json()["id"]
    assert len(client.v1.customers.list(params={"email": "a@example.org"}).data) == 2


def test_a_server_error_is_replayed(client, sandbox, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(customers, "new_customer", broken)
    failed = _post(sandbox, "k-500", email="b@example.org")
    assert failed.status_code == 500 and failed.json()["error"]["type"] == "api_error"
    monkeypatch.undo()
    replayed = _post(sandbox, "k-500", email="b@example.org")
    assert replayed.status_code == 500 and replayed.headers["Idempotent-Replayed"] == "true"
    assert replayed.json() == failed.json()
    with pytest.raises(stripe.APIError):
        client.v1.customers.create(params={"email": "b@example.org"}, options={"idempotency_key": "k-500"})
    assert client.v1.customers.list().data == []
    assert _post(sandbox, "k-other", email="b@example.org").status_code == 200


def test_a_refused_request_saves_nothing(client, sandbox):
    refused = _post(sandbox, "k-400", email="c@example.org", favourite_colour="red")
    assert refused.status_code == 400 and refused.json()["error"]["code"] == "parameter_unknown"
    corrected = _post(sandbox, "k-400", email="c@example.org")
    assert corrected.status_code == 200 and "Idempotent-Replayed" not in corrected.headers
    assert [c.email for c in client.v1.customers.list().data] == ["c@example.org"]

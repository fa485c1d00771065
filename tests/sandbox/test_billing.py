"""The clock: renewals, failed payments and dunning, cancellations, refunds and disputes."""
import re

import pytest

from .harness import start_sandbox

DAY = 86400


def _to_renewal_charge(sandbox, member):
    """Just past the period end and the hour before the renewal is charged (test_renewal_timing.py)."""
    end = member["subscription"]["items"].data[0].current_period_end
    sandbox.advance(seconds=end - sandbox.now() + 3600 + 60)


def _portal(client, sandbox, member):
    session = client.v1.billing_portal.sessions.create(params={
        "customer": member["customer"].id, "return_url": "http://svc.test/account"})
    return session, sandbox.http.get(session.url)


def _replace_card(sandbox, portal_session, card):
    return sandbox.http.post(f"{portal_session.url}/card", data={"card_number": card},
                             allow_redirects=False)


def _events(client, type_):
    return client.v1.events.list(params={"type": type_, "limit": 100}).data


def test_advance_renews_for_a_new_period(client, sandbox, member):
    sub = member["subscription"]
    first = sub["items"].data[0]
    _to_renewal_charge(sandbox, member)
    renewed = client.v1.subscriptions.retrieve(sub.id, params={"expand": ["latest_invoice"]})
    item = renewed["items"].data[0]
    assert renewed.status == "active"
    assert item.current_period_start == first.current_period_end
    assert item.current_period_end > item.current_period_start + 27 * DAY
    invoice = renewed.latest_invoice
    assert (invoice.status, invoice.billing_reason, invoice.amount_paid) == ("paid", "subscription_cycle", 500)
    assert invoice.lines.data[0].period.start == first.current_period_end
    updated = _events(client, "customer.subscription.updated")[0]
    assert "items" in updated.data.previous_attributes.to_dict()
    assert updated.data.previous_attributes.latest_invoice == sub.latest_invoice
    assert len(_events(client, "invoice.payment_succeeded")) == 2
    assert len(client.v1.charges.list(params={"customer": member["customer"].id}).data) == 2


def test_two_months_at_once_renew_twice_in_time_order(client, sandbox, member):
    result = sandbox.advance(days=62)
    renewals = [t for t in result["processed"] if t["task"] == "renewal"]
    assert len(renewals) == 2 and renewals[0]["at"] < renewals[1]["at"]
    invoices = client.v1.invoices.list(params={"subscription": member["subscription"].id}).data
    assert [i.billing_reason for i in invoices] == ["subscription_cycle"] * 2 + ["subscription_create"]


def _fail_renewals(client, sandbox, member):
    portal_session, page = _portal(client, sandbox, member)
    assert page.status_code == 200 and "Visa ending in 4242" in page.text
    assert _replace_card(sandbox, portal_session, "4000 0000 0000 0341").status_code == 303
    assert "ending in 0341" in sandbox.http.get(portal_session.url).text
    _to_renewal_charge(sandbox, member)
    return client.v1.subscriptions.retrieve(member["subscription"].id,
                                            params={"expand": ["latest_invoice"]})


def test_failed_renewal_goes_past_due_retries_then_cancels(client, sandbox, member):
    sub = _fail_renewals(client, sandbox, member)
    invoice = sub.latest_invoice
    assert sub.status == "past_due"
    assert (invoice.status, invoice.attempt_count) == ("open", 1)
    # The first attempt is made when the draft is finalized, an hour after it was created.
    first_attempt = invoice.status_transitions.finalized_at
    assert first_attempt == invoice.created + 3600
    assert invoice.next_payment_attempt == first_attempt + 3 * DAY
    assert len(_events(client, "invoice.payment_failed")) == 1
    past_due = _events(client, "customer.subscription.updated")[0]
    assert past_due.data.previous_attributes.status == "active"

    sandbox.advance(days=3)
    invoice = client.v1.invoices.retrieve(invoice.id)
    assert invoice.attempt_count == 2 and invoice.next_payment_attempt == first_attempt + 8 * DAY
    sandbox.advance(days=5)
    assert client.v1.subscriptions.retrieve(sub.id).status == "past_due"
    sandbox.advance(days=7)  # the last retry, 15 days after the first attempt
    ended = client.v1.subscriptions.retrieve(sub.id)
    assert ended.status == "canceled" and ended.cancellation_details.reason == "payment_failed"
    invoice = client.v1.invoices.retrieve(invoice.id)
    assert (invoice.status, invoice.attempt_count, invoice.next_payment_attempt) == ("uncollectible", 4, None)
    assert len(_events(client, "invoice.payment_failed")) == 4
    assert [e.data.object.id for e in _events(client, "customer.subscription.deleted")] == [sub.id]


def test_retry_that_succeeds_makes_the_subscription_active_again(client, sandbox, member):
    sub = _fail_renewals(client, sandbox, member)
    portal_session, _ = _portal(client, sandbox, member)
    assert _replace_card(sandbox, portal_session, "4242 4242 4242 4242").status_code == 303
    sandbox.advance(days=3)
    again = client.v1.subscriptions.retrieve(sub.id, params={"expand": ["latest_invoice"]})
    assert again.status == "active" and again.latest_invoice.status == "paid"
    assert again.latest_invoice.attempt_count == 2
    assert _events(client, "customer.subscription.updated")[0].data.previous_attributes.status == "past_due"


@pytest.fixture
def unpaid_sandbox(receiver):
    sb = start_sandbox(SANDBOX_DUNNING_FINAL="unpaid", SANDBOX_RETRY_DAYS="1,2",
                       SANDBOX_WEBHOOK_URL=receiver.url)
    yield sb
    sb.close()


def test_final_failure_marks_unpaid_when_configured(unpaid_sandbox):
    import stripe

    from .harness import pay
    client = stripe.StripeClient("sk_test_x", base_addresses={"api": unpaid_sandbox.url})
    price = client.v1.prices.create(params={"currency": "usd", "unit_amount": 500,
                                            "recurring": {"interval": "month"},
                                            "product_data": {"name": "Membership"}})
    session = client.v1.checkout.sessions.create(params={
        "mode": "subscription", "line_items": [{"price": price.id}], "success_url": "http://x/ok"})
    pay(unpaid_sandbox, session.url)
    member = {"customer": client.v1.customers.retrieve(
        client.v1.checkout.sessions.retrieve(session.id).customer)}
    member["subscription"] = client.v1.subscriptions.list().data[0]
    sub = _fail_renewals(client, unpaid_sandbox, member)
    assert sub.status == "past_due"
    unpaid_sandbox.advance(days=3)
    final = client.v1.subscriptions.retrieve(sub.id, params={"expand": ["latest_invoice"]})
    assert final.status == "unpaid"
    assert final.latest_invoice.status == "open" and final.latest_invoice.attempt_count == 3
    assert _events(client, "customer.subscription.deleted") == []
    unpaid_sandbox.advance(days=40)  # unpaid subscriptions are not renewed or retried
    assert client.v1.subscriptions.retrieve(sub.id).status == "unpaid"


def test_cancel_at_period_end_undo_and_end(client, sandbox, member):
    sub = member["subscription"]
    portal_session, page = _portal(client, sandbox, member)
    assert 'href="http://svc.test/account"' in page.text
    action = f"{portal_session.url}/subscriptions/{sub.id}"
    assert sandbox.http.post(action, data={"action": "cancel"}, allow_redirects=False).status_code == 303
    pending = client.v1.subscriptions.retrieve(sub.id)
    assert pending.cancel_at_period_end and pending.status == "active"
    assert pending.cancel_at == sub["items"].data[0].current_period_end
    assert "Don't cancel" in sandbox.http.get(portal_session.url).text

    sandbox.http.post(action, data={"action": "renew"})
    undone = client.v1.subscriptions.retrieve(sub.id)
    assert not undone.cancel_at_period_end and undone.cancel_at is None
    previous = _events(client, "customer.subscription.updated")[0].data.previous_attributes
    assert previous.cancel_at_period_end is True

    client.v1.subscriptions.update(sub.id, params={"cancel_at_period_end": True})
    sandbox.advance(days=10)
    assert client.v1.subscriptions.retrieve(sub.id).status == "active"
    sandbox.advance(days=21)
    ended = client.v1.subscriptions.retrieve(sub.id)
    assert ended.status == "canceled"
    assert ended.ended_at == sub["items"].data[0].current_period_end
    assert len(client.v1.invoices.list(params={"subscription": sub.id}).data) == 1
    assert [e.data.object.id for e in _events(client, "customer.subscription.deleted")] == [sub.id]
    assert client.v1.subscriptions.list().data == []
    assert [s.id for s in client.v1.subscriptions.list(params={"status": "all"}).data] == [sub.id]


def test_immediate_cancel(client, sandbox, member):
    sub = member["subscription"]
    before = sandbox.now()
    canceled = client.v1.subscriptions.cancel(sub.id)
    assert canceled.status == "canceled"
    # Ended at the moment of the call (the clock may tick over a second boundary meanwhile).
    assert canceled.canceled_at == canceled.ended_at and before <= canceled.ended_at <= sandbox.now()
    assert _events(client, "customer.subscription.deleted")[0].data.object.status == "canceled"
    sandbox.advance(days=40)
    assert len(client.v1.invoices.list(params={"subscription": sub.id}).data) == 1


def test_refund_and_dispute_events(client, sandbox, member):
    charge = client.v1.charges.list(params={"customer": member["customer"].id}).data[0]
    assert charge.paid and charge.amount == 500 and charge.payment_intent.startswith("pi_")
    refund = client.v1.refunds.create(params={"charge": charge.id, "amount": 200})
    assert (refund.object, refund.amount, refund.status) == ("refund", 200, "succeeded")
    charge = client.v1.charges.retrieve(charge.id)
    assert charge.amount_refunded == 200 and charge.refunded is False
    event = _events(client, "charge.refunded")[0]
    assert event.data.previous_attributes.amount_refunded == 0
    with pytest.raises(Exception) as excinfo:
        client.v1.refunds.create(params={"charge": charge.id, "amount": 400})
    assert excinfo.value.http_status == 400

    response = sandbox.http.post(f"{sandbox.url}/sandbox/charges/{charge.id}/dispute")
    assert response.status_code == 200 and response.json()["id"].startswith("dp_")
    dispute = _events(client, "charge.dispute.created")[0].data.object
    assert dispute.charge == charge.id and dispute.amount == 500


def test_portal_page_lists_subscription_and_rejects_declined_card(client, sandbox, member):
    portal_session, page = _portal(client, sandbox, member)
    assert portal_session.object == "billing_portal.session"
    assert re.search(r"Renews on \d\d \w+ \d{4}", page.text)
    refused = _replace_card(sandbox, portal_session, "4000 0000 0000 0002")
    assert refused.status_code == 402 and "Your card was declined" in refused.text


def test_invoice_hosted_page(client, sandbox, member):
    invoice = client.v1.invoices.retrieve(member["subscription"].latest_invoice)
    page = sandbox.http.get(invoice.hosted_invoice_url)
    assert page.status_code == 200 and invoice.number in page.text and "$5.00" in page.text

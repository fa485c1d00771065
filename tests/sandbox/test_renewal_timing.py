"""Renewals: the period advances and a draft invoice is made at the period end; the invoice is
finalized and charged about an hour later.

Stripe sources:
- https://docs.stripe.com/billing/subscriptions/overview (subscription lifecycle): at the end
  of a period Stripe creates the renewal invoice as a draft, and finalizes it and attempts
  payment "about an hour" later.
- https://docs.stripe.com/invoicing/integration/automatic-advancement-collection : "Stripe does
  everything to drive the invoice towards payment—including automatically finalizing draft
  invoices after one hour"; the invoice's `automatically_finalizes_at` says when.
- https://docs.stripe.com/billing/subscriptions/webhooks : invoice.created is sent for the
  draft, customer.subscription.updated when the period changes.
"""
from .helpers import HOUR, events, period


def _pay_events(client):
    return [e.type for e in reversed(events(client)) if e.type.startswith(("invoice.", "charge.", "payment_intent."))]


def test_period_end_makes_a_draft_and_advances_the_period(client, sandbox, member):
    sub = member["subscription"]
    start, end = period(sub)
    before = len(events(client))
    result = sandbox.advance(seconds=end - sandbox.now() + 60)
    assert [t["task"] for t in result["processed"]] == ["renewal"]
    renewed = client.v1.subscriptions.retrieve(sub.id, params={"expand": ["latest_invoice"]})
    assert renewed.status == "active" and period(renewed)[0] == end
    draft = renewed.latest_invoice
    assert (draft.status, draft.number, draft.amount_paid) == ("draft", None, 0)
    assert draft.created == end and draft.automatically_finalizes_at == end + HOUR
    new = [e for e in reversed(events(client))][before:]
    assert [e.type for e in new] == ["invoice.created", "customer.subscription.updated"]
    assert all(e.created == end for e in new)
    assert new[1].data.previous_attributes.latest_invoice == sub.latest_invoice
    assert len(client.v1.charges.list().data) == 1


def test_an_hour_later_it_is_finalized_and_paid(client, sandbox, member):
    sub = member["subscription"]
    end = period(sub)[1]
    sandbox.advance(seconds=end - sandbox.now() + 60)
    result = sandbox.advance(seconds=HOUR)
    assert [(t["task"], t["at"]) for t in result["processed"]] == [("invoice_finalization", end + HOUR)]
    invoice = client.v1.invoices.retrieve(client.v1.subscriptions.retrieve(sub.id).latest_invoice)
    assert invoice.status == "paid" and invoice.number is not None
    assert invoice.status_transitions.finalized_at == end + HOUR == invoice.status_transitions.paid_at
    assert invoice.automatically_finalizes_at is None
    assert _pay_events(client)[-5:] == ["invoice.finalized", "charge.succeeded", "payment_intent.succeeded",
                                        "invoice.paid", "invoice.payment_succeeded"]


def test_a_failed_renewal_turns_past_due_at_the_attempt_not_at_the_period_end(client, sandbox, member):
    sub = member["subscription"]
    portal = client.v1.billing_portal.sessions.create(params={"customer": member["customer"].id})
    sandbox.http.post(f"{portal.url}/card", data={"card_number": "4000 0000 0000 0341"})
    end = period(sub)[1]
    sandbox.advance(seconds=end - sandbox.now() + 60)
    assert client.v1.subscriptions.retrieve(sub.id).status == "active"
    assert events(client, "invoice.payment_failed") == []
    sandbox.advance(seconds=HOUR)
    assert client.v1.subscriptions.retrieve(sub.id).status == "past_due"
    failed = events(client, "invoice.payment_failed")
    assert len(failed) == 1 and failed[0].created == end + HOUR

"""Refunds and disputes reach the contribution a payment made, also one recorded before Stripe's
payment ids were stored (the invoices the giving migration turned into contributions).

A refund's `charge.refunded` names the charge and its PaymentIntent, not the invoice
(https://docs.stripe.com/api/charges/object); the invoice a PaymentIntent paid is found through
its invoice payments (https://docs.stripe.com/api/invoice-payment/list).
"""
from __future__ import annotations

import stripe
from sqlalchemy import select

from service.models import Contribution, ContributionKind
from tests.billing import deliver_all


def _membership_contribution(db_session, reader) -> Contribution:
    return db_session.scalars(select(Contribution).where(Contribution.member_id == reader.member.id,
                                                         Contribution.kind == ContributionKind.MEMBERSHIP)).one()


def test_a_refund_finds_a_backfilled_contribution_through_its_invoice_and_fills_in_the_ids(client, db_session, reader, tap):
    reader.pay()
    deliver_all(client, tap.new())
    paid = _membership_contribution(db_session, reader)
    intent, charge = paid.stripe_payment_intent_id, paid.stripe_charge_id
    paid.stripe_payment_intent_id = paid.stripe_charge_id = None  # as the migration's backfill left it
    db_session.commit()

    sdk = stripe.StripeClient("sk_test_x", base_addresses={"api": reader.sandbox.url})
    sdk.v1.refunds.create({"payment_intent": intent, "amount": 200})
    events = tap.new()
    deliver_all(client, events)
    deliver_all(client, events)
    db_session.refresh(paid)
    assert (paid.refunded_amount, paid.net_amount) == (200, 300)
    assert (paid.stripe_payment_intent_id, paid.stripe_charge_id) == (intent, charge)


def test_a_dispute_takes_the_payment_out_of_the_net(client, db_session, reader, tap, sandbox):
    reader.pay()
    deliver_all(client, tap.new())
    paid = _membership_contribution(db_session, reader)
    response = sandbox.http.post(f"{sandbox.url}/sandbox/charges/{paid.stripe_charge_id}/dispute")
    assert response.status_code == 200, response.text
    deliver_all(client, tap.new())
    db_session.refresh(paid)
    assert (paid.disputed_amount, paid.net_amount) == (500, 0)

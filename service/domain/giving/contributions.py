"""Contributions: every payment a reader makes, recorded once under its Stripe ids.

A paid subscription invoice, a one-time gift and a gift purchase each become one
row (unique by invoice, PaymentIntent and Checkout Session), with a receipt
number and a receipt email. Refunds and disputes adjust the row and send a
corrected receipt. Functions take fresh objects read through the gateway and
a member already locked, like billing/sync.py; they flush, never commit.
"""
from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from sqlalchemy import select

from service.domain import emails
from service.domain.billing.sync import Cause, invoice_paid_intents, invoice_subscription_id, settle_status, stripe_id, ts
from service.domain.giving import gifts
from service.domain.giving.amounts import term_months
from service.domain.giving.attribution import campaign_of, checkout_attribution, touch
from service.domain.integrations import webhooks
from service.domain.members.access import live_subscriptions
from service.domain.members.terms import grant_term, shorten_term
from service.domain.newsletter.subscriptions import refresh_fields
from service.extensions import db
from service.gateways.stripe_gateway import StripeGateway
from service.logs import log_event
from service.models import (
    ActivityKind,
    CheckoutAttempt,
    Contribution,
    ContributionKind,
    DedicationType,
    Member,
    MemberActivity,
)

logger = logging.getLogger(__name__)
Obj = dict[str, Any]


def receipt_number(contribution: Contribution) -> str:
    """The year paid and the row's id: unique, increasing, and never reused."""
    return f"{contribution.paid_at.year}-{contribution.id:06d}"


def record_invoice(member: Member, invoice: Obj, gateway: StripeGateway, now: datetime, *,
                   cause: Cause) -> Contribution | None:
    """A paid subscription invoice as a membership contribution (once per invoice)."""
    if invoice.get("status") != "paid" or not invoice.get("amount_paid"):
        return None
    found = db.session.scalar(select(Contribution).where(Contribution.stripe_invoice_id == invoice["id"]))
    if found is not None:
        return found
    sub_id = invoice_subscription_id(invoice)
    # The handler has just synced the subscription into the member's list: no query needed.
    attribution = next((s.attribution for s in member.subscriptions if s.stripe_subscription_id == sub_id), None) or {}
    # The handler read the invoice with its payments (`retrieve_invoice_in_full`): no list to ask for.
    intents = invoice_paid_intents(invoice)
    intent_id = gateway.invoice_payment_intent(invoice["id"]) if intents is None else (intents[0] if intents else None)
    contribution = Contribution(
        member_id=member.id, kind=ContributionKind.MEMBERSHIP, amount=invoice["amount_paid"],
        currency=invoice["currency"], stripe_invoice_id=invoice["id"],
        paid_at=ts((invoice.get("status_transitions") or {}).get("paid_at")) or now,
        campaign=campaign_of(attribution), attribution=attribution)
    _add_payment_details(contribution, gateway.payment_details(intent_id) if intent_id else {})
    return _recorded(member, contribution, now, cause)


def record_checkout_payment(member: Member, session: Obj, gateway: StripeGateway, now: datetime, *,
                            cause: Cause) -> Contribution | None:
    """A paid one-time Checkout Session (a gift, or a gift membership bought) as a contribution,
    once per session. What the form said (fee cover, dedication, anonymity, attribution) comes
    from the checkout attempt we stored; a one-time gift of at least a month's price buys a
    term membership, unless the member already pays by subscription."""
    if session.get("mode") != "payment" or session.get("status") != "complete" or session.get("payment_status") != "paid":
        return None
    found = db.session.scalar(select(Contribution).where(Contribution.stripe_checkout_session_id == session["id"]))
    if found is not None:
        return found
    attempt = db.session.scalar(select(CheckoutAttempt).where(CheckoutAttempt.stripe_checkout_session_id == session["id"]))
    metadata = session.get("metadata") or {}
    details: dict[str, Any] = (attempt.details if attempt is not None else None) or {}
    attribution = checkout_attribution(session, details)
    kind = ContributionKind(attempt.kind if attempt is not None else metadata.get("kind", ContributionKind.ONE_TIME))
    dedication = details.get("dedication") or {}
    contribution = Contribution(
        member_id=member.id, kind=kind, amount=session["amount_total"], currency=session["currency"],
        fee_covered=attempt.fee_covered if attempt is not None else 0,
        stripe_checkout_session_id=session["id"], paid_at=now, campaign=campaign_of(attribution),
        attribution=attribution, anonymous=bool(details.get("anonymous")),
        dedication_type=DedicationType(dedication["type"]) if dedication.get("type") else None,
        dedication_name=dedication.get("name"), dedication_notify_email=dedication.get("notify_email"))
    intent_id = stripe_id(session.get("payment_intent"))
    _add_payment_details(contribution, gateway.payment_details(intent_id) if intent_id else {})
    if kind is ContributionKind.ONE_TIME and not live_subscriptions(member):  # a paying member buys no term
        contribution.term_months = term_months(contribution.gift_amount, contribution.currency) or None
    _recorded(member, contribution, now, cause)
    touch(member, attribution, now)
    if contribution.term_months:
        grant_term(member, contribution.term_months, now, detail=f"one-time gift {contribution.receipt_number}",
                   stripe_event_id=cause.stripe_event_id)
    settle_status(member, now, cause)
    if contribution.dedication_notify_email:
        emails.queue_dedication_notice(member, contribution)
    if kind is ContributionKind.GIFT_PURCHASE:
        gifts.purchase_paid(contribution, now)
    return contribution


def _add_payment_details(contribution: Contribution, details: Obj) -> None:
    contribution.stripe_payment_intent_id = details.get("payment_intent")
    contribution.stripe_charge_id = details.get("charge")
    contribution.stripe_fee = details.get("fee")
    contribution.stripe_net = details.get("net")
    contribution.settlement_currency = details.get("settlement_currency")
    contribution.exchange_rate = details.get("exchange_rate")


def _recorded(member: Member, contribution: Contribution, now: datetime, cause: Cause) -> Contribution:
    db.session.add(contribution)
    db.session.flush()
    contribution.receipt_number = receipt_number(contribution)
    db.session.add(MemberActivity(member_id=member.id, kind=ActivityKind.CONTRIBUTED, stripe_event_id=cause.stripe_event_id,
                                  staff_user_id=cause.staff_user_id, created_at=now,
                                  detail=f"{contribution.kind} {contribution.amount} {contribution.currency}, "
                                         f"receipt {contribution.receipt_number}"))
    db.session.flush()
    emails.queue_receipt(member, contribution)
    refresh_fields(member, now)  # the provider's total given and renewal date
    webhooks.publish("contribution.created", {"contribution": contribution}, now=now)
    log_event(logger, "contribution.recorded", member_id=member.id, contribution_id=contribution.id,
              kind=str(contribution.kind), amount=contribution.amount, currency=contribution.currency)
    return contribution


def contribution_for_charge(charge: Obj, gateway: StripeGateway) -> Contribution | None:
    """The contribution a charge paid: by its PaymentIntent, its own id, or (for an invoice recorded
    before Stripe's payment ids were known) the invoice its PaymentIntent paid."""
    intent_id, charge_id = stripe_id(charge.get("payment_intent")), charge["id"]
    found = db.session.scalar(select(Contribution).where(
        (Contribution.stripe_payment_intent_id == intent_id) if intent_id else (Contribution.stripe_charge_id == charge_id)))
    if found is None and intent_id:
        found = db.session.scalar(select(Contribution).where(Contribution.stripe_charge_id == charge_id))
    if found is None and intent_id:
        invoice_id = gateway.invoice_for_payment_intent(intent_id)
        found = db.session.scalar(select(Contribution).where(Contribution.stripe_invoice_id == invoice_id)) if invoice_id else None
    if found is not None:
        found.stripe_payment_intent_id = found.stripe_payment_intent_id or intent_id
        found.stripe_charge_id = found.stripe_charge_id or charge_id
    return found


def apply_refund(member: Member, charge: Obj, gateway: StripeGateway, now: datetime, *, cause: Cause) -> Contribution | None:
    """Stripe's refunded total for the charge onto its contribution; a corrected receipt when it grew.
    A refunded one-time gift gives back the months it no longer pays for."""
    contribution = contribution_for_charge(charge, gateway)
    if contribution is None:
        return None
    refunded = min(charge.get("amount_refunded") or 0, contribution.amount)
    if refunded <= contribution.refunded_amount:
        return contribution
    contribution.refunded_amount = refunded
    db.session.add(MemberActivity(member_id=member.id, kind=ActivityKind.CONTRIBUTED, stripe_event_id=cause.stripe_event_id,
                                  created_at=now, detail=f"receipt {contribution.receipt_number}: {refunded} "
                                                         f"{contribution.currency} refunded"))
    if contribution.term_months:
        kept = term_months(max(contribution.gift_amount - refunded, 0), contribution.currency)
        if kept < contribution.term_months:
            shorten_term(member, contribution.term_months - kept, now,
                         detail=f"gift {contribution.receipt_number} refunded", stripe_event_id=cause.stripe_event_id)
            contribution.term_months = kept or None
            settle_status(member, now, cause)
    db.session.flush()
    emails.queue_receipt(member, contribution)
    webhooks.publish("contribution.refunded", {"contribution": contribution}, now=now)
    if contribution.kind is ContributionKind.GIFT_PURCHASE and contribution.net_amount == 0:
        gifts.payment_refunded(contribution, gateway, now)
    return contribution


def apply_dispute(member: Member, dispute: Obj, charge: Obj, gateway: StripeGateway, now: datetime, *,
                  cause: Cause) -> Contribution | None:
    """A disputed payment counts for nothing while disputed or lost; a won dispute restores it."""
    contribution = contribution_for_charge(charge, gateway)
    if contribution is None:
        return None
    disputed = 0 if dispute.get("status") == "won" else min(dispute.get("amount") or 0, contribution.amount)
    if disputed != contribution.disputed_amount:
        contribution.disputed_amount = disputed
        db.session.add(MemberActivity(member_id=member.id, kind=ActivityKind.CONTRIBUTED, stripe_event_id=cause.stripe_event_id,
                                      created_at=now, detail=f"receipt {contribution.receipt_number}: dispute "
                                                             f"{dispute.get('status') or 'opened'}"))
        db.session.flush()
    if contribution.kind is ContributionKind.GIFT_PURCHASE and dispute.get("status") == "lost":
        gifts.payment_refunded(contribution, gateway, now)  # a gift whose payment was taken back is no gift
    return contribution

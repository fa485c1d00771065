"""Confirming a checkout from the success page, before (or after) its webhook."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from service.domain.billing.sync import Cause, stripe_id, sync_subscription
from service.domain.members.status import lock_member
from service.errors import BillingNotFound
from service.gateways.stripe_gateway import StripeGateway
from service.models import Member


@dataclass(frozen=True)
class Confirmation:
    """What the success page can say: whose checkout it was, and whether the payment is still
    on its way (a bank debit completes the session `unpaid` and settles days later)."""

    member: Member
    awaiting_payment: bool


def confirm_checkout(session_id: str, gateway: StripeGateway, now: datetime) -> Confirmation | None:
    """Sync the subscription of a completed Checkout Session into the member it names.

    Stripe vouches for the session (its id is unguessable, and Stripe says which member
    it belongs to through client_reference_id), so this works from any browser. Returns
    the confirmation, or None when the session is unknown or names no member of ours (or
    its customer is not theirs). Safe to run any number of times, alongside the webhook.
    """
    try:
        checkout = gateway.retrieve_checkout_session(session_id)
    except BillingNotFound:
        return None
    reference = checkout.get("client_reference_id") or ""
    if not reference.isdigit() or int(reference) > 2**31 - 1:
        return None
    member = lock_member(int(reference))
    if member is None or stripe_id(checkout.get("customer")) not in (None, member.stripe_customer_id):
        return None
    if checkout.get("status") == "complete" and checkout.get("subscription"):
        subscription = gateway.retrieve_subscription(stripe_id(checkout["subscription"]))  # type: ignore[arg-type]
        sync_subscription(member, subscription, now, cause=Cause(detail=f"success page for {session_id}"))
    awaiting = checkout.get("status") == "complete" and checkout.get("payment_status") == "unpaid"
    return Confirmation(member, awaiting)

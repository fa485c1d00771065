"""One-time gifts: from the /give form to a Checkout Session in `mode=payment`, and back.

The customer rules are the join's: one member per address (created pending if new, its name
never changed by the form, since anyone can type anyone's address), one Stripe customer per
member, and a double submit of the same gift reuses the open session instead of opening a
second one. A gift never blocks on membership: members give too, and a member who pays by
subscription gets the gift recorded without a second membership (contributions.py).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime

from flask import current_app
from sqlalchemy import func, select

from service.domain.billing.checkout import Confirmation
from service.domain.billing.join import REUSE_WITHIN, new_member, open_attempt
from service.domain.billing.sync import Cause, stripe_id, ts
from service.domain.giving.amounts import fee_cover
from service.domain.giving.attribution import to_metadata
from service.domain.giving.contributions import record_checkout_payment
from service.domain.members.status import find_by_email, lock_member
from service.errors import BillingNotFound
from service.extensions import db
from service.gateways.stripe_gateway import StripeGateway
from service.i18n import stripe_locale
from service.logs import log_event
from service.models import CheckoutAttempt, Contribution, ContributionKind

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Dedication:
    type: str  # "honour" or "memory"
    name: str
    notify_email: str | None = None


@dataclass(frozen=True)
class GiveRequest:
    email: str
    name: str
    amount: int  # minor units: what the reader chose to give
    currency: str
    cover_fees: bool = False
    anonymous: bool = False
    dedication: Dedication | None = None
    attribution: dict[str, str] = field(default_factory=dict)
    # The language of the page the gift was made from: Checkout is shown in it, and a new member keeps it.
    language: str | None = None

    @property
    def fee_covered(self) -> int:
        return fee_cover(self.amount) if self.cover_fees else 0

    @property
    def total(self) -> int:
        """What the reader pays: the gift, grossed up when they cover the fees."""
        return self.amount + self.fee_covered


def start_give(req: GiveRequest, gateway: StripeGateway, now: datetime, *, base_url: str) -> str:
    """The Checkout URL for this gift (an open one for the same gift is reused). Raises the
    BillingError family when Stripe refuses or cannot be reached."""
    found = find_by_email(req.email)
    member = lock_member(found.id if found is not None else
                         new_member(req.email, req.name, now, source="give form", language=req.language).id)
    assert member is not None  # just created or found
    customer = gateway.ensure_customer(member_id=member.id, email=member.email, name=member.name or req.name,
                                       customer_id=member.stripe_customer_id)
    member.stripe_customer_id = customer["id"]
    details = _details(req)
    attempt = open_attempt(member, gateway, now, CheckoutAttempt.kind == ContributionKind.ONE_TIME.value,
                           CheckoutAttempt.amount == req.total, CheckoutAttempt.currency == req.currency,
                           CheckoutAttempt.fee_covered == req.fee_covered, locale=stripe_locale(req.language))
    if attempt is not None and attempt.details == details:
        return attempt.url
    previous = db.session.scalar(select(func.count(CheckoutAttempt.id)).where(CheckoutAttempt.member_id == member.id))
    key = f"give-{member.id}-{member.stripe_customer_id}-{(previous or 0) + 1}-{req.total}-{req.currency}-{int(now.timestamp() * 1000)}"
    org = current_app.config["RECEIPT_ORG_NAME"]
    session = gateway.create_payment_checkout_session(
        member_id=member.id, customer_id=customer["id"], amount=req.total, currency=req.currency,
        product_name=f"One-time gift to {org}", key=key,
        metadata={"kind": ContributionKind.ONE_TIME.value, "fee_covered": str(req.fee_covered), **to_metadata(req.attribution)},
        success_url=f"{base_url}/give/success?session_id={{CHECKOUT_SESSION_ID}}", cancel_url=f"{base_url}/give",
        locale=stripe_locale(req.language))
    attempt = CheckoutAttempt(member_id=member.id, plan_id=None, kind=ContributionKind.ONE_TIME.value, amount=req.total,
                              currency=req.currency, fee_covered=req.fee_covered, details=details,
                              stripe_checkout_session_id=session["id"], url=session["url"],
                              expires_at=ts(session.get("expires_at")) or now + REUSE_WITHIN, created_at=now)
    db.session.add(attempt)
    db.session.flush()
    log_event(logger, "give.checkout_created", member_id=member.id, attempt_id=attempt.id, amount=req.total,
              currency=req.currency)
    return attempt.url


def _details(req: GiveRequest) -> dict[str, object]:
    details: dict[str, object] = {"anonymous": req.anonymous, "attribution": req.attribution}
    if req.dedication is not None:
        details["dedication"] = {"type": req.dedication.type, "name": req.dedication.name,
                                 "notify_email": req.dedication.notify_email}
    return details


@dataclass(frozen=True)
class GiftConfirmation(Confirmation):
    contribution: Contribution | None = None


def confirm_gift(session_id: str, gateway: StripeGateway, now: datetime) -> GiftConfirmation | None:
    """Record a paid one-time Checkout Session now (the success page), alongside its webhook;
    None when the session is unknown, not a payment, or names no member of ours."""
    try:
        session = gateway.retrieve_checkout_session(session_id)
    except BillingNotFound:
        return None
    reference = session.get("client_reference_id") or ""
    if session.get("mode") != "payment" or not reference.isdigit() or int(reference) > 2**31 - 1:
        return None
    member = lock_member(int(reference))
    if member is None or stripe_id(session.get("customer")) not in (None, member.stripe_customer_id):
        return None
    contribution = record_checkout_payment(member, session, gateway, now, cause=Cause(detail=f"give success page for {session_id}"))
    awaiting = session.get("status") == "complete" and session.get("payment_status") == "unpaid"
    return GiftConfirmation(member, awaiting, contribution)

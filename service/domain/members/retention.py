"""The cancel flow: the reader's reason, the offers RETENTION_OFFERS allows for their subscription,
and the answer (an offer taken, or the cancellation) recorded twice: as a note on the member's
timeline, and as a `Cancellation` row the insight figures count (insight/cancellations.py)."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from flask_babel import gettext

from service.domain.members.account import CancelPlan, cancel_membership
from service.domain.members.plan_changes import Change, Choices, change_amount, choices, pause, switch_to_yearly
from service.errors import ValidationFailed
from service.extensions import db
from service.gateways.stripe_gateway import StripeGateway
from service.logs import log_event
from service.models import (
    ActivityKind,
    Cancellation,
    CancelOutcome,
    CancelReason,
    Member,
    MemberActivity,
    RetentionOffer,
)

logger = logging.getLogger(__name__)
TEXT_MAX = 500


@dataclass(frozen=True)
class Offers:
    """The offers this reader may take instead of cancelling (none when nothing applies)."""

    choices: Choices | None
    pause: bool
    lower_amount: bool
    yearly: bool

    @property
    def any(self) -> bool:
        return self.pause or self.lower_amount or self.yearly


def offers_for(member: Member, configured: list[str]) -> Offers:
    found = choices(member)
    if found is None:
        return Offers(None, False, False, False)
    return Offers(found, RetentionOffer.PAUSE in configured and found.can_pause,
                  RetentionOffer.LOWER_AMOUNT in configured and found.can_lower,
                  RetentionOffer.YEARLY in configured and found.yearly is not None)


def take_offer(member: Member, reason: CancelReason, text: str | None, offer: RetentionOffer, gateway: StripeGateway,
               now: datetime, *, configured: list[str], months: int | None = None, amount: int | None = None) -> Change:
    """Apply the offer through Stripe and record the reason with it. Raises ValidationFailed for an
    offer that is not configured or does not apply to this membership."""
    available = offers_for(member, configured)
    if not getattr(available, offer.value):
        raise ValidationFailed(gettext("That offer is not available for your membership."))
    if offer is RetentionOffer.PAUSE:
        change, terms = pause(member, months or 0, gateway, now), f"{months} months"
    elif offer is RetentionOffer.LOWER_AMOUNT:
        if amount is None:
            raise ValidationFailed(gettext("Enter the amount you'd like to give."))
        change = change_amount(member, amount, gateway, now, why="cancel flow")
        terms = f"{amount} {change.subscription.currency}"
    else:
        change = switch_to_yearly(member, gateway, now, why="cancel flow")
        terms = change.subscription.plan.code if change.subscription.plan else "yearly"
    _record(member, reason, text, offer, terms, CancelOutcome.KEPT, now)
    return change


def decline(member: Member, reason: CancelReason, text: str | None, gateway: StripeGateway, now: datetime) -> CancelPlan:
    """No offer: cancel as the account page always has (at the period end), with the reason."""
    done = cancel_membership(member, gateway, now)
    _record(member, reason, text, None, None, CancelOutcome.CANCELLED, now)
    return done


def _record(member: Member, reason: CancelReason, text: str | None, offer: RetentionOffer | None, terms: str | None,
            outcome: CancelOutcome, now: datetime) -> None:
    words = (text or "").strip()[:TEXT_MAX] or None
    db.session.add(Cancellation(member_id=member.id, reason=reason, text=words, offer=offer, detail=terms,
                                outcome=outcome, created_at=now))
    taken = f"took the {offer.value} offer ({terms})" if offer is not None else "declined the offers and cancelled"
    said = f": “{words}”" if words else ""
    db.session.add(MemberActivity(member_id=member.id, kind=ActivityKind.NOTE, created_at=now,
                                  detail=f"cancel flow: reason {reason.value}{said}; {taken}"))
    db.session.flush()
    log_event(logger, "account.cancel_flow", member_id=member.id, reason=reason.value,
              offer=offer.value if offer else None, outcome=outcome.value)

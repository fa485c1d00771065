"""What staff do to a gift membership: resend its email, move its delivery date, or revoke it with
a refund. Each locks the gift, acts once, and leaves an audit entry with the state before and after."""
from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import select

from service.domain.giving import gifts
from service.domain.staff import audit
from service.errors import NotFound, ValidationFailed
from service.extensions import db
from service.gateways.stripe_gateway import StripeGateway
from service.models import Gift, StaffUser


def locked_gift(gift_id: int) -> Gift:
    gift = db.session.scalar(select(Gift).where(Gift.id == gift_id).with_for_update()
                             .execution_options(populate_existing=True))
    if gift is None:
        raise NotFound(f"No gift {gift_id}.")
    return gift


def snapshot(gift: Gift) -> dict[str, Any]:
    return {"gift_id": gift.id, "status": str(gift.status), "deliver_on": gift.deliver_on.isoformat(),
            "recipient_email": gift.recipient_email}


def resend(gift_id: int, actor: StaffUser, now: datetime) -> Gift:
    gift = locked_gift(gift_id)
    before = snapshot(gift)
    if not gifts.resend(gift, now):
        raise ValidationFailed(f"Gift {gift_id} is {gift.status}: only a scheduled or delivered gift can be sent.")
    audit.record(actor, "gift.resent", None, before, snapshot(gift), now)
    return gift


def reschedule(gift_id: int, deliver_on: date, actor: StaffUser, now: datetime) -> Gift:
    gift = locked_gift(gift_id)
    before = snapshot(gift)
    if deliver_on < now.date():
        raise ValidationFailed("Choose today or a day to come.")
    if not gifts.reschedule(gift, deliver_on, now):
        raise ValidationFailed(f"Gift {gift_id} is {gift.status}: only a gift not yet delivered can be moved.")
    audit.record(actor, "gift.rescheduled", None, before, snapshot(gift), now)
    return gift


def revoke(gift_id: int, actor: StaffUser, gateway: StripeGateway, now: datetime) -> Gift:
    gift = locked_gift(gift_id)
    before = snapshot(gift)
    if not gifts.revoke(gift, gateway, now, staff_user_id=actor.id):
        raise ValidationFailed(f"Gift {gift_id} is {gift.status}: there is nothing to revoke.")
    audit.record(actor, "gift.revoked", None, before, snapshot(gift) | {"refunded": gift.amount, "currency": gift.currency}, now)
    return gift

"""Factories per area: rows with sensible defaults, flushed into the test's session."""
from __future__ import annotations

import itertools
import secrets
from datetime import date, datetime, timedelta
from typing import Any

from service.db import utcnow
from service.domain.staff.users import hasher
from service.extensions import db
from service.models import (
    Contribution,
    ContributionKind,
    Gift,
    GiftStatus,
    Interval,
    Member,
    MemberStatus,
    Plan,
    Role,
    StaffUser,
    Subscription,
    SubscriptionStatus,
)

_seq = itertools.count(1)
STAFF_PASSWORD = "correct horse battery staple"
# One hash for every factory staff user: argon2 is slow on purpose.
_STAFF_HASH = hasher.hash(STAFF_PASSWORD)


def make_member(**fields: Any) -> Member:
    n = next(_seq)
    values: dict[str, Any] = {"email": f"reader{n}@example.org", "name": f"Reader {n}", "status": MemberStatus.PENDING}
    values.update(fields)
    member = Member(**values)
    db.session.add(member)
    db.session.flush()
    return member


def plan(code: str = "monthly-5") -> Plan:
    from sqlalchemy import select

    return db.session.scalars(select(Plan).where(Plan.code == code)).one()


def make_subscription(
    member: Member,
    status: SubscriptionStatus = SubscriptionStatus.ACTIVE,
    *,
    period_end: datetime | None = None,
    created: datetime | None = None,
    **fields: Any,
) -> Subscription:
    n = next(_seq)
    chosen = fields.pop("plan", None) or plan()
    sub = Subscription(
        member=member,
        plan=chosen,
        stripe_subscription_id=fields.pop("stripe_subscription_id", f"sub_test{n:06d}"),
        status=status,
        amount=chosen.amount,
        currency=chosen.currency,
        interval=Interval(chosen.interval),
        current_period_end=period_end or utcnow() + timedelta(days=30),
        stripe_created_at=created or utcnow() - timedelta(days=1),
        **fields,
    )
    db.session.add(sub)
    db.session.flush()
    return sub


def make_staff(role: str | Role = Role.VIEWER, **fields: Any) -> StaffUser:
    n = next(_seq)
    values: dict[str, Any] = {"email": f"staff{n}@newsroom.example", "role": Role(role), "password_hash": _STAFF_HASH}
    values.update(fields)
    user = StaffUser(**values)
    db.session.add(user)
    db.session.flush()
    return user


def make_contribution(member: Member, amount: int = 2500, currency: str = "usd", *,
                      kind: ContributionKind = ContributionKind.ONE_TIME, paid_at: datetime | None = None,
                      **fields: Any) -> Contribution:
    """A recorded contribution with its receipt number, as the service numbers them."""
    n = next(_seq)
    values: dict[str, Any] = {"member_id": member.id, "kind": kind, "amount": amount, "currency": currency,
                              "paid_at": paid_at or utcnow(), "attribution": {},
                              "stripe_payment_intent_id": f"pi_test{n:06d}", "stripe_charge_id": f"ch_test{n:06d}"}
    values.update(fields)
    contribution = Contribution(**values)
    db.session.add(contribution)
    db.session.flush()
    contribution.receipt_number = contribution.receipt_number or f"{contribution.paid_at.year}-{contribution.id:06d}"
    db.session.flush()
    return contribution


def make_gift(purchaser: Member, *, recipient_email: str = "friend@example.org", months: int = 3, amount: int = 1500,
              currency: str = "usd", status: GiftStatus = GiftStatus.SCHEDULED, deliver_on: date | None = None,
              **fields: Any) -> Gift:
    """A paid gift membership (scheduled unless told otherwise)."""
    gift = Gift(purchaser_id=purchaser.id, purchaser_name=purchaser.name or "A reader", recipient_name="A Friend",
                recipient_email=recipient_email, months=months, amount=amount, currency=currency, status=status,
                deliver_on=deliver_on or utcnow().date(), token_nonce=secrets.token_hex(8), **fields)
    db.session.add(gift)
    db.session.flush()
    return gift

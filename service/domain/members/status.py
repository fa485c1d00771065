"""Members: finding and locking them, and changing their status with a line in their timeline."""
from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from sqlalchemy import select

from service.domain.integrations import webhooks
from service.domain.members.access import derive_status
from service.domain.newsletter.subscriptions import follow_access, refresh_fields
from service.extensions import db
from service.logs import log_event
from service.models import ActivityKind, Member, MemberActivity, MemberStatus, normalize_email

logger = logging.getLogger(__name__)


def lock_member(member_id: int) -> Member | None:
    """The member, locked for the rest of the transaction (FOR UPDATE on PostgreSQL).

    SQLite has no row locks; it lets one writer in at a time instead.
    """
    return locked_where(Member.id == member_id)


def locked_where(condition: Any) -> Member | None:
    """Find and lock in one statement (FOR UPDATE on PostgreSQL).

    The member's subscriptions load in a statement of their own once the lock is granted
    (Member.subscriptions is selectin): joined into the locking statement, they would be read
    as they were before it waited for the lock, and miss a subscription that the transaction
    holding the lock had just added."""
    query = select(Member).where(condition).with_for_update().execution_options(populate_existing=True)
    return db.session.scalars(query).one_or_none()


def find_by_email(email: str) -> Member | None:
    return db.session.scalar(select(Member).where(Member.email == normalize_email(email)))


def set_status(
    member: Member,
    new: MemberStatus,
    now: datetime,
    *,
    stripe_event_id: str | None = None,
    staff_user_id: int | None = None,
    detail: str = "",
) -> bool:
    """Move a member to `new`, recording from what, to what, and what caused it.

    Returns whether anything changed; setting the same status again records nothing.
    """
    old = member.status
    if old is new:
        return False
    member.status = new
    member.status_changed_at = now
    db.session.add(
        MemberActivity(
            member_id=member.id,
            kind=ActivityKind.STATUS_CHANGED,
            from_status=old,
            to_status=new,
            stripe_event_id=stripe_event_id,
            staff_user_id=staff_user_id,
            detail=detail,
            created_at=now,
        )
    )
    db.session.flush()
    log_event(logger, "member.status_changed", member_id=member.id, from_status=str(old), to_status=str(new),
              stripe_event_id=stripe_event_id, staff_user_id=staff_user_id)
    follow_access(member, now)  # the members' digest follows access (domain/newsletter.py decides)
    refresh_fields(member, now)  # and the provider's merge fields and tags the status
    webhooks.publish("member.status_changed", {"member": member, "previous_status": str(old)}, now=now)
    return True


def refresh_status(member: Member, now: datetime, *, stripe_event_id: str | None = None,
                   staff_user_id: int | None = None, detail: str = "") -> bool:
    """Recompute a member's status from their subscriptions and comp, and record a change."""
    return set_status(member, derive_status(member, now), now, stripe_event_id=stripe_event_id,
                      staff_user_id=staff_user_id, detail=detail)

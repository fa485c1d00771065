"""Complimentary memberships granted by staff.

A comp gives access from `comp_since` until `comp_until` (or for good when
None). Granting or ending one recomputes the status through `refresh_status`,
which writes the timeline line and lets the members' digest follow access.
A paying member keeps `active` while comped; the comp takes over if the
subscription ends (domain/access.py decides).
"""
from __future__ import annotations

import logging
from datetime import datetime

from service.domain.members.status import lock_member, refresh_status
from service.domain.staff import audit
from service.errors import NotFound, ValidationFailed
from service.extensions import db
from service.logs import log_event
from service.models import ActivityKind, Member, MemberActivity, StaffUser

logger = logging.getLogger(__name__)


def locked_member(member_id: int) -> Member:
    """The member, locked for the rest of the transaction; NotFound when there is none."""
    member = lock_member(member_id)
    if member is None:
        raise NotFound(f"No member with id {member_id}.")
    return member


def _timeline(member: Member, kind: ActivityKind, actor: StaffUser, detail: str, now: datetime) -> None:
    db.session.add(MemberActivity(member_id=member.id, kind=kind, staff_user_id=actor.id, detail=detail,
                                  created_at=now))


def grant_comp(member_id: int, actor: StaffUser, now: datetime, *, until: datetime | None = None) -> Member:
    """Give (or extend) a complimentary membership; `until` None means no end date.

    Raises ValidationFailed for an end date in the past, NotFound for an unknown member.
    """
    if until is not None and until <= now:
        raise ValidationFailed("The comp's end date must be in the future.", fields={"until": ["In the past."]})
    member = locked_member(member_id)
    before = audit.member_snapshot(member)
    if member.comp_since is None or (member.comp_until is not None and member.comp_until <= now):
        member.comp_since = now  # a new comp; an ongoing one keeps its start
    member.comp_until = until
    ends = f"until {until:%Y-%m-%d}" if until else "with no end date"
    _timeline(member, ActivityKind.COMP_GRANTED, actor, f"comp {ends}", now)
    refresh_status(member, now, staff_user_id=actor.id, detail=f"comp granted {ends}")
    audit.record(actor, "member.comp_granted", member, before, audit.member_snapshot(member), now)
    log_event(logger, "member.comp_granted", member_id=member.id, staff_user_id=actor.id,
              until=until.isoformat() if until else None)
    return member


def end_comp(member_id: int, actor: StaffUser, now: datetime) -> Member:
    """End a complimentary membership now. Raises ValidationFailed when there is none running."""
    member = locked_member(member_id)
    if member.comp_since is None or (member.comp_until is not None and member.comp_until <= now):
        raise ValidationFailed("This member has no complimentary membership running.")
    before = audit.member_snapshot(member)
    member.comp_until = now
    _timeline(member, ActivityKind.COMP_ENDED, actor, "comp ended by staff", now)
    refresh_status(member, now, staff_user_id=actor.id, detail="comp ended")
    audit.record(actor, "member.comp_ended", member, before, audit.member_snapshot(member), now)
    log_event(logger, "member.comp_ended", member_id=member.id, staff_user_id=actor.id)
    return member

"""The audit log: what a staff member did, to whom, with the state before and after."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from service.extensions import db
from service.models import AuditEntry, Member, StaffUser


def member_snapshot(member: Member) -> dict[str, Any]:
    """The fields of a member that staff actions change, for before/after records."""
    return {
        "status": str(member.status),
        "email": member.email,
        "name": member.name,
        "comp_until": member.comp_until.isoformat() if member.comp_until else None,
        "stripe_customer_id": member.stripe_customer_id,
    }


def record(actor: StaffUser, action: str, member: Member | None, before: dict[str, Any] | None,
           after: dict[str, Any] | None, now: datetime) -> AuditEntry:
    entry = AuditEntry(staff_user_id=actor.id, action=action, member_id=member.id if member else None,
                       before=before, after=after, created_at=now)
    db.session.add(entry)
    db.session.flush()
    return entry

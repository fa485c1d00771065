"""Reading the audit log: filtered by actor, action, member and date, newest first, keyset paged."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import select

from service.extensions import db
from service.models import AuditEntry, StaffUser


@dataclass(frozen=True)
class AuditFilter:
    actor: str | None = None  # a staff user's email
    action: str | None = None
    member_id: int | None = None
    since: date | None = None
    until: date | None = None  # inclusive

    def as_args(self) -> dict[str, str]:
        values = {"actor": self.actor, "action": self.action, "member_id": self.member_id, "since": self.since,
                  "until": self.until}
        return {k: str(v) for k, v in values.items() if v not in (None, "")}


def entries(f: AuditFilter, *, limit: int = 50, cursor: int | None = None) -> tuple[list[AuditEntry], int | None]:
    """A page of audit entries and the cursor of the next page (None on the last)."""
    query = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit + 1)
    if f.actor:
        query = query.join(StaffUser, StaffUser.id == AuditEntry.staff_user_id).where(
            StaffUser.email == f.actor.strip().lower())
    if f.action:
        query = query.where(AuditEntry.action == f.action)
    if f.member_id is not None:
        query = query.where(AuditEntry.member_id == f.member_id)
    if f.since:
        query = query.where(AuditEntry.created_at >= datetime.combine(f.since, time.min, tzinfo=UTC))
    if f.until:
        query = query.where(AuditEntry.created_at < datetime.combine(f.until + timedelta(days=1), time.min, tzinfo=UTC))
    if cursor is not None:
        query = query.where(AuditEntry.id < cursor)
    rows = list(db.session.scalars(query))
    page = rows[:limit]
    return page, (page[-1].id if len(rows) > limit else None)


def actions() -> list[str]:
    return list(db.session.scalars(select(AuditEntry.action).distinct().order_by(AuditEntry.action)))


def staff_emails(ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    return dict(db.session.execute(select(StaffUser.id, StaffUser.email).where(StaffUser.id.in_(ids))).all())

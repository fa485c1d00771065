"""A staff member's request to move a membership to another email address, waiting for that address to confirm."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from service.db import Base, utcnow
from service.models.member import normalize_email
from service.models.staff import StaffUser


class EmailChange(Base):
    """A pending email change: the new address gets a signed link naming this row, the old one a notice.

    It applies once (`confirmed_at`), and only before `expires_at`; staff can cancel it
    (`cancelled_at`), and a newer request for the same member cancels it too.
    """

    __tablename__ = "email_changes"
    __table_args__ = (Index("ix_email_changes_member_created", "member_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    new_email: Mapped[str] = mapped_column(String(320))
    requested_by_staff_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("staff_users.id", ondelete="SET NULL"))
    cancelled_by_staff_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("staff_users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    confirmed_at: Mapped[datetime | None]
    cancelled_at: Mapped[datetime | None]

    requested_by: Mapped[StaffUser | None] = relationship(foreign_keys=[requested_by_staff_user_id], lazy="joined")

    @validates("new_email")
    def _normalize_email(self, _key: str, value: str) -> str:
        return normalize_email(value)

    def is_pending(self, now: datetime) -> bool:
        return self.confirmed_at is None and self.cancelled_at is None and now < self.expires_at

"""Newsletter lists, who is on them, and the consent behind every change."""
from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from service.db import Base, str_enum, utcnow
from service.models.member import normalize_email


class Newsletter(Base):
    __tablename__ = "newsletters"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(100), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    # Members-only lists are managed by the enrolment policy, not by sign-up forms.
    members_only: Mapped[bool] = mapped_column(Boolean, default=False)
    double_opt_in: Mapped[bool] = mapped_column(Boolean, default=True)
    provider_list_id: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ListStatus(enum.StrEnum):
    SUBSCRIBED = "subscribed"
    UNSUBSCRIBED = "unsubscribed"  # the reader's standing choice; never overridden
    LAPSED = "lapsed"  # removed because access ended; rejoining restores it
    PENDING = "pending"  # double opt-in not yet confirmed


class ListSubscription(Base):
    __tablename__ = "list_subscriptions"
    __table_args__ = (UniqueConstraint("newsletter_id", "email"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    newsletter_id: Mapped[int] = mapped_column(ForeignKey("newsletters.id", ondelete="CASCADE"))
    email: Mapped[str] = mapped_column(String(320), index=True)
    member_id: Mapped[int | None] = mapped_column(
        ForeignKey("members.id", ondelete="SET NULL"), index=True
    )
    status: Mapped[ListStatus] = mapped_column(str_enum(ListStatus, "list_status"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    newsletter: Mapped[Newsletter] = relationship(lazy="joined")

    @validates("email")
    def _normalize_email(self, _key: str, value: str) -> str:
        return normalize_email(value)


class ConsentAction(enum.StrEnum):
    SUBSCRIBE = "subscribe"
    UNSUBSCRIBE = "unsubscribe"
    REQUEST = "request"  # asked to join a double opt-in list; not yet confirmed
    LAPSE = "lapse"


class ConsentSource(enum.StrEnum):
    MEMBER = "member"
    MEMBERSHIP = "membership"
    STAFF = "staff"
    IMPORT = "import"


class ConsentRecord(Base):
    """An append-only record of one subscribe or unsubscribe, with where it came from."""

    __tablename__ = "consent_records"
    __table_args__ = (
        Index("ix_consent_records_email_created", "email", "created_at"),
        # The member page's consent history (a sequential scan at a million members without it).
        Index("ix_consent_records_member_created", "member_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    newsletter_id: Mapped[int] = mapped_column(ForeignKey("newsletters.id", ondelete="CASCADE"))
    email: Mapped[str] = mapped_column(String(320))
    member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id", ondelete="SET NULL"))
    action: Mapped[ConsentAction] = mapped_column(str_enum(ConsentAction, "consent_action"))
    source: Mapped[ConsentSource] = mapped_column(str_enum(ConsentSource, "consent_source"))
    staff_user_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id", ondelete="SET NULL"))
    ip_address: Mapped[str | None] = mapped_column(String(45))
    user_agent: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    @validates("email")
    def _normalize_email(self, _key: str, value: str) -> str:
        return normalize_email(value)

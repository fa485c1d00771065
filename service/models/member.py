"""Members and the activity timeline that explains their status."""
from __future__ import annotations

import enum
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from service.db import Base, str_enum, utcnow

if TYPE_CHECKING:
    from service.models.email_change import EmailChange  # for type checking only: relationships name models by string
    from service.models.newsletter import ListSubscription  # for type checking only: relationships name models by string
    from service.models.subscriptions import Subscription  # for type checking only: relationships name models by string


class MemberStatus(enum.StrEnum):
    PENDING = "pending"
    ACTIVE = "active"
    PAST_DUE = "past_due"
    LAPSED = "lapsed"
    COMPED = "comped"


def normalize_email(email: str) -> str:
    """The one spelling of an address we store and compare: trimmed, lower-case."""
    return email.strip().lower()


class Member(Base):
    __tablename__ = "members"
    __table_args__ = (
        # Emails are stored normalised, so a plain unique constraint is case-insensitive.
        CheckConstraint("email = lower(email)", name="email_normalised"),
        # Staff search (domain/search.py). An email prefix is a LIKE 'abc%': PostgreSQL only
        # uses a btree for it with text_pattern_ops (unless the database collation is C).
        Index("ix_members_email_pattern", "email", postgresql_ops={"email": "text_pattern_ops"})
        .ddl_if(dialect="postgresql"),
        # Name and email substrings (LIKE '%abc%') need trigram indexes; SQLite has none.
        # (Searched with ILIKE, which trigram indexes serve, so no lower() expression index is needed.)
        Index("ix_members_name_trgm", "name", postgresql_using="gin",
              postgresql_ops={"name": "gin_trgm_ops"}).ddl_if(dialect="postgresql"),
        Index("ix_members_email_trgm", "email", postgresql_using="gin",
              postgresql_ops={"email": "gin_trgm_ops"}).ddl_if(dialect="postgresql"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    status: Mapped[MemberStatus] = mapped_column(
        str_enum(MemberStatus, "member_status"), default=MemberStatus.PENDING, index=True
    )
    # When the status last changed: past_due grace runs from here.
    status_changed_at: Mapped[datetime] = mapped_column(default=utcnow)
    comp_since: Mapped[datetime | None]
    comp_until: Mapped[datetime | None]
    # A term membership bought with a one-time gift: access from since until until, no subscription.
    term_since: Mapped[datetime | None]
    term_until: Mapped[datetime | None] = mapped_column(index=True)
    # When the "your membership ends soon" reminder went out for the current term.
    term_reminded_at: Mapped[datetime | None]
    # What brought the reader: the attribution of their first and of their latest checkout.
    first_touch: Mapped[dict[str, Any] | None]
    latest_touch: Mapped[dict[str, Any] | None]
    stripe_customer_id: Mapped[str | None] = mapped_column(String(255), unique=True)
    # The language the member reads ("fr", "ar"; null: English): their emails are written in it and
    # Stripe's pages are shown in it. Set when they join or give, and when they sign in having chosen one.
    language: Mapped[str | None] = mapped_column(String(8))
    # When billing state read from Stripe last changed what is stored (or a resync of the member
    # found nothing to store); `billing_read_at` is when it was last read, for staff to see how fresh it is.
    billing_synced_at: Mapped[datetime | None]
    # Stored in a reader's session at sign-in; bumping it ends every session signed in before.
    session_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    subscriptions: Mapped[list[Subscription]] = relationship(
        back_populates="member", order_by="Subscription.id", lazy="selectin"
    )
    # Loaded when used (billing never needs it); list queries ask for it with selectinload.
    list_subscriptions: Mapped[list[ListSubscription]] = relationship(
        viewonly=True, order_by="ListSubscription.newsletter_id"
    )

    # Email changes staff asked for that were neither confirmed nor cancelled (maybe expired), newest first.
    open_email_changes: Mapped[list[EmailChange]] = relationship(
        viewonly=True, order_by="EmailChange.id.desc()",
        primaryjoin="and_(Member.id == EmailChange.member_id, EmailChange.confirmed_at.is_(None), "
                    "EmailChange.cancelled_at.is_(None))",
    )

    @validates("email")
    def _normalize_email(self, _key: str, value: str) -> str:
        return normalize_email(value)

    @property
    def billing_read_at(self) -> datetime | None:
        """When billing state was last read from Stripe: a resync of the member, or any subscription's sync
        (a sync that finds nothing new writes only the subscription's `synced_at`)."""
        times = [t for t in (self.billing_synced_at, *(s.synced_at for s in self.subscriptions)) if t is not None]
        return max(times, default=None)

    def __repr__(self) -> str:
        return f"<Member {self.id} {self.status}>"


class ActivityKind(enum.StrEnum):
    STATUS_CHANGED = "status_changed"
    JOINED = "joined"
    COMP_GRANTED = "comp_granted"
    COMP_ENDED = "comp_ended"
    BILLING_SYNCED = "billing_synced"
    FLAGGED = "flagged"
    NOTE = "note"
    SIGNIN_SENT = "signin_sent"  # a sign-in link staff emailed on the reader's behalf
    EMAIL_CHANGED = "email_changed"  # an email change requested, confirmed, overridden or cancelled
    CONTRIBUTED = "contributed"  # a payment recorded as a contribution (or refunded, or disputed)
    TERM_GRANTED = "term_granted"  # a one-time gift bought months of membership


class MemberActivity(Base):
    """One line of a member's timeline: what changed, from what to what, and why."""

    __tablename__ = "member_activity"
    __table_args__ = (
        Index("ix_member_activity_member_created", "member_id", "created_at"),
        # The dashboard's lapses per week.
        Index("ix_member_activity_to_status_created", "to_status", "created_at"),
        # Retention cohorts: each member's status changes in order, answered by the index alone.
        Index("ix_member_activity_status_changes", "member_id", "created_at", "id", "to_status",
              postgresql_where=text("to_status IS NOT NULL"), sqlite_where=text("to_status IS NOT NULL")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    kind: Mapped[ActivityKind] = mapped_column(str_enum(ActivityKind, "activity_kind"))
    from_status: Mapped[MemberStatus | None] = mapped_column(
        str_enum(MemberStatus, "activity_from_status")
    )
    to_status: Mapped[MemberStatus | None] = mapped_column(
        str_enum(MemberStatus, "activity_to_status")
    )
    stripe_event_id: Mapped[str | None] = mapped_column(String(255), index=True)
    staff_user_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id", ondelete="SET NULL"))
    detail: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

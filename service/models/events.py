"""The Stripe event inbox and the outbox of changes for the outside world."""
from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from service.db import Base, str_enum, utcnow


class InboxStatus(enum.StrEnum):
    RECEIVED = "received"  # stored, not yet applied
    APPLIED = "applied"
    IGNORED = "ignored"  # genuine, but not ours or of a type we don't act on
    FAILED = "failed"  # applying raised; retried
    DEAD = "dead"  # failed INBOX_MAX_ATTEMPTS times: no more retries, staff alerted


# The statuses of events still to apply (failed ones when due again): the partial index's rows.
WAITING_SQL = "status IN ('received', 'failed')"


class StripeEvent(Base):
    """Every genuine Stripe event, stored before it is applied, keyed by its id."""

    __tablename__ = "stripe_events"
    __table_args__ = (
        Index("ix_stripe_events_status_received", "status", "received_at"),
        # The worker's claim walks the events still to apply in id order: only those are in this
        # index, so a claim costs what it takes (its batch), however many applied events there are.
        Index("ix_stripe_events_waiting", "id", postgresql_where=text(WAITING_SQL), sqlite_where=text(WAITING_SQL)),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    stripe_event_id: Mapped[str] = mapped_column(String(255), unique=True)
    type: Mapped[str] = mapped_column(String(100))
    livemode: Mapped[bool] = mapped_column(Boolean)
    api_version: Mapped[str | None] = mapped_column(String(50))
    stripe_created_at: Mapped[datetime]
    # The id of the object the event is about (sub_..., cs_..., in_...).
    object_id: Mapped[str | None] = mapped_column(String(255), index=True)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[InboxStatus] = mapped_column(
        str_enum(InboxStatus, "inbox_status"), default=InboxStatus.RECEIVED
    )
    member_id: Mapped[int | None] = mapped_column(
        ForeignKey("members.id", ondelete="SET NULL"), index=True
    )
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    # Why an event was ignored (not ours, other mode, unknown type), for staff.
    detail: Mapped[str | None] = mapped_column(Text)
    # When a failed apply is due again (exponential backoff); None once settled.
    next_attempt_at: Mapped[datetime | None]
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    applied_at: Mapped[datetime | None]


class OutboxStatus(enum.StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    DEAD = "dead"  # gave up after the configured attempts; staff can retry


PENDING_SQL = "status = 'pending'"
DELIVERED_SQL = "status = 'delivered'"


class OutboxMessage(Base):
    """A change to deliver outside, committed in the same transaction as the change."""

    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_status_next_attempt", "status", "next_attempt_at"),
        # The claim walks pending rows in id order and asks, for each, whether an older row of its
        # key is pending: two small partial indexes keep both O(batch) whatever the backlog.
        Index("ix_outbox_pending", "id", postgresql_where=text(PENDING_SQL), sqlite_where=text(PENDING_SQL)),
        Index("ix_outbox_pending_key", "key", "id", postgresql_where=text(PENDING_SQL), sqlite_where=text(PENDING_SQL)),
        # Retention deletes the oldest delivered rows a batch at a time, every worker pass.
        Index("ix_outbox_delivered", "delivered_at", postgresql_where=text(DELIVERED_SQL),
              sqlite_where=text(DELIVERED_SQL)),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    topic: Mapped[str] = mapped_column(String(100))
    # Messages with the same key are delivered in id order (e.g. one member's list changes).
    key: Mapped[str] = mapped_column(String(255), index=True)
    # Set for messages that must exist once only (e.g. one email per invoice attempt).
    dedupe_key: Mapped[str | None] = mapped_column(String(255), unique=True)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[OutboxStatus] = mapped_column(
        str_enum(OutboxStatus, "outbox_status"), default=OutboxStatus.PENDING
    )
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    delivered_at: Mapped[datetime | None]

"""The cancel flow's answers: why a reader left (or nearly did), and which offer kept them."""
from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from service.db import Base, str_enum, utcnow


class CancelReason(enum.StrEnum):
    TOO_EXPENSIVE = "too_expensive"
    NOT_READING = "not_reading"
    TECHNICAL = "technical"
    COVERAGE = "coverage"
    ONE_TIME_GIFT = "one_time_gift"  # switching to a one-time gift
    OTHER = "other"
    # Cancelled without the reason step (a form posted straight to POST /account/cancel): recorded, not asked again.
    NOT_GIVEN = "not_given"


class RetentionOffer(enum.StrEnum):
    PAUSE = "pause"  # pause_collection for 1-3 months, access kept
    LOWER_AMOUNT = "lower_amount"  # a lower pay-what-you-want amount
    YEARLY = "yearly"  # switch to the yearly plan


class CancelOutcome(enum.StrEnum):
    KEPT = "kept"  # took an offer: the membership goes on
    CANCELLED = "cancelled"  # declined: cancelled at the period end


class Cancellation(Base):
    """One pass through the cancel flow, counted by the insight figures (insight/cancellations.py);
    the member's timeline carries the same answer as a note."""

    __tablename__ = "cancellations"
    __table_args__ = (Index("ix_cancellations_created_at", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"), index=True)
    reason: Mapped[CancelReason] = mapped_column(str_enum(CancelReason, "cancel_reason"))
    text: Mapped[str | None] = mapped_column(Text)  # the reader's own words (up to 500 characters)
    offer: Mapped[RetentionOffer | None] = mapped_column(str_enum(RetentionOffer, "retention_offer"))
    detail: Mapped[str | None] = mapped_column(String(100))  # the offer's terms: "3 months", "400 usd"
    outcome: Mapped[CancelOutcome] = mapped_column(str_enum(CancelOutcome, "cancel_outcome"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

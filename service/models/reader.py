"""What a reader's journey leaves behind: checkout attempts and sign-in tokens."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from service.db import Base, utcnow


class CheckoutAttempt(Base):
    """One Checkout Session created from the join form, so a double submit with the same
    plan and amount reuses it instead of opening a second one."""

    __tablename__ = "checkout_attempts"
    __table_args__ = (Index("ix_checkout_attempts_member_created", "member_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id"))
    amount: Mapped[int] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(3))
    stripe_checkout_session_id: Mapped[str] = mapped_column(String(255), unique=True)
    url: Mapped[str] = mapped_column(String(2000))
    # Stripe's own expiry of the session (24 hours by default).
    expires_at: Mapped[datetime]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class SigninToken(Base):
    """An emailed sign-in: a signed link naming this row, and a 6-digit code stored as a hash.

    The link works until `expires_at`; once used, it keeps working for a few more uses
    within a short window (mail scanners open links before the reader does).
    """

    __tablename__ = "signin_tokens"
    __table_args__ = (Index("ix_signin_tokens_member_created", "member_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    # HMAC-SHA256 of the code under SECRET_KEY; a 6-digit code is too small a space for a plain hash.
    code_hash: Mapped[str] = mapped_column(String(64))
    code_attempts: Mapped[int] = mapped_column(Integer, default=0)
    link_uses: Mapped[int] = mapped_column(Integer, default=0)
    first_used_at: Mapped[datetime | None]
    # Set when the code signed someone in, or when attempts ran out: the code is spent.
    code_spent_at: Mapped[datetime | None]
    expires_at: Mapped[datetime]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

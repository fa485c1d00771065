"""What a reader's journey leaves behind: checkout attempts and sign-in tokens."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from service.db import Base, utcnow


class CheckoutAttempt(Base):
    """One Checkout Session created from the join or give form, so a double submit with the same
    plan and amount reuses it instead of opening a second one. A gift's attempt keeps what the
    form said (fee cover, dedication, anonymity, attribution) for the contribution it becomes."""

    __tablename__ = "checkout_attempts"
    __table_args__ = (Index("ix_checkout_attempts_member_created", "member_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    plan_id: Mapped[int | None] = mapped_column(ForeignKey("plans.id"))
    # "membership" (a subscription checkout), "one_time" or "gift_purchase" (mode=payment).
    kind: Mapped[str] = mapped_column(String(20), default="membership", server_default="membership")
    amount: Mapped[int] = mapped_column(Integer)
    fee_covered: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    details: Mapped[dict[str, Any] | None]
    currency: Mapped[str] = mapped_column(String(3))
    stripe_checkout_session_id: Mapped[str] = mapped_column(String(255), unique=True)
    url: Mapped[str] = mapped_column(String(2000))
    # Stripe's own expiry of the session (24 hours by default).
    expires_at: Mapped[datetime]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class SigninToken(Base):
    """An emailed sign-in: a signed link naming this row, and an 8-digit code stored as a hash.

    The link works until `expires_at`; once used, it keeps working for a few more uses
    within a short window (mail scanners open links before the reader does). Using the
    link spends the code, and signing in with the code spends the link.
    """

    __tablename__ = "signin_tokens"
    __table_args__ = (Index("ix_signin_tokens_member_created", "member_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    # HMAC-SHA256 of the code under SECRET_KEY; an 8-digit code is too small a space for a plain hash.
    code_hash: Mapped[str] = mapped_column(String(64))
    code_attempts: Mapped[int] = mapped_column(Integer, default=0)
    link_uses: Mapped[int] = mapped_column(Integer, default=0)
    first_used_at: Mapped[datetime | None]
    # Set when the code signed someone in, when attempts ran out, or when the link was used: the code is spent.
    code_spent_at: Mapped[datetime | None]
    # Set when the code signed someone in: the link is spent too.
    code_used_at: Mapped[datetime | None]
    expires_at: Mapped[datetime]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class SigninFailure(Base):
    """One wrong sign-in code, counted per address across all its tokens.

    Keyed by an HMAC of the normalised address (not the member), so an address that is
    not a member's is locked out exactly as a member's is and the page reveals nothing.
    Rows older than SIGNIN_CODE_WINDOW_HOURS no longer count and are deleted.
    """

    __tablename__ = "signin_failures"
    __table_args__ = (Index("ix_signin_failures_digest_created", "email_digest", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    email_digest: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)

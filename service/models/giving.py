"""Contributions (every payment a reader makes), the annual statements built from them, and gift
memberships bought for someone else."""
from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

from sqlalchemy import Boolean, CheckConstraint, Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from service.db import Base, str_enum, utcnow

# The attribution parameters a landing URL may carry (DESIGN.md "Attribution").
ATTRIBUTION_KEYS = ("utm_source", "utm_medium", "utm_campaign", "utm_content", "utm_term", "campaign", "referral")


class ContributionKind(enum.StrEnum):
    MEMBERSHIP = "membership"  # a paid subscription invoice
    ONE_TIME = "one_time"  # a gift at /give
    GIFT_PURCHASE = "gift_purchase"  # a gift membership bought for someone else


class DedicationType(enum.StrEnum):
    HONOUR = "honour"
    MEMORY = "memory"


class Contribution(Base):
    """One payment, as the donor and the accountant see it: what was paid, in which currency, how
    much of it covered the fees, what has been refunded, and what brought the reader.

    `amount` is what was charged (fee cover included); the newsroom's gift is
    `amount - fee_covered`. Net of refunds and lost disputes: `amount - refunded_amount
    - disputed_amount`. Stripe's own figures for the charge (fee, net, exchange rate, from
    its balance transaction) are kept beside ours when Stripe has them.
    """

    __tablename__ = "contributions"
    __table_args__ = (
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("fee_covered >= 0 AND fee_covered < amount", name="fee_covered_within_amount"),
        CheckConstraint("refunded_amount >= 0 AND refunded_amount <= amount", name="refund_within_amount"),
        CheckConstraint("disputed_amount >= 0 AND disputed_amount <= amount", name="dispute_within_amount"),
        # A member's giving history, statements per member and year.
        Index("ix_contributions_member_paid", "member_id", "paid_at"),
        # The console's list and the accountant's export, newest first; and per campaign.
        Index("ix_contributions_paid", "paid_at"),
        Index("ix_contributions_campaign_paid", "campaign", "paid_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    kind: Mapped[ContributionKind] = mapped_column(str_enum(ContributionKind, "contribution_kind"))
    amount: Mapped[int] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(3))
    fee_covered: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    refunded_amount: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    disputed_amount: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    stripe_invoice_id: Mapped[str | None] = mapped_column(String(255), unique=True)
    stripe_payment_intent_id: Mapped[str | None] = mapped_column(String(255), unique=True)
    stripe_charge_id: Mapped[str | None] = mapped_column(String(255), index=True)
    stripe_checkout_session_id: Mapped[str | None] = mapped_column(String(255), unique=True)
    # Stripe's balance transaction for the charge: its fee and net in the settlement currency.
    stripe_fee: Mapped[int | None] = mapped_column(Integer)
    stripe_net: Mapped[int | None] = mapped_column(Integer)
    settlement_currency: Mapped[str | None] = mapped_column(String(3))
    exchange_rate: Mapped[str | None] = mapped_column(String(40))  # as Stripe sent it, a decimal
    paid_at: Mapped[datetime]
    campaign: Mapped[str | None] = mapped_column(String(100))
    attribution: Mapped[dict[str, Any]] = mapped_column(default=dict)
    dedication_type: Mapped[DedicationType | None] = mapped_column(str_enum(DedicationType, "dedication_type"))
    dedication_name: Mapped[str | None] = mapped_column(String(200))
    dedication_notify_email: Mapped[str | None] = mapped_column(String(320))
    anonymous: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    # Months of membership a one-time gift bought (DESIGN.md: floor(amount / month price), capped).
    term_months: Mapped[int | None] = mapped_column(Integer)
    receipt_number: Mapped[str | None] = mapped_column(String(40), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    @property
    def gift_amount(self) -> int:
        """What the reader chose to give, before any fee cover."""
        return self.amount - self.fee_covered

    @property
    def net_amount(self) -> int:
        """What counts for the donor after refunds and lost disputes."""
        return max(self.amount - self.refunded_amount - self.disputed_amount, 0)


class Statement(Base):
    """An annual giving statement: built for one donor and fiscal year, and when it was sent."""

    __tablename__ = "statements"
    __table_args__ = (UniqueConstraint("member_id", "fiscal_year"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    fiscal_year: Mapped[int] = mapped_column(Integer)
    contributions: Mapped[int] = mapped_column(Integer, default=0)
    # Net totals per currency, in minor units: {"usd": 2500}.
    totals: Mapped[dict[str, Any]] = mapped_column(default=dict)
    built_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]
    staff_user_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id", ondelete="SET NULL"))


class GiftStatus(enum.StrEnum):
    AWAITING_PAYMENT = "awaiting_payment"  # the purchaser is at Checkout
    SCHEDULED = "scheduled"  # paid; the recipient hears on `deliver_on`
    DELIVERED = "delivered"  # the recipient was emailed the redemption link
    REDEEMED = "redeemed"
    EXPIRED = "expired"  # not redeemed within a year of delivery
    REVOKED = "revoked"  # staff refunded it


class GiftRedemption(enum.StrEnum):
    TERM = "term"  # months of membership with no subscription
    CREDIT = "credit"  # the recipient already pays: their Stripe customer balance was credited


class Gift(Base):
    """A gift membership: `months` of membership bought by `purchaser` for a recipient, who is
    emailed a single-use redemption link on `deliver_on`. The payment is the purchaser's
    contribution (kind gift_purchase); the recipient becomes a member only by redeeming."""

    __tablename__ = "gifts"
    __table_args__ = (
        CheckConstraint("months > 0", name="months_positive"),
        CheckConstraint("amount > 0", name="amount_positive"),
        # The worker's delivery run: scheduled gifts due by today.
        Index("ix_gifts_status_deliver_on", "status", "deliver_on"),
        Index("ix_gifts_purchaser", "purchaser_id"),
        Index("ix_gifts_recipient_email", "recipient_email"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    status: Mapped[GiftStatus] = mapped_column(str_enum(GiftStatus, "gift_status"), default=GiftStatus.AWAITING_PAYMENT)
    purchaser_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    purchaser_name: Mapped[str] = mapped_column(String(200))
    recipient_name: Mapped[str] = mapped_column(String(200))
    recipient_email: Mapped[str] = mapped_column(String(320))
    message: Mapped[str] = mapped_column(Text, default="")
    months: Mapped[int] = mapped_column(Integer)
    # What the purchaser paid for it, in minor units of `currency`.
    amount: Mapped[int] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(3))
    deliver_on: Mapped[date] = mapped_column(Date)
    # The purchaser's page language: the recipient's email is written in it.
    language: Mapped[str | None] = mapped_column(String(8))
    stripe_checkout_session_id: Mapped[str | None] = mapped_column(String(255), unique=True)
    contribution_id: Mapped[int | None] = mapped_column(ForeignKey("contributions.id", ondelete="SET NULL"))
    # Part of every redemption link; a new one (staff resend after a revoke) spends the old links.
    token_nonce: Mapped[str] = mapped_column(String(32))
    delivered_at: Mapped[datetime | None]
    # A year after delivery the link stops working and the gift is expired.
    expires_at: Mapped[datetime | None]
    redeemed_at: Mapped[datetime | None]
    recipient_id: Mapped[int | None] = mapped_column(ForeignKey("members.id", ondelete="SET NULL"))
    redeemed_as: Mapped[GiftRedemption | None] = mapped_column(str_enum(GiftRedemption, "gift_redemption"))
    # For a credit: what went onto the recipient's Stripe customer balance, and its transaction.
    credited_amount: Mapped[int | None] = mapped_column(Integer)
    credited_currency: Mapped[str | None] = mapped_column(String(3))
    stripe_credit_id: Mapped[str | None] = mapped_column(String(255))
    revoked_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

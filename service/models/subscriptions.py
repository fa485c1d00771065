"""Plans, subscriptions and invoices, mirrored from Stripe under their unique ids."""
from __future__ import annotations

import enum
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from service.db import Base, str_enum, utcnow

if TYPE_CHECKING:
    from service.models.member import Member  # for type checking only: the relationship is named by string


class Interval(enum.StrEnum):
    """Every interval a Stripe price may recur on; with `interval_count`, e.g. 3 months."""

    DAY = "day"
    WEEK = "week"
    MONTH = "month"
    YEAR = "year"


class SubscriptionStatus(enum.StrEnum):
    """Stripe's eight subscription statuses (API version 2026-10-28)."""

    ACTIVE = "active"
    CANCELED = "canceled"
    INCOMPLETE = "incomplete"
    INCOMPLETE_EXPIRED = "incomplete_expired"
    PAST_DUE = "past_due"
    PAUSED = "paused"
    TRIALING = "trialing"
    UNPAID = "unpaid"


class InvoiceStatus(enum.StrEnum):
    DRAFT = "draft"
    OPEN = "open"
    PAID = "paid"
    UNCOLLECTIBLE = "uncollectible"
    VOID = "void"


class Plan(Base):
    """What a reader can choose. Amounts are integers in minor units (cents)."""

    __tablename__ = "plans"
    __table_args__ = (
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("min_amount >= 0", name="min_amount_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(50), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    amount: Mapped[int] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(3))
    interval: Mapped[Interval] = mapped_column(str_enum(Interval, "plan_interval"))
    # Pay-what-you-want plans take the reader's amount, at least min_amount.
    pay_what_you_want: Mapped[bool] = mapped_column(Boolean, default=False)
    min_amount: Mapped[int] = mapped_column(Integer, default=0)
    stripe_lookup_key: Mapped[str] = mapped_column(String(200), unique=True)
    stripe_product_id: Mapped[str | None] = mapped_column(String(255))
    stripe_price_id: Mapped[str | None] = mapped_column(String(255), unique=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    sort_order: Mapped[int] = mapped_column(Integer, default=0)
    # The plan in other currencies (DESIGN.md "Currencies"), one Stripe Price with currency_options:
    # {"eur": {"amount": 500, "min_amount": 500}}. `amount`/`min_amount` above are in `currency`.
    currency_options: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    @property
    def currencies(self) -> list[str]:
        """Every currency the plan has an amount in, its own first."""
        return [self.currency, *(c for c in sorted(self.currency_options or {}) if c != self.currency)]

    def amount_in(self, currency: str) -> int | None:
        """The plan's amount in `currency` (minor units), or None when it has none there."""
        if currency == self.currency:
            return self.amount
        option = (self.currency_options or {}).get(currency)
        return int(option["amount"]) if option else None

    def min_amount_in(self, currency: str) -> int | None:
        """A pay-what-you-want plan's smallest amount in `currency`, or None when it has none there."""
        if currency == self.currency:
            return self.min_amount
        option = (self.currency_options or {}).get(currency)
        return int(option.get("min_amount", option["amount"])) if option else None


class Subscription(Base):
    __tablename__ = "subscriptions"
    # Staff search by plan: EXISTS (a subscription on this plan) for each member.
    __table_args__ = (Index("ix_subscriptions_plan_member", "plan_id", "member_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"), index=True)
    plan_id: Mapped[int | None] = mapped_column(ForeignKey("plans.id"))
    stripe_subscription_id: Mapped[str] = mapped_column(String(255), unique=True)
    status: Mapped[SubscriptionStatus] = mapped_column(
        str_enum(SubscriptionStatus, "subscription_status")
    )
    amount: Mapped[int] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(3))
    interval: Mapped[Interval] = mapped_column(str_enum(Interval, "subscription_interval"))
    # Stripe's recurring.interval_count: a quarterly price is (month, 3).
    interval_count: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    current_period_end: Mapped[datetime | None]
    cancel_at_period_end: Mapped[bool] = mapped_column(Boolean, default=False)
    # A date Stripe will cancel on; renewals before it go on (and are charged).
    cancel_at: Mapped[datetime | None]
    # Stripe's pause_collection.behavior while collection is paused (the status stays active).
    pause_behavior: Mapped[str | None] = mapped_column(String(30))
    pause_resumes_at: Mapped[datetime | None]
    canceled_at: Mapped[datetime | None]
    ended_at: Mapped[datetime | None]
    # The campaign and utm_* parameters the join carried (from the subscription's metadata).
    attribution: Mapped[dict[str, Any] | None]
    # Stripe's own creation time of the subscription, to order a member's subscriptions.
    stripe_created_at: Mapped[datetime]
    # When this row was last read from Stripe; an older snapshot never overwrites it.
    synced_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    member: Mapped[Member] = relationship(back_populates="subscriptions")
    plan: Mapped[Plan | None] = relationship(lazy="joined")

    @property
    def cadence(self) -> str:
        """How often it is billed, as a reader writes it: 'month', '3 months'."""
        return str(self.interval) if self.interval_count == 1 else f"{self.interval_count} {self.interval}s"


# Invoices whose first payment attempt failed (the insight's failed-payment recovery).
FIRST_ATTEMPT_FAILED_SQL = ("(status = 'paid' AND attempt_count >= 2) OR "
                            "(status IN ('open', 'uncollectible', 'void') AND attempt_count >= 1)")
# Paid subscription invoices that start, raise, lower or end a member's recurring revenue.
REVENUE_MOVES_SQL = "revenue_change <> 0"
REVENUE_ENDS_SQL = "revenue_churns"
# Paid subscription invoices not counted yet (written by a version before these columns).
REVENUE_UNCOUNTED_SQL = "revenue_start IS NULL AND status = 'paid' AND amount_paid > 0 AND subscription_id IS NOT NULL"


class RevenueKind(enum.StrEnum):
    """What a paid subscription invoice does to its member's monthly recurring revenue."""

    NEW = "new"  # the member's first paid subscription invoice
    REACTIVATED = "reactivated"  # after a gap, or in another currency after paying in one
    EXPANSION = "expansion"
    CONTRACTION = "contraction"
    SAME = "same"


class Invoice(Base):
    __tablename__ = "invoices"
    __table_args__ = (
        Index("ix_invoices_first_attempt_failed", "stripe_created_at",
              postgresql_where=text(FIRST_ATTEMPT_FAILED_SQL), sqlite_where=text(FIRST_ATTEMPT_FAILED_SQL)),
        Index("ix_invoices_revenue_moves", "revenue_start", "currency", "revenue_kind", "revenue_change",
              postgresql_where=text(REVENUE_MOVES_SQL), sqlite_where=text(REVENUE_MOVES_SQL)),
        Index("ix_invoices_revenue_ends", "revenue_end", "currency", "revenue_monthly",
              postgresql_where=text(REVENUE_ENDS_SQL), sqlite_where=text(REVENUE_ENDS_SQL)),
        Index("ix_invoices_revenue_uncounted", "member_id",
              postgresql_where=text(REVENUE_UNCOUNTED_SQL), sqlite_where=text(REVENUE_UNCOUNTED_SQL)),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"), index=True)
    subscription_id: Mapped[int | None] = mapped_column(ForeignKey("subscriptions.id"), index=True)
    stripe_invoice_id: Mapped[str] = mapped_column(String(255), unique=True)
    status: Mapped[InvoiceStatus] = mapped_column(str_enum(InvoiceStatus, "invoice_status"))
    amount_due: Mapped[int] = mapped_column(Integer)
    amount_paid: Mapped[int] = mapped_column(Integer, default=0)
    currency: Mapped[str] = mapped_column(String(3))
    billing_reason: Mapped[str | None] = mapped_column(String(50))
    attempt_count: Mapped[int] = mapped_column(Integer, default=0)
    hosted_invoice_url: Mapped[str | None] = mapped_column(String(2000))
    stripe_created_at: Mapped[datetime]
    paid_at: Mapped[datetime | None]
    synced_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Recurring revenue (domain/billing/revenue.py), set on paid subscription invoices only: the
    # months it covers [revenue_start, revenue_end) as month numbers, its amount per month, and,
    # against the member's invoice before it, its kind and the change it makes (signed); whether
    # the coverage ends at revenue_end with nothing after it (churn in that month).
    revenue_start: Mapped[int | None]
    revenue_end: Mapped[int | None]
    revenue_monthly: Mapped[int | None]
    revenue_kind: Mapped[RevenueKind | None] = mapped_column(str_enum(RevenueKind, "revenue_kind"))
    revenue_change: Mapped[int | None]
    revenue_churns: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))


class IssueKind(enum.StrEnum):
    REFUND = "refund"
    DISPUTE = "dispute"
    DUPLICATE_SUBSCRIPTION = "duplicate_subscription"


class BillingIssue(Base):
    """Something about a member's money that staff should look at: a refund, a dispute,
    or two subscriptions granting access at once. Recorded once per Stripe object."""

    __tablename__ = "billing_issues"
    __table_args__ = (UniqueConstraint("kind", "stripe_object_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"), index=True)
    kind: Mapped[IssueKind] = mapped_column(str_enum(IssueKind, "billing_issue_kind"))
    # re_/ch_ for refunds, dp_ for disputes, sub_ for duplicate subscriptions.
    stripe_object_id: Mapped[str] = mapped_column(String(255))
    amount: Mapped[int | None] = mapped_column(Integer)
    currency: Mapped[str | None] = mapped_column(String(3))
    detail: Mapped[str] = mapped_column(Text, default="")
    stripe_event_id: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    resolved_at: Mapped[datetime | None]

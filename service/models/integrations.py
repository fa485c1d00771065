"""Outgoing webhooks: the endpoints admins register, the events published to them, and the log
of every delivery attempt (DESIGN.md "Outgoing webhooks")."""
from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from service.db import Base, str_enum, utcnow


class WebhookEndpoint(Base):
    """A URL of one of the newsroom's other systems, the event types it wants, and its signing secret.

    The secret is kept as it is (the service signs with it, as Stripe does with `whsec_...`);
    during a rotation the previous one also signs until `previous_secret_expires_at`.
    """

    __tablename__ = "webhook_endpoints"

    id: Mapped[int] = mapped_column(primary_key=True)
    url: Mapped[str] = mapped_column(String(2048))
    description: Mapped[str] = mapped_column(String(200), default="")
    # Event type names ("member.created", ...) or "*" for every type.
    event_types: Mapped[list[str]] = mapped_column(JSON)
    secret: Mapped[str] = mapped_column(String(100))
    previous_secret: Mapped[str | None] = mapped_column(String(100))
    previous_secret_expires_at: Mapped[datetime | None]
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    disabled_at: Mapped[datetime | None]
    disabled_reason: Mapped[str | None] = mapped_column(Text)
    # The first failed delivery since the last one that succeeded; None while deliveries succeed.
    failing_since: Mapped[datetime | None]
    last_success_at: Mapped[datetime | None]
    created_by_staff_user_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    def wants(self, event_type: str) -> bool:
        return "*" in self.event_types or event_type in self.event_types


class WebhookEvent(Base):
    """One published event: the exact JSON body every endpoint gets (and a replay sends again)."""

    __tablename__ = "webhook_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(40), unique=True)  # "evt_...", the body's id
    type: Mapped[str] = mapped_column(String(64))
    # The member the event is about, so erasing them can scrub the bodies stored here.
    member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id", ondelete="SET NULL"), index=True)
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class DeliveryOutcome(enum.StrEnum):
    SUCCEEDED = "succeeded"  # a 2xx answer
    FAILED = "failed"  # another status, a redirect, a timeout, a refused address: retried
    SKIPPED = "skipped"  # not sent: the endpoint was disabled by then


class WebhookDelivery(Base):
    """One attempt to deliver one event to one endpoint, as the endpoint's log shows it."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (Index("ix_webhook_deliveries_endpoint_id_id", "endpoint_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    endpoint_id: Mapped[int] = mapped_column(ForeignKey("webhook_endpoints.id", ondelete="CASCADE"))
    event_id: Mapped[int] = mapped_column(ForeignKey("webhook_events.id", ondelete="CASCADE"), index=True)
    attempt: Mapped[int] = mapped_column(Integer)
    replay: Mapped[bool] = mapped_column(Boolean, default=False)
    outcome: Mapped[DeliveryOutcome] = mapped_column(str_enum(DeliveryOutcome, "webhook_delivery_outcome"))
    status_code: Mapped[int | None] = mapped_column(Integer)
    latency_ms: Mapped[int | None] = mapped_column(Integer)
    # The first bytes of the answer, as text; never the whole body.
    response_excerpt: Mapped[str | None] = mapped_column(Text)
    error: Mapped[str | None] = mapped_column(Text)
    attempted_at: Mapped[datetime] = mapped_column(default=utcnow)

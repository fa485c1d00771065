"""The member as the JSON API shows it, and the queries that find members."""
from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from marshmallow import RAISE, Schema, fields, validate

from service.db import utcnow
from service.domain.members.access import access_source, access_until, has_access, primary_subscription
from service.models import ATTRIBUTION_KEYS, Member, MemberStatus
from service.schemas import cursor_field, day_field, text_field

MAX_PAGE = 100


class PlanOut(Schema):
    # None for a Stripe price that matches none of our plans (e.g. one made in the dashboard).
    code = fields.String(required=True, allow_none=True)
    amount = fields.Integer(required=True, metadata={"description": "Minor units (cents)"})
    currency = fields.String(required=True)
    interval = fields.String(required=True, validate=validate.OneOf(["day", "week", "month", "year"]))


class SubscriptionOut(Schema):
    id = fields.String(required=True, metadata={"description": "Stripe subscription id"})
    status = fields.String(required=True)
    current_period_end = fields.AwareDateTime(required=True, allow_none=True)
    cancel_at_period_end = fields.Boolean(required=True)


class NewsletterOut(Schema):
    slug = fields.String(required=True)
    status = fields.String(
        required=True, validate=validate.OneOf(["subscribed", "unsubscribed", "lapsed", "pending"])
    )


class TouchOut(Schema):
    """The attribution of one checkout (DESIGN.md "Attribution") and when it happened."""

    utm_source = fields.String(required=True, allow_none=True)
    utm_medium = fields.String(required=True, allow_none=True)
    utm_campaign = fields.String(required=True, allow_none=True)
    utm_content = fields.String(required=True, allow_none=True)
    utm_term = fields.String(required=True, allow_none=True)
    campaign = fields.String(required=True, allow_none=True)
    referral = fields.String(required=True, allow_none=True)
    at = fields.String(required=True, allow_none=True, metadata={"format": "date-time"})


class MemberAttributionOut(Schema):
    """What brought the member: their first checkout's attribution (kept forever) and their latest."""

    first_touch = fields.Nested(TouchOut, required=True, allow_none=True)
    latest_touch = fields.Nested(TouchOut, required=True, allow_none=True)


def _touch(stored: dict[str, Any] | None) -> dict[str, Any] | None:
    """A stored touch with every key present (null when absent) and its time in UTC."""
    if not stored:
        return None
    at = None
    if isinstance(stored.get("at"), str):
        try:
            when = datetime.fromisoformat(stored["at"])
            at = (when if when.tzinfo else when.replace(tzinfo=UTC)).astimezone(UTC).isoformat()
        except (ValueError, OverflowError):  # not a time we wrote: leave it out
            at = None
    return {**{key: stored.get(key) for key in ATTRIBUTION_KEYS}, "at": at}


class MemberOut(Schema):
    """A member as staff and integrations see them (DESIGN.md's public contract).

    Every key is always present (null or [] when empty), so every field is `required`
    and the OpenAPI document lists them all.
    """

    id = fields.Integer(required=True)
    email = fields.String(required=True)
    name = fields.String(required=True)
    status = fields.String(required=True, validate=validate.OneOf([s.value for s in MemberStatus]))
    has_access = fields.Method("get_has_access", required=True, metadata={"type": "boolean"})
    access_until = fields.Method("get_access_until", required=True, allow_none=True,
                                 metadata={"type": "string", "format": "date-time"})
    plan = fields.Method("get_plan", required=True, allow_none=True, metadata={"schema": PlanOut})
    subscription = fields.Method("get_subscription", required=True, allow_none=True,
                                 metadata={"schema": SubscriptionOut})
    stripe_customer_id = fields.String(required=True, allow_none=True)
    newsletters = fields.Method("get_newsletters", required=True, metadata={"schema": NewsletterOut, "many": True})
    created_at = fields.AwareDateTime(required=True)
    updated_at = fields.AwareDateTime(required=True)
    access_source = fields.Method("get_access_source", required=True, allow_none=True, metadata={
        "type": "string", "enum": ["subscription", "term", "comp", None],
        "description": "What gives access now: a subscription, a term bought with a one-time gift, a staff comp; null without access"})
    attribution = fields.Method("get_attribution", required=True, metadata={"schema": MemberAttributionOut})

    def get_access_source(self, member: Member) -> str | None:
        return access_source(member, utcnow())

    def get_attribution(self, member: Member) -> dict[str, Any]:
        return {"first_touch": _touch(member.first_touch), "latest_touch": _touch(member.latest_touch)}

    def get_has_access(self, member: Member) -> bool:
        return has_access(member, utcnow())

    def get_access_until(self, member: Member) -> str | None:
        until = access_until(member)
        return until.isoformat() if until else None

    def get_plan(self, member: Member) -> dict[str, Any] | None:
        sub = primary_subscription(member.subscriptions)
        if sub is None:
            return None
        code = sub.plan.code if sub.plan else None
        return PlanOut().dump(
            {"code": code, "amount": sub.amount, "currency": sub.currency, "interval": str(sub.interval)}
        )

    def get_subscription(self, member: Member) -> dict[str, Any] | None:
        sub = primary_subscription(member.subscriptions)
        if sub is None:
            return None
        return SubscriptionOut().dump(
            {
                "id": sub.stripe_subscription_id,
                "status": str(sub.status),
                "current_period_end": sub.current_period_end,
                "cancel_at_period_end": sub.cancel_at_period_end,
            }
        )

    def get_newsletters(self, member: Member) -> list[dict[str, str]]:
        return [{"slug": s.newsletter.slug, "status": str(s.status)} for s in member.list_subscriptions]


class MemberListOut(Schema):
    data = fields.List(fields.Nested(MemberOut), required=True)
    has_more = fields.Boolean(required=True)
    next_cursor = fields.String(allow_none=True, required=True)


class MemberQuery(Schema):
    """`GET /api/v1/members` query parameters. Unknown parameters are refused; given
    filters all apply (email and q together narrow to that address if it matches q)."""

    class Meta:
        unknown = RAISE

    email = fields.Email(metadata={"description": "Exact email address (case-insensitive)"})
    q = text_field(200, "Email prefix or name substring")
    status = fields.String(validate=validate.OneOf([s.value for s in MemberStatus]))
    plan = text_field(50, "A plan code")
    joined_from = day_field("Joined on or after this day (UTC)")
    joined_to = day_field("Joined on or before this day (UTC)")
    limit = fields.Integer(load_default=25, validate=validate.Range(min=1, max=MAX_PAGE))
    cursor = cursor_field()

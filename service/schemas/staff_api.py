"""What the staff API shows beyond the member contract: detail, audit log, stats."""
from __future__ import annotations

from marshmallow import RAISE, Schema, fields, validate

from service.schemas import cursor_field, day_field, id_field, text_field

Str = fields.String
When = fields.AwareDateTime


class ActivityOut(Schema):
    id = fields.Integer(required=True)
    kind = Str(required=True)
    from_status = Str(allow_none=True, required=True)
    to_status = Str(allow_none=True, required=True)
    stripe_event_id = Str(allow_none=True, required=True)
    staff_user_id = fields.Integer(allow_none=True, required=True)
    detail = Str(required=True)
    created_at = When(required=True)


class SubscriptionRowOut(Schema):
    stripe_subscription_id = Str(required=True)
    status = Str(required=True)
    amount = fields.Integer(required=True)
    currency = Str(required=True)
    interval = Str(required=True)
    interval_count = fields.Integer(required=True, metadata={"description": "Billed every interval_count intervals"})
    current_period_end = When(allow_none=True, required=True)
    cancel_at_period_end = fields.Boolean(required=True)
    cancel_at = When(allow_none=True, required=True,
                     metadata={"description": "A date Stripe cancels on; renewals before it are charged"})
    pause_behavior = Str(allow_none=True, required=True,
                         metadata={"description": "Stripe's pause_collection behavior while payments are paused"})
    synced_at = When(required=True)


class InvoiceOut(Schema):
    stripe_invoice_id = Str(required=True)
    status = Str(required=True)
    amount_due = fields.Integer(required=True)
    amount_paid = fields.Integer(required=True)
    currency = Str(required=True)
    hosted_invoice_url = Str(allow_none=True, required=True)
    stripe_created_at = When(required=True)


class IssueOut(Schema):
    kind = Str(required=True)
    stripe_object_id = Str(required=True)
    amount = fields.Integer(allow_none=True, required=True)
    currency = Str(allow_none=True, required=True)
    detail = Str(required=True)
    created_at = When(required=True)
    resolved_at = When(allow_none=True, required=True)


class ConsentOut(Schema):
    newsletter_id = fields.Integer(required=True)
    action = Str(required=True)
    source = Str(required=True)
    staff_user_id = fields.Integer(allow_none=True, required=True)
    created_at = When(required=True)


class InboxEventOut(Schema):
    stripe_event_id = Str(required=True)
    type = Str(required=True)
    status = Str(required=True)
    attempts = fields.Integer(required=True)
    last_error = Str(allow_none=True, required=True)
    detail = Str(allow_none=True, required=True)
    received_at = When(required=True)
    applied_at = When(allow_none=True, required=True)


class MemberDetailOut(Schema):
    """Everything the console's member page shows, with the reason in plain words."""

    summary = Str(required=True)
    has_access = fields.Boolean(required=True)
    access_until = When(allow_none=True, required=True)
    timeline = fields.List(fields.Nested(ActivityOut), required=True)
    notes = fields.List(fields.Nested(ActivityOut), required=True)
    subscriptions = fields.List(fields.Nested(SubscriptionRowOut), required=True)
    invoices = fields.List(fields.Nested(InvoiceOut), required=True)
    issues = fields.List(fields.Nested(IssueOut), required=True)
    consents = fields.List(fields.Nested(ConsentOut), required=True)
    events = fields.List(fields.Nested(InboxEventOut), required=True)


class AuditOut(Schema):
    id = fields.Integer(required=True)
    staff_user_id = fields.Integer(allow_none=True, required=True)
    action = Str(required=True)
    member_id = fields.Integer(allow_none=True, required=True)
    before = fields.Dict(allow_none=True, required=True)
    after = fields.Dict(allow_none=True, required=True)
    created_at = When(required=True)


class AuditListOut(Schema):
    data = fields.List(fields.Nested(AuditOut), required=True)
    has_more = fields.Boolean(required=True)
    next_cursor = Str(allow_none=True, required=True)


class AuditQuery(Schema):
    """`GET /api/v1/audit` filters; unknown parameters are refused."""

    class Meta:
        unknown = RAISE

    actor = fields.Email(metadata={"description": "The staff user's email"})
    action = text_field(100)
    member_id = id_field()
    since = day_field("From this day (UTC)")
    until = day_field("Up to and including this day (UTC)")
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))
    cursor = cursor_field()


class WeekOut(Schema):
    start = When(required=True)
    joins = fields.Integer(required=True)
    lapses = fields.Integer(required=True)


class RevenueOut(Schema):
    plan = Str(required=True)
    currency = Str(required=True)
    monthly = fields.Integer(required=True, metadata={"description": "Minor units per month"})
    subscriptions = fields.Integer(required=True)


class BriefMemberOut(Schema):
    id = fields.Integer(required=True)
    email = Str(required=True)
    status = Str(required=True)
    comp_until = When(allow_none=True, required=True)
    status_changed_at = When(required=True)


class WebhookHealthOut(Schema):
    last_event_at = When(allow_none=True, required=True)
    failed_events = fields.Integer(required=True)
    dead_events = fields.Integer(required=True)
    waiting_events = fields.Integer(required=True)
    outbox_backlog = fields.Integer(required=True)
    outbox_dead = fields.Integer(required=True)


class KindFiguresOut(Schema):
    currency = Str(required=True)
    kind = Str(required=True)
    count = fields.Integer(required=True)
    amount = fields.Integer(required=True, metadata={"description": "Minor units, fee cover included"})
    net = fields.Integer(required=True, metadata={"description": "Minor units after refunds and lost disputes"})


class CampaignRevenueOut(Schema):
    campaign = Str(required=True)
    currency = Str(required=True)
    contributions = fields.Integer(required=True)
    net = fields.Integer(required=True, metadata={"description": "Minor units after refunds and lost disputes"})


class CampaignJoinsOut(Schema):
    campaign = Str(required=True)
    joins = fields.Integer(required=True, metadata={"description": "Members who joined with it as their first touch"})


class GivingOut(Schema):
    """Contributions by currency and kind (this calendar month; the twelve months to date, this one
    included), and the top campaigns over those twelve months: by net revenue per currency, and by joins."""

    month_start = When(required=True)
    year_start = When(required=True)
    month = fields.List(fields.Nested(KindFiguresOut), required=True)
    year = fields.List(fields.Nested(KindFiguresOut), required=True)
    campaigns_by_revenue = fields.List(fields.Nested(CampaignRevenueOut), required=True)
    campaigns_by_joins = fields.List(fields.Nested(CampaignJoinsOut), required=True)


class StatsOut(Schema):
    """The dashboard's figures."""

    by_status = fields.Dict(keys=Str(), values=fields.Integer(), required=True)
    weeks = fields.List(fields.Nested(WeekOut), required=True)
    revenue = fields.List(fields.Nested(RevenueOut), required=True)
    past_due_count = fields.Integer(required=True)
    past_due = fields.List(fields.Nested(BriefMemberOut), required=True)
    comps_ending = fields.List(fields.Nested(BriefMemberOut), required=True)
    webhooks = fields.Nested(WebhookHealthOut, required=True)
    giving = fields.Nested(GivingOut, required=True)

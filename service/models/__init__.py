"""All models, imported here so that metadata and Alembic see every table."""
from service.models.email_change import EmailChange
from service.models.events import InboxStatus, OutboxMessage, OutboxStatus, StripeEvent
from service.models.giving import (
    ATTRIBUTION_KEYS,
    Contribution,
    ContributionKind,
    DedicationType,
    Gift,
    GiftRedemption,
    GiftStatus,
    Statement,
)
from service.models.insight import InsightSnapshot
from service.models.integrations import DeliveryOutcome, WebhookDelivery, WebhookEndpoint, WebhookEvent
from service.models.member import ActivityKind, Member, MemberActivity, MemberStatus, normalize_email
from service.models.newsletter import (
    ConsentAction,
    ConsentRecord,
    ConsentSource,
    ListStatus,
    ListSubscription,
    Newsletter,
)
from service.models.reader import CheckoutAttempt, SigninToken
from service.models.retention import Cancellation, CancelOutcome, CancelReason, RetentionOffer
from service.models.staff import ApiToken, AuditEntry, Role, StaffUser, TokenScope
from service.models.subscriptions import (
    BillingIssue,
    Interval,
    Invoice,
    InvoiceStatus,
    IssueKind,
    Plan,
    RevenueKind,
    Subscription,
    SubscriptionStatus,
)

__all__ = [
    "ATTRIBUTION_KEYS",
    "Contribution",
    "ContributionKind",
    "DedicationType",
    "Gift",
    "GiftRedemption",
    "GiftStatus",
    "Statement",
    "ActivityKind",
    "ApiToken",
    "AuditEntry",
    "BillingIssue",
    "CancelOutcome",
    "CancelReason",
    "Cancellation",
    "RetentionOffer",
    "RevenueKind",
    "CheckoutAttempt",
    "ConsentAction",
    "ConsentRecord",
    "ConsentSource",
    "EmailChange",
    "InboxStatus",
    "InsightSnapshot",
    "Interval",
    "Invoice",
    "InvoiceStatus",
    "IssueKind",
    "ListStatus",
    "ListSubscription",
    "Member",
    "MemberActivity",
    "MemberStatus",
    "Newsletter",
    "OutboxMessage",
    "OutboxStatus",
    "Plan",
    "Role",
    "SigninToken",
    "StaffUser",
    "StripeEvent",
    "Subscription",
    "SubscriptionStatus",
    "TokenScope",
    "DeliveryOutcome",
    "WebhookDelivery",
    "WebhookEndpoint",
    "WebhookEvent",
    "normalize_email",
]

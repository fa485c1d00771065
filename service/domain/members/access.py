"""Who has access, and what a member's status is. The single source of truth.

Every page, the API and the newsletter policy ask `has_access`. The rules are
DESIGN.md's status table:

    pending   joined, no completed payment yet                  no access
    active    a subscription active or trialing (also while      access (until the period
              cancel_at_period_end, until the period ends)       ends when cancelling)
    past_due  renewal failed, Stripe retrying                    access for the grace period
    lapsed    subscription canceled, unpaid, incomplete_expired  no access
              or paused
    comped    complimentary membership from staff                access until it ends
"""
from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from flask import current_app, has_app_context

from service.models import Member, MemberStatus, Subscription, SubscriptionStatus

DEFAULT_GRACE_DAYS = 7

GRANTING = frozenset({SubscriptionStatus.ACTIVE, SubscriptionStatus.TRIALING})
ENDED = frozenset(
    {
        SubscriptionStatus.CANCELED,
        SubscriptionStatus.UNPAID,
        SubscriptionStatus.INCOMPLETE_EXPIRED,
        SubscriptionStatus.PAUSED,
    }
)
# Stripe may still charge a subscription in any of these: a member never gets a second one.
LIVE = frozenset(
    {
        SubscriptionStatus.ACTIVE,
        SubscriptionStatus.TRIALING,
        SubscriptionStatus.PAST_DUE,
        SubscriptionStatus.UNPAID,
        SubscriptionStatus.INCOMPLETE,
        SubscriptionStatus.PAUSED,
    }
)
MEMBER_STATUS_FOR = {
    SubscriptionStatus.ACTIVE: MemberStatus.ACTIVE,
    SubscriptionStatus.TRIALING: MemberStatus.ACTIVE,
    SubscriptionStatus.PAST_DUE: MemberStatus.PAST_DUE,
    SubscriptionStatus.INCOMPLETE: MemberStatus.PENDING,
    **{status: MemberStatus.LAPSED for status in ENDED},
}


def grace_period(grace_days: int | None = None) -> timedelta:
    """PAST_DUE_GRACE_DAYS from the app's settings, unless given explicitly."""
    if grace_days is None:
        grace_days = current_app.config["PAST_DUE_GRACE_DAYS"] if has_app_context() else DEFAULT_GRACE_DAYS
    return timedelta(days=grace_days)


def primary_subscription(subscriptions: Iterable[Subscription]) -> Subscription | None:
    """The subscription that decides a member's status.

    One that grants access beats one in dunning, which beats the rest; among
    equals the newest (by Stripe's creation time) wins.
    """

    def rank(sub: Subscription) -> tuple[int, datetime]:
        weight = 2 if sub.status in GRANTING else 1 if sub.status is SubscriptionStatus.PAST_DUE else 0
        return weight, sub.stripe_created_at

    return max(subscriptions, key=rank, default=None)


def comp_active(member: Member, now: datetime) -> bool:
    return member.comp_since is not None and (member.comp_until is None or now < member.comp_until)


def ends_at(sub: Subscription) -> datetime | None:
    """When a subscription set to cancel stops granting access: its `cancel_at` date (renewals
    before it go on), or the period end when cancelling at period end. None while it renews."""
    if sub.cancel_at is not None:
        return sub.cancel_at
    return sub.current_period_end if sub.cancel_at_period_end else None


def _period_over(sub: Subscription, now: datetime) -> bool:
    end = ends_at(sub)
    return end is not None and now >= end


def derive_status(member: Member, now: datetime) -> MemberStatus:
    """The status a member should have, from their subscriptions and any comp."""
    sub = primary_subscription(member.subscriptions)
    from_sub = MEMBER_STATUS_FOR[sub.status] if sub is not None else MemberStatus.PENDING
    if from_sub is MemberStatus.ACTIVE and sub is not None and not _period_over(sub, now):
        return MemberStatus.ACTIVE
    if comp_active(member, now):
        return MemberStatus.COMPED
    if from_sub is MemberStatus.ACTIVE:  # cancelled and the period is over
        return MemberStatus.LAPSED
    if from_sub is MemberStatus.PENDING and member.comp_since is not None:
        return MemberStatus.LAPSED  # a comp that ended
    return from_sub


def access_until(member: Member, *, grace_days: int | None = None) -> datetime | None:
    """When access ends if nothing changes; None when there is no access or no end."""
    if member.status is MemberStatus.ACTIVE:
        sub = primary_subscription(member.subscriptions)
        return (ends_at(sub) or sub.current_period_end) if sub is not None else None
    if member.status is MemberStatus.PAST_DUE:
        return member.status_changed_at + grace_period(grace_days)
    if member.status is MemberStatus.COMPED:
        return member.comp_until
    return None


def has_access(member: Member, now: datetime, *, grace_days: int | None = None) -> bool:
    """Whether the member may read members-only content and get the members' digest now."""
    match member.status:
        case MemberStatus.ACTIVE:
            # A running comp still counts once a cancelled subscription's period is over.
            sub = primary_subscription(member.subscriptions)
            return (sub is not None and not _period_over(sub, now)) or comp_active(member, now)
        case MemberStatus.PAST_DUE:
            return now < member.status_changed_at + grace_period(grace_days)
        case MemberStatus.COMPED:
            return comp_active(member, now)
        case _:
            return False

"""Who has access, and what a member's status is. The single source of truth.

Every page, the API and the newsletter policy ask `has_access`. The rules are
DESIGN.md's status table:

    pending   joined, no completed payment yet                  no access
    active    a subscription active or trialing (also while      access (until the period
              cancel_at_period_end, until the period ends),      ends when cancelling,
              or a paid term (a one-time gift)                   or the term ends)
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


def live_subscriptions(member: Member) -> list[Subscription]:
    """The subscriptions Stripe may still charge (DESIGN.md's "live")."""
    return [s for s in member.subscriptions if s.status in LIVE]


def comp_active(member: Member, now: datetime) -> bool:
    return member.comp_since is not None and (member.comp_until is None or now < member.comp_until)


def term_active(member: Member, now: datetime) -> bool:
    """A term membership bought with a one-time gift is running."""
    return member.term_until is not None and member.term_since is not None and member.term_since <= now < member.term_until


def _sub_grants(sub: Subscription | None, now: datetime) -> bool:
    return sub is not None and sub.status in GRANTING and not _period_over(sub, now)


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
    if _sub_grants(sub, now) or term_active(member, now):
        return MemberStatus.ACTIVE
    if comp_active(member, now):
        return MemberStatus.COMPED
    if from_sub is MemberStatus.ACTIVE:  # cancelled and the period is over
        return MemberStatus.LAPSED
    if from_sub is MemberStatus.PENDING and (member.comp_since is not None or member.term_since is not None):
        return MemberStatus.LAPSED  # a comp or a term that ended
    return from_sub


def access_until(member: Member, *, grace_days: int | None = None) -> datetime | None:
    """When access ends if nothing changes; None when there is no access or no end."""
    if member.status is MemberStatus.ACTIVE:
        sub = primary_subscription(member.subscriptions)
        if sub is not None and sub.status in GRANTING:
            until = ends_at(sub) or sub.current_period_end
            # A term bought while a cancelled subscription runs out carries on after it.
            if until is not None and ends_at(sub) is not None and member.term_until is not None:
                return max(until, member.term_until)
            return until
        return member.term_until
    if member.status is MemberStatus.PAST_DUE:
        return member.status_changed_at + grace_period(grace_days)
    if member.status is MemberStatus.COMPED:
        return member.comp_until
    return None


def access_source(member: Member, now: datetime) -> str | None:
    """What gives the member access now: "subscription", "term", "comp", or None."""
    if not has_access(member, now):
        return None
    if member.status is MemberStatus.PAST_DUE or _sub_grants(primary_subscription(member.subscriptions), now):
        return "subscription"
    if term_active(member, now):
        return "term"
    return "comp" if comp_active(member, now) else None


def has_access(member: Member, now: datetime, *, grace_days: int | None = None) -> bool:
    """Whether the member may read members-only content and get the members' digest now."""
    match member.status:
        case MemberStatus.ACTIVE:
            # A running comp or term still counts once a cancelled subscription's period is over.
            sub = primary_subscription(member.subscriptions)
            return _sub_grants(sub, now) or term_active(member, now) or comp_active(member, now)
        case MemberStatus.PAST_DUE:
            return now < member.status_changed_at + grace_period(grace_days)
        case MemberStatus.COMPED:
            return comp_active(member, now)
        case _:
            return False

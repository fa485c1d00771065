"""The access rules of DESIGN.md's status table, checked on in-memory members (no database)."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from service.domain.members.access import access_until, derive_status, has_access, primary_subscription
from service.models import Member, MemberStatus, Subscription, SubscriptionStatus

S = SubscriptionStatus
NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
DAY = timedelta(days=1)


def subscription(status: S, *, period_end: datetime = NOW + 20 * DAY, cancelling: bool = False,
                 created: datetime = NOW - 30 * DAY) -> Subscription:
    return Subscription(status=status, current_period_end=period_end, cancel_at_period_end=cancelling,
                        stripe_created_at=created)


def member(*subs: Subscription, status: MemberStatus = MemberStatus.PENDING, changed: datetime = NOW,
           comp_since: datetime | None = None, comp_until: datetime | None = None) -> Member:
    return Member(email="reader@example.org", status=status, status_changed_at=changed,
                  comp_since=comp_since, comp_until=comp_until, subscriptions=list(subs))


def settled(m: Member, now: datetime = NOW) -> Member:
    """The member with the status the rules derive, as refresh_status would store it."""
    m.status = derive_status(m, now)
    return m


EVERY_STRIPE_STATUS = [
    (S.ACTIVE, MemberStatus.ACTIVE, True),
    (S.TRIALING, MemberStatus.ACTIVE, True),
    (S.PAST_DUE, MemberStatus.PAST_DUE, True),
    (S.CANCELED, MemberStatus.LAPSED, False),
    (S.UNPAID, MemberStatus.LAPSED, False),
    (S.INCOMPLETE_EXPIRED, MemberStatus.LAPSED, False),
    (S.PAUSED, MemberStatus.LAPSED, False),
    (S.INCOMPLETE, MemberStatus.PENDING, False),
]


def test_the_table_covers_all_eight_stripe_statuses():
    assert {row[0] for row in EVERY_STRIPE_STATUS} == set(SubscriptionStatus)
    assert len(SubscriptionStatus) == 8


@pytest.mark.parametrize("sub_status, expected_status, expected_access", EVERY_STRIPE_STATUS)
def test_status_and_access_for_each_stripe_status(sub_status, expected_status, expected_access):
    m = member(subscription(sub_status))
    assert derive_status(m, NOW) is expected_status
    assert has_access(settled(m), NOW) is expected_access


def test_no_subscription_is_pending_without_access():
    m = member()
    assert derive_status(m, NOW) is MemberStatus.PENDING
    assert has_access(settled(m), NOW) is False
    assert access_until(m) is None


@pytest.mark.parametrize(
    "now, expected_status, expected_access",
    [
        (NOW, MemberStatus.ACTIVE, True),  # cancelling, but the paid period runs on
        (NOW + 20 * DAY - timedelta(seconds=1), MemberStatus.ACTIVE, True),
        (NOW + 20 * DAY, MemberStatus.LAPSED, False),  # the period is over
        (NOW + 30 * DAY, MemberStatus.LAPSED, False),
    ],
)
def test_cancel_at_period_end_keeps_access_until_the_period_ends(now, expected_status, expected_access):
    m = member(subscription(S.ACTIVE, period_end=NOW + 20 * DAY, cancelling=True))
    assert derive_status(m, now) is expected_status
    m.status = MemberStatus.ACTIVE  # stored before the period ended; access must still stop
    assert has_access(m, now) is expected_access


@pytest.mark.parametrize(
    "days_past_due, grace_days, expected",
    [(0, 7, True), (6, 7, True), (7, 7, False), (8, 7, False), (2, 3, True), (3, 3, False), (0, 0, False)],
)
def test_past_due_has_access_only_inside_the_grace_period(days_past_due, grace_days, expected):
    m = member(subscription(S.PAST_DUE), status=MemberStatus.PAST_DUE, changed=NOW - days_past_due * DAY)
    assert has_access(m, NOW, grace_days=grace_days) is expected


def test_past_due_grace_defaults_to_seven_days_outside_an_app():
    m = member(subscription(S.PAST_DUE), status=MemberStatus.PAST_DUE, changed=NOW - 6 * DAY)
    assert has_access(m, NOW) is True
    assert has_access(m, NOW + 2 * DAY) is False


def test_past_due_grace_comes_from_the_app_config(app, monkeypatch):
    monkeypatch.setitem(app.config, "PAST_DUE_GRACE_DAYS", 3)
    m = member(subscription(S.PAST_DUE), status=MemberStatus.PAST_DUE, changed=NOW - 4 * DAY)
    with app.app_context():
        assert has_access(m, NOW) is False  # 4 days > 3, though inside the default 7
        assert has_access(m, NOW - 2 * DAY) is True
        assert access_until(m) == NOW - 4 * DAY + 3 * DAY


@pytest.mark.parametrize(
    "comp_until, now, expected_status, expected_access",
    [
        (None, NOW, MemberStatus.COMPED, True),  # open-ended comp
        (None, NOW + 3650 * DAY, MemberStatus.COMPED, True),
        (NOW + 10 * DAY, NOW, MemberStatus.COMPED, True),
        (NOW + 10 * DAY, NOW + 10 * DAY, MemberStatus.LAPSED, False),  # the comp has ended
        (NOW + 10 * DAY, NOW + 11 * DAY, MemberStatus.LAPSED, False),
    ],
)
def test_comped_members_have_access_until_the_comp_ends(comp_until, now, expected_status, expected_access):
    m = member(comp_since=NOW - DAY, comp_until=comp_until)
    assert derive_status(m, now) is expected_status
    m.status = MemberStatus.COMPED  # as stored while the comp ran
    assert has_access(m, now) is expected_access


def test_comp_wins_over_a_lapsed_subscription():
    m = member(subscription(S.CANCELED), comp_since=NOW - DAY)
    assert derive_status(m, NOW) is MemberStatus.COMPED
    assert has_access(settled(m), NOW) is True


def test_an_ended_comp_with_a_lapsed_subscription_is_lapsed():
    m = member(subscription(S.CANCELED), comp_since=NOW - 20 * DAY, comp_until=NOW - DAY)
    assert derive_status(m, NOW) is MemberStatus.LAPSED


def test_a_paying_subscription_wins_over_a_comp():
    m = member(subscription(S.ACTIVE), comp_since=NOW - DAY)
    assert derive_status(m, NOW) is MemberStatus.ACTIVE


def test_a_granting_subscription_beats_a_newer_canceled_one():
    older_active = subscription(S.ACTIVE, created=NOW - 60 * DAY)
    newer_canceled = subscription(S.CANCELED, created=NOW - DAY)
    m = member(newer_canceled, older_active)
    assert primary_subscription(m.subscriptions) is older_active
    assert derive_status(m, NOW) is MemberStatus.ACTIVE


def test_past_due_beats_canceled_and_the_newest_wins_among_equals():
    past_due = subscription(S.PAST_DUE, created=NOW - 60 * DAY)
    canceled = subscription(S.CANCELED, created=NOW - DAY)
    assert primary_subscription([canceled, past_due]) is past_due
    old, new = subscription(S.CANCELED, created=NOW - 9 * DAY), subscription(S.CANCELED, created=NOW - DAY)
    assert primary_subscription([new, old]) is new
    assert primary_subscription([]) is None


def test_access_until_per_status():
    end = NOW + 20 * DAY
    active = settled(member(subscription(S.ACTIVE, period_end=end)))
    cancelling = settled(member(subscription(S.ACTIVE, period_end=end, cancelling=True)))
    past_due = settled(member(subscription(S.PAST_DUE), changed=NOW - 2 * DAY))
    comped_until = settled(member(comp_since=NOW, comp_until=end))
    comped_forever = settled(member(comp_since=NOW))
    lapsed = settled(member(subscription(S.CANCELED)))
    pending = settled(member(subscription(S.INCOMPLETE)))

    assert access_until(active) == end
    assert access_until(cancelling) == end
    assert access_until(past_due, grace_days=7) == NOW + 5 * DAY
    assert access_until(comped_until) == end
    assert access_until(comped_forever) is None  # no end
    assert access_until(lapsed) is None
    assert access_until(pending) is None


def test_a_comp_keeps_access_after_a_cancelled_period_ends_before_stripe_says_so():
    from datetime import UTC, datetime, timedelta

    from service.models import Member, MemberStatus, Subscription, SubscriptionStatus

    now = datetime(2026, 6, 1, tzinfo=UTC)
    sub = Subscription(status=SubscriptionStatus.ACTIVE, cancel_at_period_end=True,
                       current_period_end=now - timedelta(days=1), stripe_created_at=now - timedelta(days=40))
    member = Member(email="c@example.org", status=MemberStatus.ACTIVE, status_changed_at=now - timedelta(days=40),
                    comp_since=now - timedelta(days=10), comp_until=None)
    member.subscriptions = [sub]
    assert has_access(member, now, grace_days=7)
    member.comp_since = None
    assert not has_access(member, now, grace_days=7)

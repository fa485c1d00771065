"""The enrolment policy: the members' digest follows access, and an unsubscribe is a standing choice."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from service.db import utcnow
from service.domain.members.status import set_status
from service.domain.newsletter import subscriptions as nl
from service.domain.newsletter.lists import MEMBERS_LIST, find_subscription, get_list
from service.gateways.newsletter import ProviderError
from service.jobs import deliver_outbox, expire_access
from service.models import (
    ConsentAction,
    ConsentRecord,
    ConsentSource,
    ListStatus,
    ListSubscription,
    MemberStatus,
    OutboxMessage,
    SubscriptionStatus,
)
from tests.factories import make_member, make_subscription

READER = nl.Actor(ConsentSource.MEMBER, "203.0.113.9", "Mozilla/5.0 (test)")


def digest(member):
    sub = find_subscription(get_list(MEMBERS_LIST), member.email, member.id)
    return sub.status if sub is not None else None


def syncs(db_session, member) -> list[str]:
    """The statuses sent to the provider for this member's digest subscription, in order."""
    rows = db_session.scalars(select(OutboxMessage).where(OutboxMessage.topic == "newsletter.sync")
                              .order_by(OutboxMessage.id))
    return [r.payload["status"] for r in rows if r.payload["email"] == member.email and r.payload["list"] == MEMBERS_LIST]


def consents(db_session, member) -> list[tuple[str, str]]:
    rows = db_session.scalars(select(ConsentRecord).where(ConsentRecord.email == member.email).order_by(ConsentRecord.id))
    return [(str(r.action), str(r.source)) for r in rows]


def join_and_pay(now=None):
    now = now or utcnow()
    member = make_member()
    make_subscription(member, SubscriptionStatus.ACTIVE)
    set_status(member, MemberStatus.ACTIVE, now)
    return member


def lapse(member, now=None):
    for sub in member.subscriptions:
        sub.status = SubscriptionStatus.CANCELED
    set_status(member, MemberStatus.LAPSED, now or utcnow())


def rejoin(member, now=None):
    make_subscription(member, SubscriptionStatus.ACTIVE, created=utcnow())
    set_status(member, MemberStatus.ACTIVE, now or utcnow())


def test_join_and_pay_enrols_once(db_session):
    member = join_and_pay()
    assert digest(member) is ListStatus.SUBSCRIBED
    # Every later event for the same state changes nothing and writes nothing.
    assert nl.follow_access(member, utcnow()) is None
    set_status(member, MemberStatus.ACTIVE, utcnow())
    assert syncs(db_session, member) == ["subscribed"]
    assert consents(db_session, member) == [("subscribe", "membership")]


def test_unsubscribe_then_renew_stays_unsubscribed_with_no_outbox_row_to_resubscribe(db_session):
    member = join_and_pay()
    assert nl.unsubscribe(member.email, MEMBERS_LIST, READER)
    set_status(member, MemberStatus.PAST_DUE, utcnow())  # renewal failed, then paid
    set_status(member, MemberStatus.ACTIVE, utcnow())
    assert digest(member) is ListStatus.UNSUBSCRIBED
    assert syncs(db_session, member) == ["subscribed", "unsubscribed"]
    record = db_session.scalars(select(ConsentRecord).where(ConsentRecord.action == ConsentAction.UNSUBSCRIBE,
                                                            ConsentRecord.email == member.email)).one()
    assert (record.source, record.ip_address, record.user_agent) == (ConsentSource.MEMBER, "203.0.113.9", "Mozilla/5.0 (test)")


def test_lapse_removes_as_lapsed_not_unsubscribed(db_session):
    member = join_and_pay()
    lapse(member)
    assert digest(member) is ListStatus.LAPSED
    assert syncs(db_session, member) == ["subscribed", "lapsed"]
    assert consents(db_session, member)[-1] == ("lapse", "membership")


def test_rejoin_enrols_again(db_session):
    member = join_and_pay()
    lapse(member)
    rejoin(member)
    assert digest(member) is ListStatus.SUBSCRIBED
    assert syncs(db_session, member) == ["subscribed", "lapsed", "subscribed"]


def test_unsubscribed_then_lapsed_then_rejoined_stays_unsubscribed(db_session):
    member = join_and_pay()
    nl.unsubscribe(member.email, MEMBERS_LIST, READER)
    lapse(member)
    rejoin(member)
    assert digest(member) is ListStatus.UNSUBSCRIBED
    assert syncs(db_session, member) == ["subscribed", "unsubscribed"]


def test_a_comp_enrols_and_its_end_removes_through_the_time_job(db_session):
    now = utcnow()
    member = make_member(comp_since=now, comp_until=now + timedelta(days=30))
    set_status(member, MemberStatus.COMPED, now)
    assert digest(member) is ListStatus.SUBSCRIBED
    assert expire_access(now + timedelta(days=29)) == 0
    assert expire_access(now + timedelta(days=31)) == 1
    assert digest(member) is ListStatus.LAPSED
    assert expire_access(now + timedelta(days=32)) == 0  # nothing more to do


def test_past_due_grace_running_out_removes(db_session, app):
    now = utcnow()
    member = join_and_pay(now)
    set_status(member, MemberStatus.PAST_DUE, now)
    assert digest(member) is ListStatus.SUBSCRIBED  # still within grace
    grace = app.config["PAST_DUE_GRACE_DAYS"]
    assert expire_access(now + timedelta(days=grace - 1)) == 0
    assert expire_access(now + timedelta(days=grace + 1)) == 1
    assert digest(member) is ListStatus.LAPSED


def test_a_cancelled_period_ending_removes(db_session):
    now = utcnow()
    member = make_member()
    make_subscription(member, SubscriptionStatus.ACTIVE, period_end=now + timedelta(days=3), cancel_at_period_end=True)
    set_status(member, MemberStatus.ACTIVE, now)
    stays = join_and_pay(now)
    assert expire_access(now + timedelta(days=4)) == 1
    assert digest(member) is ListStatus.LAPSED and digest(stays) is ListStatus.SUBSCRIBED


def test_resubscribe_undoes_an_unsubscribe(db_session):
    member = join_and_pay()
    nl.unsubscribe(member.email, MEMBERS_LIST, READER)
    assert nl.resubscribe(member, MEMBERS_LIST, ConsentSource.MEMBER, "198.51.100.1", "UA") is ListStatus.SUBSCRIBED
    assert syncs(db_session, member) == ["subscribed", "unsubscribed", "subscribed"]
    lapse(member)
    rejoin(member)
    assert digest(member) is ListStatus.SUBSCRIBED


def test_resubscribing_without_access_waits_for_access(db_session):
    member = join_and_pay()
    nl.unsubscribe(member.email, MEMBERS_LIST, READER)
    lapse(member)
    assert nl.resubscribe(member, MEMBERS_LIST, ConsentSource.MEMBER) is ListStatus.LAPSED
    rejoin(member)
    assert digest(member) is ListStatus.SUBSCRIBED


def test_unknown_lists_are_a_clear_404(db_session):
    from service.errors import NotFound

    with pytest.raises(NotFound, match="no newsletter called 'nope'"):
        nl.unsubscribe("a@example.org", "nope", READER)


class FlakyProvider:
    """Records calls; raises a temporary error while `down` is set."""

    keeps_fields = False  # only the members' digest follows these members' changes

    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []
        self.down = False

    def upsert(self, subscriber):
        self._call("upsert", subscriber)

    def remove(self, subscriber, *, reason):
        self._call(f"remove:{reason}", subscriber)

    def _call(self, what, subscriber):
        if self.down:
            raise ProviderError("503 from provider")
        self.calls.append((what, subscriber.email))


def test_provider_down_for_a_while_delivers_afterwards_in_order_per_member(db_session, app, monkeypatch):
    provider = FlakyProvider()
    monkeypatch.setitem(app.extensions, "newsletter", provider)
    provider.down = True
    now = utcnow()
    member, other = join_and_pay(now), join_and_pay(now)
    lapse(member, now)
    rejoin(member, now)
    for hour in range(1, 6):  # the worker keeps trying while the provider is down
        deliver_outbox(100, now=now + timedelta(hours=hour))
    assert provider.calls == []
    provider.down = False
    deliver_outbox(100, now=now + timedelta(days=2))
    mine = [what for what, email in provider.calls if email == member.email]
    assert mine == ["upsert", "remove:lapsed", "upsert"]
    assert [what for what, email in provider.calls if email == other.email] == ["upsert"]


def test_a_comp_ending_by_time_moves_the_member_to_lapsed_with_a_reason(db_session):
    from service.models import ActivityKind, MemberActivity

    now = utcnow()
    member = make_member(comp_since=now, comp_until=now + timedelta(days=30))
    set_status(member, MemberStatus.COMPED, now)
    expire_access(now + timedelta(days=31))
    assert member.status is MemberStatus.LAPSED
    last = db_session.scalars(select(MemberActivity).where(MemberActivity.member_id == member.id)
                              .order_by(MemberActivity.id.desc())).first()
    assert (last.kind, last.from_status, last.to_status, last.detail) == (
        ActivityKind.STATUS_CHANGED, MemberStatus.COMPED, MemberStatus.LAPSED, "comp ended")


def test_a_members_own_subscription_is_found_before_one_under_their_address(db_session):
    """One statement finds the member's subscription, and prefers it to another row that carries
    the member's current address (signed up before joining, then linked to nobody)."""
    member = make_member(email="both@example.org")
    newsletter = get_list(MEMBERS_LIST)
    other = ListSubscription(newsletter_id=newsletter.id, email="both@example.org", member_id=None,
                             status=ListStatus.UNSUBSCRIBED)
    mine = ListSubscription(newsletter_id=newsletter.id, email="old@example.org", member_id=member.id,
                            status=ListStatus.SUBSCRIBED)
    db_session.add_all([other, mine])
    db_session.flush()
    assert find_subscription(newsletter, member.email, member.id) is mine
    assert find_subscription(newsletter, member.email) is other
    assert find_subscription(newsletter, "nobody@example.org", member.id + 1000) is None
    assert find_subscription(newsletter, "BOTH@example.org", member.id + 1000) is other

"""Member status changes leave a timeline row; search finds members as staff type them."""
from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from service.domain.members.status import find_by_email, refresh_status, set_status
from service.domain.insight.search import MemberFilter, search
from service.models import ActivityKind, MemberActivity, MemberStatus, SubscriptionStatus
from tests.factories import make_member, make_staff, make_subscription

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def timeline(db_session, member):
    return list(db_session.scalars(select(MemberActivity).where(MemberActivity.member_id == member.id)))


def test_set_status_records_from_to_and_cause(db_session):
    member = make_member()
    staff = make_staff(role="support")

    changed = set_status(member, MemberStatus.COMPED, NOW, staff_user_id=staff.id, detail="press pass")

    assert changed is True
    assert member.status is MemberStatus.COMPED
    assert member.status_changed_at == NOW
    [row] = timeline(db_session, member)
    assert (row.kind, row.from_status, row.to_status) == (
        ActivityKind.STATUS_CHANGED, MemberStatus.PENDING, MemberStatus.COMPED)
    assert (row.staff_user_id, row.stripe_event_id, row.detail) == (staff.id, None, "press pass")
    assert row.created_at == NOW


def test_setting_the_same_status_again_records_nothing(db_session):
    member = make_member(status=MemberStatus.ACTIVE)
    assert set_status(member, MemberStatus.ACTIVE, NOW, stripe_event_id="evt_1") is False
    assert timeline(db_session, member) == []


def test_refresh_status_derives_from_subscriptions_and_names_the_event(db_session):
    member = make_member()
    make_subscription(member, SubscriptionStatus.ACTIVE)

    assert refresh_status(member, NOW, stripe_event_id="evt_paid") is True
    assert refresh_status(member, NOW, stripe_event_id="evt_again") is False

    [row] = timeline(db_session, member)
    assert (row.from_status, row.to_status, row.stripe_event_id) == (
        MemberStatus.PENDING, MemberStatus.ACTIVE, "evt_paid")


def test_find_by_email_ignores_case_and_spaces(db_session):
    ada = make_member(email="ada@example.org")
    assert find_by_email("  ADA@Example.ORG ") is ada
    assert find_by_email("ada@example.com") is None


@pytest.fixture
def people(db_session):
    return {
        "ada": make_member(email="ada.lovelace@analytical.example", name="Ada Lovelace"),
        "bada": make_member(email="bada@analytical.example", name="Bob Bing", status=MemberStatus.ACTIVE),
        "grace": make_member(email="grace@navy.example", name="Grace HOPPER", status=MemberStatus.ACTIVE),
        "percent": make_member(email="p1@wild.example", name="100% Reader"),
        "digits": make_member(email="p2@wild.example", name="1000 Reader"),
        "underscore": make_member(email="a_b@wild.example", name="Underscore"),
        "letter": make_member(email="axb@wild.example", name="Letter"),
    }


def found(**filters):
    paging = {k: filters.pop(k) for k in ("limit", "cursor") if k in filters}
    page, _cursor = search(MemberFilter(**filters), **paging)
    return {m.email for m in page}


def test_search_by_exact_email_is_case_insensitive(people):
    assert found(email="ADA.Lovelace@Analytical.Example") == {"ada.lovelace@analytical.example"}
    assert found(email="ada.lovelace@analytical") == set()  # exact, not a prefix


@pytest.mark.parametrize(
    "q, expected",
    [
        ("ada", {"ada.lovelace@analytical.example"}),  # email prefix; "bada@" does not start with it
        ("ADA.LOVE", {"ada.lovelace@analytical.example"}),
        ("hopper", {"grace@navy.example"}),  # name substring, any case
        ("race hop", {"grace@navy.example"}),
        ("100%", {"p1@wild.example"}),  # % is a character, not a wildcard
        ("a_b", {"a_b@wild.example"}),  # _ is a character, not a wildcard
        ("nobody", set()),
    ],
)
def test_search_q_matches_email_prefix_or_name_substring(people, q, expected):
    assert found(q=q) == expected


def test_search_filters_by_status_and_combines_filters(people):
    assert found(status=MemberStatus.ACTIVE) == {"bada@analytical.example", "grace@navy.example"}
    assert found(q="grace", status=MemberStatus.ACTIVE) == {"grace@navy.example"}
    assert found(q="grace", status=MemberStatus.LAPSED) == set()


def test_search_pages_newest_first_with_a_cursor(db_session):
    made = [make_member(email=f"pager{n}@paging.example") for n in range(5)]
    newest_first = [m.id for m in reversed(made)]

    seen, cursor, pages = [], None, 0
    while True:
        page, cursor = search(MemberFilter(q="pager"), limit=2, cursor=cursor)
        seen += [m.id for m in page]
        pages += 1
        if cursor is None:
            break
        assert cursor == page[-1].id
    assert seen == newest_first
    assert pages == 3


def test_search_has_no_next_page_when_the_last_page_is_exactly_full(db_session):
    for n in range(2):
        make_member(email=f"exact{n}@paging.example")
    page, cursor = search(MemberFilter(q="exact"), limit=2)
    assert len(page) == 2 and cursor is None

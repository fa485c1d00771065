"""Search finds members as staff type them: exact email, email prefix or name substring,
status filters, and pages newest first."""
from __future__ import annotations

import pytest
from sqlalchemy import inspect

from service.domain.insight.search import MemberFilter, search
from service.models import MemberStatus, SubscriptionStatus
from tests.factories import make_member, make_subscription


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


def test_pages_count_members_not_their_subscriptions(db_session):
    # Subscriptions are read in the members' statement: the limit must still be one of members.
    made = [make_member(email=f"multi{n}@paging.example") for n in range(3)]
    for member in made:
        for _ in range(3):
            make_subscription(member, SubscriptionStatus.CANCELED)
    db_session.expunge_all()

    page, cursor = search(MemberFilter(q="multi"), limit=2)
    assert [m.id for m in page] == [made[2].id, made[1].id] and cursor == made[1].id
    assert [len(m.subscriptions) for m in page] == [3, 3]
    rest, cursor = search(MemberFilter(q="multi"), limit=2, cursor=cursor)
    assert [m.id for m in rest] == [made[0].id] and cursor is None
    assert len(rest[0].subscriptions) == 3


def test_newsletters_are_loaded_unless_the_caller_shows_none(db_session):
    member = make_member(email="lists@paging.example")
    make_subscription(member)
    db_session.expunge_all()

    [without], _cursor = search(MemberFilter(email=member.email), newsletters=False)
    assert "list_subscriptions" in inspect(without).unloaded
    assert "subscriptions" not in inspect(without).unloaded
    db_session.expunge_all()
    [with_lists], _cursor = search(MemberFilter(email=member.email))
    assert not {"list_subscriptions", "subscriptions"} & inspect(with_lists).unloaded

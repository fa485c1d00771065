"""The staff console's member search: what a row shows, and what a page costs.

At a million members the page's time is its statements and the objects they load
(bench/staff_search.py, issue 18): each member's subscriptions and plan come in
the members' statement, and the newsletters, which the page does not show, are
not read at all.
"""
from __future__ import annotations

import pytest
from sqlalchemy import event

from service.models import MemberStatus
from tests.factories import make_member, make_subscription, plan


@pytest.fixture
def selects(db_session):
    """The SELECT statements run while the test runs."""
    seen: list[str] = []
    engine = db_session.get_bind().engine

    def record(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("SELECT"):
            seen.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    yield seen
    event.remove(engine, "before_cursor_execute", record)


def test_a_row_shows_the_member_their_access_and_plan(staff_login, db_session):
    paying = make_member(email="paying@search.example", name="Ada Paying", status=MemberStatus.ACTIVE)
    make_subscription(paying, plan=plan("yearly-50"))
    make_member(email="pending@search.example", name="Bo Pending")
    staff = staff_login("viewer")
    db_session.expunge_all()

    page = staff.get("/staff/members?q=paying").get_data(as_text=True)
    assert f'href="/staff/members/{paying.id}">paying@search.example</a>' in page and "Ada Paying" in page
    assert "yearly-50" in page and '<span class="access yes">access</span>' in page
    assert "pending@search.example" not in page
    assert "no access" in staff.get("/staff/members?email=pending@search.example").get_data(as_text=True)


def test_a_page_reads_members_and_their_subscriptions_in_one_statement(staff_login, db_session, selects):
    one = make_member(email="single@search.example")
    make_subscription(one)
    for n in range(30):
        member = make_member(email=f"many{n}@search.example", status=MemberStatus.ACTIVE)
        make_subscription(member)
        make_subscription(member, plan=plan("yearly-50"))
    staff = staff_login("viewer")

    counted = {}
    for path in ("/staff/members?email=single@search.example", "/staff/members?q=many", "/staff/members?q=nobody"):
        db_session.expunge_all()  # nothing already loaded: the page reads all it shows
        selects.clear()
        page = staff.get(path)
        assert page.status_code == 200
        counted[path] = list(selects)
        assert ('rel="next"' in page.get_data(as_text=True)) == (path.endswith("many"))  # 31 found: 25 and a next page
    for path, statements in counted.items():
        [members] = [sql for sql in statements if "FROM members" in sql]
        assert "JOIN subscriptions" in members and "JOIN plans" in members, path
        # No statement per row, and no newsletters (the page shows none).
        assert not any("subscriptions" in sql for sql in statements if sql != members), (path, statements)
    assert len({len(statements) for statements in counted.values()}) == 1, counted

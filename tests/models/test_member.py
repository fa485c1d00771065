"""The member store refuses what would make two rows mean the same person."""
from __future__ import annotations

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError

from service.models import Member
from tests.factories import make_member


def test_email_is_stored_trimmed_and_lower_case(db_session):
    member = make_member(email="  Ada@Example.ORG ")
    db_session.expire(member)
    assert member.email == "ada@example.org"
    assert db_session.scalar(select(Member).where(Member.email == "ada@example.org")) is member


def test_a_second_member_with_the_same_email_in_another_case_is_refused(db_session):
    make_member(email="ada@example.org")
    with pytest.raises(IntegrityError), db_session.begin_nested():
        make_member(email="Ada@Example.org")


def test_the_database_refuses_an_email_that_is_not_lower_case(db_session):
    # Written around the model, as an import script with raw SQL might.
    with pytest.raises(IntegrityError), db_session.begin_nested():
        db_session.execute(text(
            "INSERT INTO members (email, name, status, status_changed_at, created_at, updated_at) "
            "VALUES ('Mixed@Example.org', '', 'pending', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
        ))


def test_stripe_customer_id_is_unique(db_session):
    make_member(stripe_customer_id="cus_123")
    with pytest.raises(IntegrityError), db_session.begin_nested():
        make_member(stripe_customer_id="cus_123")


@pytest.mark.parametrize(
    "table, column",
    [("members", "status"), ("member_activity", "kind"), ("staff_users", "role")],
)
def test_enum_columns_refuse_unknown_values_in_the_database(db_session, table, column):
    member = make_member()
    rows = {
        "members": "INSERT INTO members (email, name, status, status_changed_at, created_at, updated_at) "
                   "VALUES ('raw@example.org', '', :bad, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)",
        "member_activity": "INSERT INTO member_activity (member_id, kind, detail, created_at) "
                           f"VALUES ({member.id}, :bad, '', CURRENT_TIMESTAMP)",
        "staff_users": "INSERT INTO staff_users (email, name, role, password_hash, active, failed_logins, "
                       "password_changed_at, created_at) VALUES ('raw@newsroom.example', '', :bad, 'x', "
                       "true, 0, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)",
    }
    # "bogus" fits every column's length, so only the check constraint can refuse it.
    with pytest.raises(IntegrityError), db_session.begin_nested():
        db_session.execute(text(rows[table]), {"bad": "bogus"})


def test_raw_sql_with_a_known_enum_value_is_accepted(db_session):
    """The control for the test above: the same insert with a valid value works."""
    db_session.execute(text(
        "INSERT INTO members (email, name, status, status_changed_at, created_at, updated_at) "
        "VALUES ('raw@example.org', '', 'comped', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
    ))
    assert db_session.scalar(select(Member.status).where(Member.email == "raw@example.org")) == "comped"

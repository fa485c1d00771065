"""Staff users (argon2id passwords, checked for strength) and API tokens (stored hashed)."""
from __future__ import annotations

import hashlib

import pytest
from sqlalchemy import select, text

from service.domain.staff.users import (
    authenticate_token,
    create_api_token,
    create_staff_user,
    find_staff,
    revoke_api_token,
    verify_password,
)
from service.errors import Conflict, NotFound, Unauthorized, ValidationFailed
from service.models import ApiToken, Role
from tests.factories import make_staff

GOOD = "tidal-orbit-lantern-93"


def test_password_is_stored_as_an_argon2id_hash(db_session):
    user = create_staff_user("Editor@Newsroom.example", Role.SUPPORT, GOOD, name="Ed")
    assert user.email == "editor@newsroom.example"
    assert user.password_hash.startswith("$argon2id$")
    assert GOOD not in user.password_hash
    assert verify_password(user, GOOD) is True
    assert verify_password(user, GOOD + "x") is False


@pytest.mark.parametrize(
    "password, reason",
    [
        ("", "empty"),
        ("   ", "empty"),
        ("Sh0rt!pw", "at least 12 characters"),
        ("abababababababab", "too few different characters"),
        ("xx-grace.hopper-1906", "must not contain the email"),
        ("Password-zebra7", "common word"),
    ],
)
def test_weak_passwords_are_refused_with_a_reason(db_session, password, reason):
    with pytest.raises(ValidationFailed) as caught:
        create_staff_user("grace.hopper@newsroom.example", Role.VIEWER, password)
    assert reason in caught.value.message
    assert caught.value.fields == {"password": caught.value.message}
    assert find_staff("grace.hopper@newsroom.example") is None


def test_a_second_user_with_the_same_email_in_any_case_is_refused(db_session):
    create_staff_user("dup@newsroom.example", Role.VIEWER, GOOD)
    with pytest.raises(Conflict, match="dup@newsroom.example already exists"):
        create_staff_user("DUP@newsroom.example", Role.ADMIN, GOOD)


def test_api_token_is_stored_only_as_a_sha256_hash(db_session):
    user = make_staff()
    token, plain = create_api_token(user.email, name="reporting")

    assert plain.startswith("mbr_") and len(plain) > 40
    assert token.token_hash == hashlib.sha256(plain.encode()).hexdigest()
    row = db_session.execute(text("SELECT * FROM api_tokens WHERE id = :id"), {"id": token.id}).mappings().one()
    assert all(plain not in str(value) for value in row.values())
    assert authenticate_token(plain).staff_user == user


def test_authenticating_records_when_a_token_was_last_used(db_session):
    user = make_staff()
    token, plain = create_api_token(user.email)
    assert token.last_used_at is None
    authenticate_token(plain)
    assert token.last_used_at is not None


def test_a_revoked_token_is_refused(db_session):
    user = make_staff()
    token, plain = create_api_token(user.email)
    revoked = revoke_api_token(token.id)
    assert revoked.revoked_at is not None
    with pytest.raises(Unauthorized):
        authenticate_token(plain)


def test_unknown_tokens_and_ids_are_refused(db_session):
    with pytest.raises(Unauthorized):
        authenticate_token("mbr_not-a-token")
    with pytest.raises(NotFound):
        revoke_api_token(987654321)
    with pytest.raises(NotFound, match="nobody@newsroom.example"):
        create_api_token("Nobody@newsroom.example")


def test_a_deactivated_users_token_is_refused_and_no_new_one_is_issued(db_session):
    user = make_staff()
    _token, plain = create_api_token(user.email)
    user.active = False
    db_session.flush()
    with pytest.raises(Unauthorized):
        authenticate_token(plain)
    with pytest.raises(ValidationFailed, match="deactivated"):
        create_api_token(user.email)
    assert len(db_session.scalars(select(ApiToken).where(ApiToken.staff_user_id == user.id)).all()) == 1

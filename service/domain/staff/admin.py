"""Admins managing staff users and API tokens, every change audited."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from service.domain.staff import audit
from service.domain.staff.users import create_api_token, create_staff_user, revoke_api_token
from service.errors import NotFound, ValidationFailed
from service.extensions import db
from service.models import ApiToken, Role, StaffUser, TokenScope


def _snapshot(user: StaffUser) -> dict[str, object]:
    return {"staff_user_id": user.id, "email": user.email, "role": str(user.role), "active": user.active}


def staff_users() -> list[StaffUser]:
    return list(db.session.scalars(select(StaffUser).order_by(StaffUser.email)))


def tokens() -> list[ApiToken]:
    return list(db.session.scalars(select(ApiToken).order_by(ApiToken.id.desc())))


def add_staff(actor: StaffUser, email: str, role: Role, password: str, name: str, now: datetime) -> StaffUser:
    user = create_staff_user(email, role, password, name=name)
    audit.record(actor, "staff.created", None, None, _snapshot(user), now)
    return user


def update_staff(actor: StaffUser, user_id: int, role: Role, active: bool, now: datetime) -> StaffUser:
    """Change a staff user's role or deactivate them. Admins cannot lock themselves out."""
    user = db.session.get(StaffUser, user_id)
    if user is None:
        raise NotFound(f"No staff user with id {user_id}.")
    if user.id == actor.id and (role is not Role.ADMIN or not active):
        raise ValidationFailed("You cannot demote or deactivate yourself; ask another admin.")
    before = _snapshot(user)
    user.role, user.active = role, active
    db.session.flush()
    audit.record(actor, "staff.updated", None, before, _snapshot(user), now)
    return user


def issue_token(actor: StaffUser, email: str, name: str, now: datetime,
                scope: TokenScope = TokenScope.READ) -> tuple[ApiToken, str]:
    token, plain = create_api_token(email, name=name, scope=scope)
    audit.record(actor, "token.created", None, None,
                 {"token_id": token.id, "prefix": token.prefix, "staff_user_id": token.staff_user_id,
                  "scope": str(scope)}, now)
    return token, plain


def revoke_token(actor: StaffUser, token_id: int, now: datetime) -> ApiToken:
    token = revoke_api_token(token_id, now)
    audit.record(actor, "token.revoked", None, None, {"token_id": token.id, "prefix": token.prefix}, now)
    return token

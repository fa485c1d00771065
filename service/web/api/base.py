"""The JSON API for staff tools and integrations: bearer tokens, JSON in and out.

The blueprint and what its views share; the views live in the modules beside this one."""
from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import Blueprint, g, request
from marshmallow import Schema, ValidationError

from service.domain.staff.users import authenticate_token
from service.errors import DomainError, Forbidden, Unauthorized
from service.extensions import csrf, limiter
from service.models import Role, TokenScope

bp = Blueprint("api", __name__, url_prefix="/api")
csrf.exempt(bp)  # bearer tokens, not cookies: nothing for a forged form to ride on
limiter.exempt(bp)

F = TypeVar("F", bound=Callable[..., Any])


def require_token(role: Role = Role.VIEWER, *, write: bool = False) -> Callable[[F], F]:
    """Authenticate `Authorization: Bearer <token>`, check the staff user's role, and for
    actions (`write`) that the token was made with the write scope."""

    def decorator(view: F) -> F:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            scheme, _, token = request.headers.get("Authorization", "").partition(" ")
            if scheme.lower() != "bearer" or not token.strip():
                raise Unauthorized("Send an API token as 'Authorization: Bearer <token>'.")
            api_token = authenticate_token(token.strip())
            g.api_user = api_token.staff_user
            if not g.api_user.role.allows(role):
                raise Forbidden(f"This needs the {role} role; your token's user is {g.api_user.role}.")
            if write and api_token.scope is not TokenScope.WRITE:
                raise Forbidden("This token is read-only; actions need a token made with --scope write.")
            return view(*args, **kwargs)

        return wrapped  # type: ignore[return-value]

    return decorator


def parse_query(schema: Schema) -> dict[str, Any]:
    """Validate query parameters; a 400 names every parameter to fix."""
    try:
        return schema.load(request.args.to_dict())
    except ValidationError as exc:
        messages = exc.normalized_messages()
        summary = "; ".join(f"{field}: {' '.join(map(str, msgs))}" for field, msgs in messages.items())
        raise DomainError(f"Bad query parameters. {summary}", code="invalid_query", fields=messages) from None

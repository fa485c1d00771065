"""`membership staff` and `membership token`: console users and API tokens."""
from __future__ import annotations

import sys

import click

from service.cli.base import in_transaction
from service.domain.staff.users import create_api_token, create_staff_user, revoke_api_token
from service.models import Role, TokenScope


@click.group("staff")
def staff_group() -> None:
    """Staff users of the console and the API."""


@staff_group.command("create")
@click.argument("email")
@click.option("--role", required=True, type=click.Choice([r.value for r in Role]), help="What the user may do.")
@click.option("--name", default="", help="Display name.")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input instead of a prompt.")
@in_transaction
def staff_create(email: str, role: str, name: str, password_stdin: bool) -> None:
    """Create a staff user with EMAIL. The password is asked for (or read from stdin)."""
    if "@" not in email:
        raise click.BadParameter(f"{email!r} is not an email address.", param_hint="EMAIL")
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True, default="", show_default=False)
    user = create_staff_user(email, Role(role), password, name=name)
    click.echo(f"created staff user {user.email} ({user.role})")


@click.group("token")
def token_group() -> None:
    """API tokens for the JSON API."""


@token_group.command("create")
@click.argument("email")
@click.option("--name", default="", help="What the token is for, to tell tokens apart.")
@click.option("--scope", type=click.Choice(["read", "write"]), default="read", show_default=True,
              help="read: GET requests only; write: also actions such as resync (within the user's role).")
@in_transaction
def token_create(email: str, name: str, scope: str) -> None:
    """Print a new API token for the staff user EMAIL. It is shown only this once."""
    _token, plain = create_api_token(email, name=name, scope=TokenScope(scope))
    click.echo(plain)


@token_group.command("revoke")
@click.argument("token_id", type=int)
@in_transaction
def token_revoke(token_id: int) -> None:
    """Revoke the API token with id TOKEN_ID; requests with it get 401 from now on."""
    token = revoke_api_token(token_id)
    click.echo(f"revoked token {token.id} ({token.prefix}...)")

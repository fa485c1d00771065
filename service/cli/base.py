"""What every `membership` command shares: the group that turns the service's own
errors into one line, and the transaction each command runs in."""
from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

import click
from flask.cli import FlaskGroup, with_appcontext

from service.config import ConfigError
from service.errors import DomainError
from service.extensions import db

F = TypeVar("F", bound=Callable[..., Any])


class MembershipGroup(FlaskGroup):
    """Turns the service's own errors into a one-line message and exit code 1.

    Flask's own --app/--env-file/--debug options are dropped: the app is always
    this service, and settings come from the environment or .env.
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.params = [p for p in self.params if p.name not in ("app", "env_file", "debug")]

    # Every command is registered here, so listing or finding one never needs the app
    # (`--help` works even when the configuration is broken), and extensions' plugin
    # commands stay out of the operator's way.
    def _load_plugin_commands(self) -> None:
        pass

    def list_commands(self, ctx: click.Context) -> list[str]:
        return click.Group.list_commands(self, ctx)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        return click.Group.get_command(self, ctx, name)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (DomainError, ConfigError) as exc:
            # The command's transaction was rolled back inside the app context (`in_transaction`).
            raise click.ClickException(str(exc)) from None


def in_transaction(command: F) -> F:
    """Run a command inside the app context, as one transaction: commit once when it returns,
    roll back when it raises. A command that finished its work but wants a non-zero exit
    status (some rows had errors) returns that status. Work that needs one transaction
    per item goes through `service.jobs`, which commits each item itself."""

    @functools.wraps(command)
    def run(*args: Any, **kwargs: Any) -> None:
        try:
            status = command(*args, **kwargs)
        except BaseException:
            db.session.rollback()
            raise
        db.session.commit()
        if status:
            raise SystemExit(status)

    return with_appcontext(run)  # type: ignore[return-value]

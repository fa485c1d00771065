"""The `membership` command: one module per command group, each command parses its
arguments, calls one domain function (or job) and prints. Every subcommand has
--help; bad arguments and the service's own errors exit non-zero with one line.
Commands run as one transaction each (`base.in_transaction`)."""
from __future__ import annotations

import click
from flask import Flask

from service import create_app
from service.cli.base import MembershipGroup
from service.cli.contributions import contributions_group
from service.cli.database import alembic_config, db_group
from service.cli.events import events_group, reconcile_command
from service.cli.members import members_group
from service.cli.newsletters import newsletters_group
from service.cli.plans import plans_group
from service.cli.serve import serve
from service.cli.staff import staff_group, token_group
from service.cli.statements import statements_group
from service.cli.worker import outbox_group, worker
from service.config import ConfigError

COMMANDS: tuple[click.Command, ...] = (
    db_group, serve, plans_group, staff_group, token_group, events_group, reconcile_command,
    worker, outbox_group, newsletters_group, members_group,
    contributions_group, statements_group,
)
__all__ = ["alembic_config", "main", "register_cli"]


def _create_app() -> Flask:
    try:
        return create_app()
    except ConfigError as exc:
        raise click.ClickException(f"configuration: {exc}") from None


main = MembershipGroup(
    create_app=_create_app,
    add_default_commands=False,
    add_version_option=False,
    load_dotenv=True,
    help="Run and operate the membership service. Settings come from the environment or .env.",
)
for _command in COMMANDS:
    main.add_command(_command)


def register_cli(app: Flask) -> None:
    """Make the same commands available as `flask --app service ...`; hide extensions' own."""
    for name in [n for n in app.cli.commands if n not in main.commands]:
        app.cli.commands.pop(name)
    for command in main.commands.values():
        app.cli.add_command(command)

"""The `membership` command. Every subcommand has --help; bad arguments exit non-zero with one line."""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click
from flask import Flask, current_app
from flask.cli import FlaskGroup, with_appcontext

from service.config import ConfigError
from service.errors import DomainError
from service.extensions import db
from service.models import Role

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"


def _create_app() -> Flask:
    from service import create_app

    try:
        return create_app()
    except ConfigError as exc:
        raise click.ClickException(f"configuration: {exc}") from None


class _Group(FlaskGroup):
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
            db.session.rollback()
            raise click.ClickException(str(exc)) from None


main = _Group(
    create_app=_create_app,
    add_default_commands=False,
    add_version_option=False,
    load_dotenv=True,
    help="Run and operate the membership service. Settings come from the environment or .env.",
)


# --- database -----------------------------------------------------------------


def alembic_config(url: str | None = None) -> Any:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    # Migrations are named by date and a short slug: 2026_11_28_initial_schema.py
    cfg.set_main_option("file_template", "%%(year)d_%%(month).2d_%%(day).2d_%%(slug)s")
    cfg.set_main_option("sqlalchemy.url", (url or current_app.config["DATABASE_URL"]).replace("%", "%%"))
    return cfg


@main.group("db")
def db_group() -> None:
    """Database schema: migrate, inspect."""


@db_group.command("upgrade")
@click.argument("revision", default="head")
@with_appcontext
def db_upgrade(revision: str) -> None:
    """Migrate the database to REVISION (default: the newest, "head")."""
    from alembic import command

    _ensure_sqlite_dir(current_app.config["DATABASE_URL"])
    command.upgrade(alembic_config(), revision)
    click.echo(f"database at {revision}")


@db_group.command("downgrade")
@click.argument("revision")
@with_appcontext
def db_downgrade(revision: str) -> None:
    """Migrate the database down to REVISION ("base" removes every table)."""
    from alembic import command

    command.downgrade(alembic_config(), revision)
    click.echo(f"database at {revision}")


@db_group.command("revision")
@click.option("-m", "--message", required=True, help="A short slug describing the change.")
@with_appcontext
def db_revision(message: str) -> None:
    """Write a new migration by comparing the models with the database (review it!)."""
    from alembic import command

    command.revision(alembic_config(), message=message, autogenerate=True)


@db_group.command("current")
@with_appcontext
def db_current() -> None:
    """Show the revision the database is at."""
    from alembic import command

    command.current(alembic_config())


def _ensure_sqlite_dir(url: str) -> None:
    if url.startswith("sqlite:///") and not url.startswith("sqlite:///:memory:"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)


# --- staff and tokens ---------------------------------------------------------------


@main.group("staff")
def staff_group() -> None:
    """Staff users of the console and the API."""


@staff_group.command("create")
@click.argument("email")
@click.option("--role", required=True, type=click.Choice([r.value for r in Role]), help="What the user may do.")
@click.option("--name", default="", help="Display name.")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input instead of a prompt.")
@with_appcontext
def staff_create(email: str, role: str, name: str, password_stdin: bool) -> None:
    """Create a staff user with EMAIL. The password is asked for (or read from stdin)."""
    from service.domain.staff.users import create_staff_user

    if "@" not in email:
        raise click.BadParameter(f"{email!r} is not an email address.", param_hint="EMAIL")
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True, default="", show_default=False)
    user = create_staff_user(email, Role(role), password, name=name)
    db.session.commit()
    click.echo(f"created staff user {user.email} ({user.role})")


@main.group("token")
def token_group() -> None:
    """API tokens for the JSON API."""


@token_group.command("create")
@click.argument("email")
@click.option("--name", default="", help="What the token is for, to tell tokens apart.")
@click.option("--scope", type=click.Choice(["read", "write"]), default="read", show_default=True,
              help="read: GET requests only; write: also actions such as resync (within the user's role).")
@with_appcontext
def token_create(email: str, name: str, scope: str) -> None:
    """Print a new API token for the staff user EMAIL. It is shown only this once."""
    from service.domain.staff.users import create_api_token
    from service.models import TokenScope

    _token, plain = create_api_token(email, name=name, scope=TokenScope(scope))
    db.session.commit()
    click.echo(plain)


@token_group.command("revoke")
@click.argument("token_id", type=int)
@with_appcontext
def token_revoke(token_id: int) -> None:
    """Revoke the API token with id TOKEN_ID; requests with it get 401 from now on."""
    from service.domain.staff.users import revoke_api_token

    token = revoke_api_token(token_id)
    db.session.commit()
    click.echo(f"revoked token {token.id} ({token.prefix}...)")


# --- plans ----------------------------------------------------------------------


@main.group("plans")
def plans_group() -> None:
    """Membership plans and their Stripe prices."""


@plans_group.command("sync")
@with_appcontext
def plans_sync() -> None:
    """Create or find each plan's Stripe Product and Price by lookup key. Safe to run again."""
    from service.domain.billing.plans import active_plans, sync_plan
    from service.gateways import billing

    for plan in active_plans():
        changed = sync_plan(plan, billing())
        db.session.commit()
        click.echo(f"{plan.code:14} {plan.stripe_price_id}  {'updated' if changed else 'unchanged'}")


@plans_group.command("list")
@with_appcontext
def plans_list() -> None:
    """Show the plans, their amounts and Stripe prices."""
    from service.domain.billing.plans import active_plans

    for plan in active_plans():
        amount = f"{plan.amount / 100:.2f} {plan.currency.upper()}/{plan.interval}"
        extra = f" (pay what you want, from {plan.min_amount / 100:.2f})" if plan.pay_what_you_want else ""
        click.echo(f"{plan.code:14} {amount}{extra}  {plan.stripe_price_id or 'not synced'}")


# --- Stripe events and reconciliation -----------------------------------------------


@main.group("events")
def events_group() -> None:
    """The Stripe event inbox."""


@events_group.command("retry")
@click.option("--all", "everything", is_flag=True, help="Also retry failed events whose next attempt is not due yet.")
@click.option("--limit", default=1000, show_default=True, type=click.IntRange(1), help="At most this many events.")
@with_appcontext
def events_retry(everything: bool, limit: int) -> None:
    """Re-apply failed (and stuck) inbox events. Applying is idempotent."""
    from service.db import utcnow
    from service.domain.billing import inbox
    from service.gateways import billing

    tried = inbox.retry_due(utcnow(), billing(), limit, include_not_due=everything)
    failed = inbox.count_failed()
    click.echo(f"retried {tried} event(s); {failed} still failing")
    if failed and tried:
        raise SystemExit(1)


@main.command("reconcile")
@with_appcontext
def reconcile_command() -> None:
    """Re-sync every Stripe subscription, apply events of the last 30 days that never
    arrived, and report what changed, for whom."""
    from tqdm import tqdm

    from service.db import utcnow
    from service.domain.billing.reconcile import reconcile
    from service.gateways import billing

    bars = {"subscriptions": tqdm(desc="subscriptions", unit=" sub"), "events": tqdm(desc="events", unit=" evt")}
    report = reconcile(billing(), utcnow(), tick=lambda what: bars[what].update())
    for bar in bars.values():
        bar.close()
    click.echo(f"{report.subscriptions} subscription(s) checked, {len(report.drift)} member(s) changed, "
               f"{report.unknown} not ours, {report.failed} failed; "
               f"{report.events_missing} missed event(s) found, {report.events_applied} applied")
    for d in report.drift:
        click.echo(f"  member {d.member_id} {d.email}: {d.before} -> {d.after} ({d.subscription_id})")
    if report.failed:
        raise SystemExit(1)


# --- serving ------------------------------------------------------------------


@main.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option("--port", default=5000, show_default=True, type=click.IntRange(1, 65535), help="Port to listen on.")
@click.option("--debug/--no-debug", default=False, help="Reload on code changes and show tracebacks.")
@with_appcontext
def serve(host: str, port: int, debug: bool) -> None:
    """Run the development server. With no Stripe key, the Stripe sandbox runs inside it."""
    from werkzeug.serving import run_simple

    from service.web.dev import development_app

    app = current_app._get_current_object()  # type: ignore[attr-defined]
    click.echo(f"membership on http://{host}:{port} (billing: {app.config['BILLING_BACKEND']})")
    run_simple(host, port, development_app(app), use_reloader=debug, use_debugger=debug, threaded=True)


# --- outbox, worker, newsletters ------------------------------------------------------


@main.command("worker")
@click.option("--once", is_flag=True, help="Run every job once and exit.")
@click.option("--interval", default=5.0, show_default=True, type=click.FloatRange(min=0.01),
              help="Seconds to sleep when a pass found nothing to do.")
@with_appcontext
def worker(once: bool, interval: float) -> None:
    """Deliver outbox messages (emails, list changes) and run the other background jobs until stopped."""
    from service.jobs import Worker

    runner = Worker(interval=interval)
    if not once:
        runner.install_signal_handlers()
    handled = runner.run(once=once)
    click.echo(f"worker stopped; handled {handled}")


@main.group("outbox")
def outbox_group() -> None:
    """Messages waiting to go out: emails and newsletter list changes."""


@outbox_group.command("status")
@click.option("--dead", "show_dead", default=20, show_default=True, help="How many dead messages to list.")
@with_appcontext
def outbox_status(show_dead: int) -> None:
    """Count messages by status and list the newest dead ones with their last error."""
    from service.domain.outbox import dead_messages, status_counts

    click.echo("  ".join(f"{status}={count}" for status, count in status_counts().items()))
    for message in dead_messages(show_dead):
        click.echo(f"dead {message.id:>8} {message.topic:16} attempts={message.attempts} {message.last_error or ''}")


@outbox_group.command("retry")
@click.argument("ids", nargs=-1, type=int)
@click.option("--all", "retry_all", is_flag=True, help="Retry every dead message.")
@with_appcontext
def outbox_retry(ids: tuple[int, ...], retry_all: bool) -> None:
    """Queue dead messages (IDS, or --all) for delivery again, with a fresh attempt count."""
    from service.domain.outbox import retry_dead

    if bool(ids) == retry_all:
        raise click.UsageError("Give message IDS or --all (not both).")
    count = retry_dead(None if retry_all else ids)
    db.session.commit()
    click.echo(f"queued {count} message(s) again")


@main.group("newsletters")
def newsletters_group() -> None:
    """Newsletter lists and their subscribers."""


@newsletters_group.command("export")
@click.argument("slug")
@click.option("--status", default="subscribed", show_default=True,
              type=click.Choice(["subscribed", "unsubscribed", "lapsed", "pending"]))
@with_appcontext
def newsletters_export(slug: str, status: str) -> None:
    """Write the list SLUG's subscribers as CSV to standard output."""
    from service.domain.newsletter.subscriptions import get_list
    from service.domain.newsletter.lists import export_csv
    from service.models import ListStatus

    get_list(slug)  # a clear error for an unknown list before any output
    for line in export_csv(slug, ListStatus(status)):
        click.echo(line, nl=False)


@newsletters_group.command("list")
@with_appcontext
def newsletters_list() -> None:
    """Show the lists, who they are for, and the email provider's id for each."""
    from sqlalchemy import select

    from service.models import Newsletter

    for n in db.session.scalars(select(Newsletter).order_by(Newsletter.id)):
        audience = "members only" if n.members_only else "anyone (double opt-in)" if n.double_opt_in else "anyone"
        click.echo(f"{n.slug:18} {audience:24} provider list: {n.provider_list_id or '(MAILCHIMP_LIST_ID)'}")


@newsletters_group.command("set-provider-list")
@click.argument("slug")
@click.argument("list_id")
@with_appcontext
def newsletters_set_provider_list(slug: str, list_id: str) -> None:
    """Send the list SLUG to the provider's list LIST_ID (a Mailchimp audience id).

    Give each list its own audience: lists sharing one would overwrite each other's
    subscription status there.
    """
    from service.domain.newsletter.subscriptions import get_list

    newsletter = get_list(slug)
    if not list_id.strip() or len(list_id) > 255:
        raise click.BadParameter("give the provider's list id, e.g. a1b2c3d4e5", param_hint="LIST_ID")
    newsletter.provider_list_id = list_id.strip()
    db.session.commit()
    click.echo(f"{slug} -> provider list {newsletter.provider_list_id}")


# --- members: CSV import and export ------------------------------------------------------


@main.group("members")
def members_group() -> None:
    """Members as CSV: import from another system, export a search."""


@members_group.command("import")
@click.argument("file", type=click.File("r", encoding="utf-8-sig"))
@click.option("--dry-run", is_flag=True, help="Check every row and report errors; change nothing.")
@with_appcontext
def members_import(file: Any, dry_run: bool) -> None:
    """Create members from FILE.csv (columns: email,name,stripe_customer_id,comp_until,newsletters)."""
    from tqdm import tqdm

    from service.db import utcnow
    from service.domain.members.csv_io import import_members

    with tqdm(desc="rows", unit=" row") as bar:
        report = import_members(file, utcnow(), dry_run=dry_run, tick=bar.update)
    if not dry_run:
        db.session.commit()
    for line, message in report.errors:
        click.echo(f"line {line}: {message}", err=True)
    verb = "would create" if dry_run else "created"
    click.echo(f"{verb} {report.created} member(s); {len(report.errors)} row(s) with errors")
    if report.errors:
        raise SystemExit(1)


@members_group.command("export")
@click.option("--status", type=click.Choice(["pending", "active", "past_due", "lapsed", "comped"]))
@click.option("--q", "q", help="Email prefix or name substring, as in the console and the API.")
@click.option("--plan", help="Plan code, e.g. monthly-5.")
@with_appcontext
def members_export(status: str | None, q: str | None, plan: str | None) -> None:
    """Write matching members as CSV to standard output (formula-like values escaped)."""
    from service.db import utcnow
    from service.domain.members.csv_io import export_rows
    from service.domain.insight.search import MemberFilter
    from service.models import MemberStatus

    f = MemberFilter(q=q, status=MemberStatus(status) if status else None, plan=plan)
    for line in export_rows(f, utcnow(), release=True):
        click.echo(line, nl=False)


def register_cli(app: Flask) -> None:
    """Make the same commands available as `flask --app service ...`; hide extensions' own."""
    for name in [n for n in app.cli.commands if n not in main.commands]:
        app.cli.commands.pop(name)
    for command in main.commands.values():
        app.cli.add_command(command)

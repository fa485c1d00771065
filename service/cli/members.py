"""`membership members`: members as CSV, in from another system and out from a search."""
from __future__ import annotations

from typing import Any

import click
from tqdm import tqdm

from service.cli.base import in_transaction
from service.db import utcnow
from service.domain.insight.search import MemberFilter
from service.domain.members.csv_io import export_rows, import_members
from service.models import MemberStatus


@click.group("members")
def members_group() -> None:
    """Members as CSV: import from another system, export a search."""


@members_group.command("import")
@click.argument("file", type=click.File("r", encoding="utf-8-sig"))
@click.option("--dry-run", is_flag=True, help="Check every row and report errors; change nothing.")
@in_transaction
def members_import(file: Any, dry_run: bool) -> int:
    """Create members from FILE.csv (columns: email,name,stripe_customer_id,comp_until,newsletters)."""
    with tqdm(desc="rows", unit=" row") as bar:
        report = import_members(file, utcnow(), dry_run=dry_run, tick=bar.update)
    for line, message in report.errors:
        click.echo(f"line {line}: {message}", err=True)
    verb = "would create" if dry_run else "created"
    click.echo(f"{verb} {report.created} member(s); {len(report.errors)} row(s) with errors")
    return 1 if report.errors else 0


@members_group.command("export")
@click.option("--status", type=click.Choice(["pending", "active", "past_due", "lapsed", "comped"]))
@click.option("--q", "q", help="Email prefix or name substring, as in the console and the API.")
@click.option("--plan", help="Plan code, e.g. monthly-5.")
@in_transaction
def members_export(status: str | None, q: str | None, plan: str | None) -> None:
    """Write matching members as CSV to standard output (formula-like values escaped)."""
    f = MemberFilter(q=q, status=MemberStatus(status) if status else None, plan=plan)
    for line in export_rows(f, utcnow(), release=True):
        click.echo(line, nl=False)

"""`membership statements`: annual giving statements, one PDF per donor and fiscal year."""
from __future__ import annotations

import logging
from collections import Counter
from datetime import datetime

import click
from tqdm import tqdm

from service.cli.base import in_transaction
from service.db import utcnow
from service.domain.giving import donors, statements
from service.errors import ValidationFailed
from service.jobs import run_each
from service.logs import log_event
from service.money import format_totals

logger = logging.getLogger(__name__)


@click.group("statements")
def statements_group() -> None:
    """Annual giving statements: one PDF per donor and fiscal year, net of refunds."""


@statements_group.command("build")
@click.option("--year", type=int, required=True, metavar="YYYY",
              help="The fiscal year, named by the year it ends in: with FISCAL_YEAR_START_MONTH=7, 2026 means "
                   "1 July 2025 to 30 June 2026; with the default (1) it is the calendar year.")
@click.option("--send", is_flag=True,
              help="Also queue an email with the PDF to each donor whose statement is new, changed or not yet sent "
                   "(`membership worker` delivers them). Statements already sent unchanged are not sent again.")
@click.option("--dry-run", is_flag=True, help="Count donors and totals and say what would happen; write and send nothing.")
@in_transaction
def statements_build(year: int, send: bool, dry_run: bool) -> int:
    """Build (or rebuild) the statement of every donor who gave in fiscal year YYYY.

    Each donor's statement lists their contributions in the year (date, receipt number, kind,
    amount, refunded, disputed, net) with totals per currency net of refunds and disputes.
    Re-running is safe: unchanged statements stay as they are, and one changed by a later
    refund is marked unsent again (and sent again with --send). Donors are handled one at
    a time, each in its own transaction, so a failure for one leaves the others done.
    """
    now = utcnow()
    fiscal = _year(year, now)
    how_many = donors.count_donors(fiscal)
    click.echo(f"Fiscal year {fiscal.year}: {fiscal.period} (UTC)")
    if fiscal.end > now:
        click.echo("Note: this fiscal year is not over; statements cover contributions paid until now.")
    click.echo(f"{how_many} donor(s); totals net of refunds and disputes: {format_totals(donors.year_totals(fiscal))}")
    counts, failed = _run(fiscal, now, how_many, send=send, dry_run=dry_run)
    click.echo(_summary(counts, send=send, dry_run=dry_run))
    if failed:
        click.echo(f"{failed} donor(s) failed (see the log); run the command again to retry them.", err=True)
    return 1 if failed else 0


def _year(year: int, now: datetime) -> statements.FiscalYear:
    try:
        return statements.past_or_current_year(year, now)
    except ValidationFailed as exc:
        raise click.BadParameter(exc.message, param_hint="'--year'") from None


def _run(fiscal: statements.FiscalYear, now: datetime, total: int, *, send: bool, dry_run: bool) -> tuple[Counter[str], int]:
    """Every donor: in a dry run all in this (read-only) transaction, otherwise each in its own."""
    counts: Counter[str] = Counter()

    def one(member_id: int) -> None:
        outcome = statements.build(member_id, fiscal, now, send=send, dry_run=dry_run)
        if outcome is not None:
            counts[outcome.change] += 1
            counts["sent"] += outcome.sent

    def failed(member_id: int, exc: Exception) -> None:
        counts["failed"] += 1
        log_event(logger, "statement.failed", level=logging.WARNING, member_id=member_id, fiscal_year=fiscal.year,
                  error=type(exc).__name__)

    with tqdm(total=total, desc=f"FY{fiscal.year}", unit=" donor") as bar:
        if dry_run:
            for member_id in donors.donor_ids(fiscal):
                one(member_id)
                bar.update()
        else:
            run_each(donors.donor_ids(fiscal), one, on_failure=failed, tick=bar.update)
    return counts, counts["failed"]


def _summary(counts: Counter[str], *, send: bool, dry_run: bool) -> str:
    built = sum(counts[c] for c in statements.Change)
    detail = ", ".join(f"{counts[c]} {c}" for c in statements.Change)
    if dry_run:
        said = f"Dry run: would build {built} statement(s) ({detail})"
        return said + (f"; would send {counts['sent']}. Nothing was written." if send else ". Nothing was written.")
    said = f"Built {built} statement(s) ({detail})"
    return said + (f"; queued {counts['sent']} email(s) for the worker to deliver." if send else ".")

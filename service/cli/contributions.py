"""`membership contributions`: contributions as CSV for the accountant."""
from __future__ import annotations

from datetime import datetime
from typing import IO

import click
from tqdm import tqdm

from service.cli.base import in_transaction
from service.domain.insight.contributions import ContributionFilter, export_lines, totals

DAY = click.DateTime(formats=["%Y-%m-%d"])


@click.group("contributions")
def contributions_group() -> None:
    """Contributions (every payment a reader made) for the accountant."""


@contributions_group.command("export")
@click.option("--since", type=DAY, metavar="YYYY-MM-DD", help="Paid on or after this day (UTC).")
@click.option("--until", type=DAY, metavar="YYYY-MM-DD", help="Paid on or before this day (UTC; the whole day is included).")
@click.option("--output", "-o", type=click.File("w", encoding="utf-8"), metavar="FILE", default="-", show_default=True,
              help="Write the CSV to FILE instead of standard output ('-').")
@in_transaction
def contributions_export(since: datetime | None, until: datetime | None, output: IO[str]) -> None:
    """Write contributions paid in a period as CSV, newest first.

    \b
    Columns: receipt_number, paid_at, member_id, email, name, anonymous, kind,
    currency, amount, fee_covered, refunded, disputed, net, campaign,
    stripe_invoice_id, stripe_payment_intent_id, stripe_charge_id.

    Amounts are in the currency's major unit (25.00); `net` is the amount less refunds and
    disputes; `anonymous` says the donor asked not to be named in public (the name is still
    given, for the books). Formula-like values are escaped for spreadsheets.
    """
    f = ContributionFilter(since=since.date() if since else None, until=until.date() if until else None)
    if f.since and f.until and f.since > f.until:
        raise click.BadParameter("must not be after --until", param_hint="--since")
    expected = sum(t.count for t in totals(f).values())
    lines = export_lines(f, release=True)
    output.write(next(lines))  # the header
    written = 0
    # The bar goes to standard error, and only on a terminal (disable=None), so the CSV stays clean.
    with tqdm(lines, total=expected, desc="contributions", unit=" row", disable=None) as rows:
        for line in rows:
            output.write(line)
            written += 1
    click.echo(f"exported {written} contribution(s)", err=True)

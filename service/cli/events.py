"""`membership events` and `membership reconcile`: the Stripe event inbox, and bringing
the member store back in line with Stripe."""
from __future__ import annotations

import click
from tqdm import tqdm

from service import jobs
from service.cli.base import in_transaction
from service.db import utcnow
from service.domain.billing.inbox import count_dead, count_failed
from service.gateways import payments


@click.group("events")
def events_group() -> None:
    """The Stripe event inbox."""


@events_group.command("retry")
@click.option("--all", "everything", is_flag=True, help="Also retry failed events whose next attempt is not due yet.")
@click.option("--dead", "revive", is_flag=True,
              help="Also give dead events (those that failed INBOX_MAX_ATTEMPTS times) a fresh start.")
@click.option("--limit", default=1000, show_default=True, type=click.IntRange(1), help="At most this many events.")
@in_transaction
def events_retry(everything: bool, revive: bool, limit: int) -> int:
    """Re-apply failed (and stuck) inbox events. Applying is idempotent."""
    now = utcnow()
    if revive:
        click.echo(f"revived {jobs.revive_dead_events(now)} dead event(s)")
    tried = jobs.retry_events(now, payments(), limit, include_not_due=everything or revive)
    failed = count_failed()
    click.echo(f"retried {tried} event(s); {failed} still failing, {count_dead()} dead")
    return 1 if failed and tried else 0


@click.command("reconcile")
@in_transaction
def reconcile_command() -> int:
    """Re-sync every Stripe subscription, apply events of the last 30 days that never
    arrived, and report what changed, for whom."""
    bars = {"subscriptions": tqdm(desc="subscriptions", unit=" sub"), "events": tqdm(desc="events", unit=" evt")}
    report = jobs.reconcile(payments(), utcnow(), tick=lambda what: bars[what].update())
    for bar in bars.values():
        bar.close()
    click.echo(f"{report.subscriptions} subscription(s) checked, {len(report.drift)} member(s) changed, "
               f"{report.unknown} not ours, {report.failed} failed; "
               f"{report.events_missing} missed event(s) found, {report.events_applied} applied")
    for d in report.drift:
        click.echo(f"  member {d.member_id} {d.email}: {d.before} -> {d.after} ({d.subscription_id})")
    return 1 if report.failed else 0

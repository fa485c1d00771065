"""`membership worker` and `membership outbox`: background jobs, and messages waiting to go out."""
from __future__ import annotations

import click
from flask import current_app

from service.cli.base import in_transaction
from service.config import MAX_WORKER_THREADS
from service.domain.outbox import dead_messages, retry_dead, status_counts
from service.jobs import Worker


@click.command("worker")
@click.option("--once", is_flag=True, help="Run every job once and exit.")
@click.option("--interval", default=5.0, show_default=True, type=click.FloatRange(min=0.01),
              help="Seconds to sleep when a pass found nothing to do.")
@click.option("--threads", type=click.IntRange(min=1, max=MAX_WORKER_THREADS), default=None,
              help="Threads applying Stripe events, each with its own database connection (PostgreSQL only; "
                   "default: WORKER_THREADS).")
@in_transaction
def worker(once: bool, interval: float, threads: int | None) -> None:
    """Deliver outbox messages (emails, list changes) and run the other background jobs until stopped."""
    runner = Worker(interval=interval, threads=threads or current_app.config["WORKER_THREADS"])
    if not once:
        runner.install_signal_handlers()
    handled = runner.run(once=once)
    click.echo(f"worker stopped; handled {handled}")


@click.group("outbox")
def outbox_group() -> None:
    """Messages waiting to go out: emails and newsletter list changes."""


@outbox_group.command("status")
@click.option("--dead", "show_dead", default=20, show_default=True, help="How many dead messages to list.")
@in_transaction
def outbox_status(show_dead: int) -> None:
    """Count messages by status and list the newest dead ones with their last error."""
    click.echo("  ".join(f"{status}={count}" for status, count in status_counts().items()))
    for message in dead_messages(show_dead):
        click.echo(f"dead {message.id:>8} {message.topic:16} attempts={message.attempts} {message.last_error or ''}")


@outbox_group.command("retry")
@click.argument("ids", nargs=-1, type=int)
@click.option("--all", "retry_all", is_flag=True, help="Retry every dead message.")
@in_transaction
def outbox_retry(ids: tuple[int, ...], retry_all: bool) -> None:
    """Queue dead messages (IDS, or --all) for delivery again, with a fresh attempt count."""
    if bool(ids) == retry_all:
        raise click.UsageError("Give message IDS or --all (not both).")
    count = retry_dead(None if retry_all else ids)
    click.echo(f"queued {count} message(s) again")

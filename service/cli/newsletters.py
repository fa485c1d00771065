"""`membership newsletters`: the lists, their subscribers, and their audience at the provider."""
from __future__ import annotations

import click

from service.cli.base import in_transaction
from service.domain.newsletter.lists import all_lists, export_csv, get_list, set_provider_list
from service.models import ListStatus


@click.group("newsletters")
def newsletters_group() -> None:
    """Newsletter lists and their subscribers."""


@newsletters_group.command("export")
@click.argument("slug")
@click.option("--status", default="subscribed", show_default=True,
              type=click.Choice(["subscribed", "unsubscribed", "lapsed", "pending"]))
@in_transaction
def newsletters_export(slug: str, status: str) -> None:
    """Write the list SLUG's subscribers as CSV to standard output."""
    get_list(slug)  # a clear error for an unknown list before any output
    for line in export_csv(slug, ListStatus(status)):
        click.echo(line, nl=False)


@newsletters_group.command("list")
@in_transaction
def newsletters_list() -> None:
    """Show the lists, who they are for, and the email provider's id for each."""
    for n in all_lists():
        audience = "members only" if n.members_only else "anyone (double opt-in)" if n.double_opt_in else "anyone"
        click.echo(f"{n.slug:18} {audience:24} provider list: {n.provider_list_id or '(MAILCHIMP_LIST_ID)'}")


@newsletters_group.command("set-provider-list")
@click.argument("slug")
@click.argument("list_id")
@in_transaction
def newsletters_set_provider_list(slug: str, list_id: str) -> None:
    """Send the list SLUG to the provider's list LIST_ID (a Mailchimp audience id).

    Give each list its own audience: lists sharing one would overwrite each other's
    subscription status there.
    """
    if not list_id.strip() or len(list_id) > 255:
        raise click.BadParameter("give the provider's list id, e.g. a1b2c3d4e5", param_hint="LIST_ID")
    newsletter = set_provider_list(slug, list_id.strip())
    click.echo(f"{slug} -> provider list {newsletter.provider_list_id}")

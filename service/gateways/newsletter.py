"""The email provider that holds newsletter lists, chosen by NEWSLETTER_PROVIDER.

    local       the list lives in our database (API and CSV export); nothing to call
    mailchimp   Mailchimp Marketing API v3 (see newsletter_mailchimp.py)

The outbox calls the provider with one subscriber's desired state at a time.
Calls must be idempotent: delivery is at least once, so the same call may
arrive twice, and a later call always carries the full state to converge on.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Protocol

from service.logs import log_event

logger = logging.getLogger(__name__)


class ProviderError(Exception):
    """The provider refused or could not be reached. `permanent` means retrying cannot help."""

    def __init__(self, message: str, *, permanent: bool = False):
        super().__init__(message)
        self.permanent = permanent


@dataclass(frozen=True)
class Subscriber:
    """One address on one list, as the provider should have it. A member's address also carries
    merge fields (tag -> text) and tags (name -> whether it should be on), so newsrooms can
    segment the list by membership; the provider sets the ones it supports."""

    list_slug: str
    list_id: str | None  # the provider's id for the list, when it has one
    email: str
    first_name: str = ""
    last_name: str = ""
    merge_fields: dict[str, str] = field(default_factory=dict)
    tags: dict[str, bool] = field(default_factory=dict)


class NewsletterProvider(Protocol):
    """Keeps the provider's copy of a list in step with ours. Raises `ProviderError`."""

    # Whether it keeps a member's merge fields and tags, which then follow their status and giving.
    keeps_fields: bool

    def upsert(self, subscriber: Subscriber) -> None:
        """Make the address a subscribed member of the list (creating it if new)."""

    def remove(self, subscriber: Subscriber, *, reason: str) -> None:
        """Stop sending to the address. `reason` is the list status: unsubscribed or lapsed."""


class LocalProvider:
    """The list lives here: subscribers are read from our tables (API, CSV). Nothing to send."""

    keeps_fields = False

    def upsert(self, subscriber: Subscriber) -> None:
        log_event(logger, "newsletter.local_upsert", list=subscriber.list_slug, level=logging.DEBUG)

    def remove(self, subscriber: Subscriber, *, reason: str) -> None:
        log_event(logger, "newsletter.local_remove", list=subscriber.list_slug, reason=reason, level=logging.DEBUG)

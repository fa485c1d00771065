"""Mailchimp Marketing API v3 as the newsletter provider.

- Upsert: `PUT /lists/{list_id}/members/{md5(lowercased email)}` with
  `status_if_new` and `status` both "subscribed" and the FNAME/LNAME merge
  fields, plus a member's STATUS, PLAN, JOINED, RENEWS, GIVEN and CAMPAIGN (the
  audience needs those merge fields, as text fields). PUT is Mailchimp's
  add-or-update, so repeating it is harmless.
  https://mailchimp.com/developer/marketing/api/list-members/add-or-update-list-member/
- Tags: then `POST .../members/{hash}/tags` with each tag `active` or `inactive`
  (a member's status and plan tags: the current one on, the others off).
  https://mailchimp.com/developer/marketing/api/list-member-tags/add-or-remove-member-tags/
- Removal, per MAILCHIMP_REMOVAL: `archive` sends `DELETE` on the same path
  (a 404 means already gone), `unsubscribe` sends the PUT with status "unsubscribed".
- Auth: HTTP basic with any user name and the API key; the data centre is the
  key's suffix (`...-us6` -> https://us6.api.mailchimp.com/3.0) unless
  MAILCHIMP_API_BASE says otherwise (tests).
- 429 and 5xx are temporary (the outbox retries later); other 4xx are permanent.
"""
from __future__ import annotations

import hashlib
import logging
from typing import Any

import requests

from service.gateways.newsletter import ProviderError, Subscriber
from service.logs import log_event

logger = logging.getLogger(__name__)
TIMEOUT = (5, 15)  # connect, read (seconds)
REMOVALS = ("archive", "unsubscribe")


def api_base_for_key(api_key: str) -> str:
    """Mailchimp keys end in their data centre: "0123abcd-us6" -> https://us6.api.mailchimp.com/3.0."""
    _, dash, dc = api_key.rpartition("-")
    if not dash or not dc.isalnum():
        raise ValueError("MAILCHIMP_API_KEY should end in its data centre, like ...-us6 (or set MAILCHIMP_API_BASE)")
    return f"https://{dc}.api.mailchimp.com/3.0"


def subscriber_hash(email: str) -> str:
    return hashlib.md5(email.strip().lower().encode(), usedforsecurity=False).hexdigest()


class MailchimpProvider:
    keeps_fields = True

    def __init__(self, api_key: str, *, api_base: str, default_list_id: str | None = None,
                 removal: str = "archive", session: requests.Session | None = None):
        if removal not in REMOVALS:
            raise ValueError(f"MAILCHIMP_REMOVAL must be archive or unsubscribe, got {removal!r}")
        self.api_base = api_base.rstrip("/")
        self.default_list_id = default_list_id
        self.removal = removal
        self.http = session or requests.Session()
        self.http.auth = ("membership", api_key)

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> MailchimpProvider:
        key = config["MAILCHIMP_API_KEY"]
        return cls(key, api_base=config["MAILCHIMP_API_BASE"] or api_base_for_key(key),
                   default_list_id=config["MAILCHIMP_LIST_ID"] or None, removal=config["MAILCHIMP_REMOVAL"])

    def upsert(self, subscriber: Subscriber) -> None:
        self._put(subscriber, "subscribed")
        if subscriber.tags:
            tags = [{"name": name, "status": "active" if on else "inactive"} for name, on in sorted(subscriber.tags.items())]
            self._call("POST", self._path(subscriber) + "/tags", subscriber, json={"tags": tags})

    def remove(self, subscriber: Subscriber, *, reason: str) -> None:
        if self.removal == "unsubscribe":
            self._put(subscriber, "unsubscribed")
        else:
            self._call("DELETE", self._path(subscriber), subscriber, ok_missing=True)

    def _put(self, subscriber: Subscriber, status: str) -> None:
        body = {
            "email_address": subscriber.email,
            "status_if_new": status,
            "status": status,
            "merge_fields": {"FNAME": subscriber.first_name, "LNAME": subscriber.last_name, **subscriber.merge_fields},
        }
        self._call("PUT", self._path(subscriber), subscriber, json=body)

    def _path(self, subscriber: Subscriber) -> str:
        list_id = subscriber.list_id or self.default_list_id
        if not list_id:
            raise ProviderError(f"no Mailchimp list id for {subscriber.list_slug!r}: set MAILCHIMP_LIST_ID",
                                permanent=True)
        return f"/lists/{list_id}/members/{subscriber_hash(subscriber.email)}"

    def _call(self, method: str, path: str, subscriber: Subscriber, *, ok_missing: bool = False,
              json: dict[str, Any] | None = None) -> None:
        try:
            response = self.http.request(method, self.api_base + path, json=json, timeout=TIMEOUT)
        except requests.RequestException as exc:
            raise ProviderError(f"Mailchimp unreachable: {type(exc).__name__}") from None
        status = response.status_code
        if status < 300 or (ok_missing and status == 404):
            log_event(logger, "mailchimp.ok", method=method, list=subscriber.list_slug, status=status)
            return
        detail = _problem(response)
        permanent = status != 429 and status < 500
        raise ProviderError(f"Mailchimp {method} answered {status}: {detail}", permanent=permanent)


def _problem(response: requests.Response) -> str:
    """Mailchimp errors are RFC 7807 problem documents; keep the title and detail, not the body."""
    try:
        body = response.json()
    except ValueError:
        return response.reason or "no detail"
    return f"{body.get('title', '')}: {body.get('detail', '')}".strip(": ")[:500]

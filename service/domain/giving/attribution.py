"""Attribution: which campaign, link or referrer brought a reader (DESIGN.md "Attribution").

The `utm_*`, `campaign` and `referral` parameters of a landing URL travel through
the join, give and gift forms (as hidden fields), into the Checkout Session's
metadata, and onto the contribution and the member: the first touch is kept
forever, the latest is replaced by each checkout that carries any. A value that
is too long or not plain text is dropped, never an error: a landing link must
always work.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import select

from service.extensions import db
from service.models import ATTRIBUTION_KEYS, CheckoutAttempt, Member

MAX_LENGTH = 100
# Letters, digits and the punctuation campaign tools use; no control characters or markup.
PLAIN = re.compile(r"^[\w .,:;/@+\-|~()]+$", re.UNICODE)


def clean(params: Mapping[str, Any]) -> dict[str, str]:
    """The attribution parameters in `params` that are usable, trimmed; unknown keys ignored."""
    found = {}
    for key in ATTRIBUTION_KEYS:
        value = params.get(key)
        if isinstance(value, str):
            value = value.strip()
            if value and len(value) <= MAX_LENGTH and PLAIN.match(value):
                found[key] = value
    return found


def campaign_of(attribution: Mapping[str, str]) -> str | None:
    """The campaign to report under: `campaign` if given, else `utm_campaign`."""
    return attribution.get("campaign") or attribution.get("utm_campaign") or None


def to_metadata(attribution: Mapping[str, str]) -> dict[str, str]:
    """Checkout metadata keys for the attribution (Stripe allows 50 keys of up to 500 characters)."""
    return {f"attr_{key}": value for key, value in attribution.items()}


def from_metadata(metadata: Mapping[str, Any] | None) -> dict[str, str]:
    """The attribution a Stripe object's metadata carries (as `to_metadata` wrote it)."""
    return clean({key.removeprefix("attr_"): value for key, value in (metadata or {}).items()
                  if key.startswith("attr_")})


def touch(member: Member, attribution: Mapping[str, str], now: datetime) -> None:
    """Record a checkout's attribution on the member: first touch once, latest touch each time."""
    if not attribution:
        return
    stamped = {**attribution, "at": now.isoformat()}
    if member.first_touch is None:
        member.first_touch = stamped
    member.latest_touch = stamped


def checkout_attribution(session: Mapping[str, Any], details: Mapping[str, Any] | None = None) -> dict[str, str]:
    """What a Checkout Session's landing carried: from our checkout attempt's `details` (read here
    when the caller has not), else the session's metadata."""
    if details is None:
        details = db.session.scalar(select(CheckoutAttempt.details)
                                    .where(CheckoutAttempt.stripe_checkout_session_id == session["id"]))
    return clean((details or {}).get("attribution") or {}) or from_metadata(session.get("metadata"))

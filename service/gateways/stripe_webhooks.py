"""Verifying Stripe's webhook signatures, with every configured secret (for rotation)."""
from __future__ import annotations

import json
from typing import Any

import stripe

from service.errors import WebhookSignatureInvalid

TOLERANCE_SECONDS = 300


def verify_event(payload: bytes, signature: str | None, secrets: list[str],
                 tolerance: int = TOLERANCE_SECONDS) -> dict[str, Any]:
    """The event in a webhook body, once a configured secret's signature on it checks out.

    Raises WebhookSignatureInvalid for a missing, malformed, forged or stale
    signature, or a body that is not a JSON event.
    """
    if not signature:
        raise WebhookSignatureInvalid("Missing Stripe-Signature header.")
    try:
        text = payload.decode("utf-8")  # Stripe sends UTF-8 JSON; the SDK would fail on anything else
    except UnicodeDecodeError:
        raise WebhookSignatureInvalid("The body is not UTF-8 text.") from None
    for secret in secrets:
        try:
            stripe.WebhookSignature.verify_header(text, signature, secret, tolerance)
            break
        except (stripe.SignatureVerificationError, ValueError):
            continue
    else:
        raise WebhookSignatureInvalid("No valid signature for this body with any configured secret (or it is too old).")
    try:
        event = json.loads(text)
    except ValueError:
        raise WebhookSignatureInvalid("The body is not JSON.") from None
    if not isinstance(event, dict) or not isinstance(event.get("id"), str) or not isinstance(event.get("type"), str):
        raise WebhookSignatureInvalid("The body is not a Stripe event.")
    return event

"""`POST /webhooks/stripe`: accept fast, never lose, never double-apply.

1. Verify the raw body against every configured secret: 400 and nothing stored
   on a bad signature.
2. Store the event (insert-or-ignore by id). With WEBHOOK_APPLY_INLINE=false
   (the recommended production setup: docs/operations.md), commit and answer:
   `membership worker` applies it. A storage failure answers 5xx, so Stripe retries.
3. Otherwise apply it in the same transaction, then commit and answer. A failure
   is rolled back and the event is stored with the failure recorded on it, for
   the worker to retry with backoff; the answer is still 2xx, because the event
   is safe with us. Only if even that cannot be committed (the database is gone)
   does the request end in a 5xx, and Stripe retries.
Emails and list changes that applying queued are never delivered in this
request: the worker sends them, so Stripe's answer waits for nothing slow
(https://docs.stripe.com/webhooks#acknowledge-events-immediately).
"""
from __future__ import annotations

from flask import Blueprint, current_app, jsonify, request

from service.db import utcnow
from service.extensions import csrf, limiter
from service.gateways import payments
from service.gateways.stripe_webhooks import verify_event
from service.jobs import receive_event

bp = Blueprint("webhooks", __name__, url_prefix="/webhooks")
csrf.exempt(bp)  # Stripe signs its requests; there is no browser session to forge
limiter.exempt(bp)


@bp.post("/stripe")
def stripe_webhook():
    event = verify_event(request.get_data(), request.headers.get("Stripe-Signature"),
                         current_app.config["STRIPE_WEBHOOK_SECRETS"])
    status = receive_event(event, payments(), utcnow(), apply_now=current_app.config["WEBHOOK_APPLY_INLINE"])
    return jsonify(received=True, status=str(status) if status is not None else "stored")

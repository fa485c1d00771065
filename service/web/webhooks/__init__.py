"""`POST /webhooks/stripe`: accept fast, never lose, never double-apply.

1. Verify the raw body against every configured secret: 400 and nothing stored
   on a bad signature.
2. Store the event (insert-or-ignore by id) and commit: from here it cannot be
   lost. A storage failure answers 5xx, so Stripe retries.
3. Apply it, in its own transaction. A failure is recorded on the inbox row and
   the worker retries it with backoff; the answer is still 2xx, because the event
   is safe with us. Only if even recording the failure fails (the database is
   gone) does the request end in a 5xx, and Stripe retries.
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

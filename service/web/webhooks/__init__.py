"""`POST /webhooks/stripe`: accept fast, never lose, never double-apply.

1. Verify the raw body against every configured secret: 400 and nothing stored
   on a bad signature.
2. Store the event (insert-or-ignore by id) and commit: from here it cannot be
   lost. A storage failure answers 5xx, so Stripe retries.
3. Apply it, in its own transaction. A failure is recorded on the inbox row and
   answered 5xx, so both Stripe and our worker retry; applying is idempotent.
"""
from __future__ import annotations

from flask import Blueprint, current_app, jsonify, request

from service.db import utcnow
from service.domain import inbox
from service.extensions import csrf, db, limiter
from service.gateways import billing
from service.gateways.stripe_webhooks import verify_event
from service.models import InboxStatus

bp = Blueprint("webhooks", __name__, url_prefix="/webhooks")
csrf.exempt(bp)  # Stripe signs its requests; there is no browser session to forge
limiter.exempt(bp)


@bp.post("/stripe")
def stripe_webhook():
    event = verify_event(request.get_data(), request.headers.get("Stripe-Signature"),
                         current_app.config["STRIPE_WEBHOOK_SECRETS"])
    now = utcnow()
    inbox.store(event, now)
    db.session.commit()
    if not current_app.config["WEBHOOK_APPLY_INLINE"]:
        return jsonify(received=True, status="stored")
    status = inbox.apply_one(event["id"], billing(), now)
    if status is InboxStatus.FAILED:
        return jsonify(error={"code": "apply_failed",
                              "message": "Stored; applying failed and will be retried."}), 500
    return jsonify(received=True, status=str(status))

"""Admins: outgoing webhook endpoints, their delivery logs and replays (every change audited)."""
from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for

from service.db import utcnow
from service.domain.integrations import endpoints as hooks
from service.domain.integrations.webhooks import ALL_EVENTS, EVENT_TYPES
from service.models import Role
from service.schemas import cursor_value
from service.schemas.staff import load
from service.schemas.webhooks import WebhookDeliveryQuery, WebhookEndpointIn
from service.web.staff.base import bp, signed_in_staff, staff_required


def _list_page(secret: str | None = None, created: object = None) -> str:
    return render_template("staff/webhooks.html", endpoints=hooks.endpoints(), event_types=EVENT_TYPES,
                           all_events=ALL_EVENTS, secret=secret, created=created)


def _endpoint_page(endpoint_id: int, secret: str | None = None) -> str:
    args = load(WebhookDeliveryQuery(), {k: v for k, v in request.args.items() if k in ("cursor",)})
    found = hooks.deliveries(endpoint_id, limit=hooks.LOG_PAGE + 1, before=cursor_value(args))
    page = found[:hooks.LOG_PAGE]
    return render_template("staff/webhook.html", endpoint=hooks.get_endpoint(endpoint_id), deliveries=page,
                           next_cursor=page[-1].row.id if len(found) > hooks.LOG_PAGE else None, secret=secret)


@bp.get("/webhooks")
@staff_required(Role.ADMIN)
def webhooks():
    return _list_page()


@bp.post("/webhooks")
@staff_required(Role.ADMIN, recent=True)
def create_webhook():
    form = load(WebhookEndpointIn(), {"url": request.form.get("url", ""), "description": request.form.get("description", ""),
                                      "event_types": request.form.getlist("event_types")})
    endpoint, secret = hooks.create_endpoint(signed_in_staff(), form["url"], form["event_types"], form["description"], utcnow())
    # Shown once, in this response only.
    return _list_page(secret=secret, created=endpoint)


@bp.get("/webhooks/<int:endpoint_id>")
@staff_required(Role.ADMIN)
def webhook(endpoint_id: int):
    return _endpoint_page(endpoint_id)


@bp.post("/webhooks/<int:endpoint_id>/rotate")
@staff_required(Role.ADMIN, recent=True)
def rotate_webhook_secret(endpoint_id: int):
    _endpoint, secret = hooks.rotate_secret(signed_in_staff(), endpoint_id, utcnow())
    return _endpoint_page(endpoint_id, secret=secret)


@bp.post("/webhooks/<int:endpoint_id>/enabled")
@staff_required(Role.ADMIN, recent=True)
def set_webhook_enabled(endpoint_id: int):
    enabled = request.form.get("enabled") == "true"
    endpoint = hooks.set_enabled(signed_in_staff(), endpoint_id, enabled, utcnow())
    flash(f"{endpoint.url} is {'enabled' if enabled else 'disabled'}.", "info")
    return redirect(url_for("staff.webhook", endpoint_id=endpoint_id), code=303)


@bp.post("/webhooks/<int:endpoint_id>/delete")
@staff_required(Role.ADMIN, recent=True)
def delete_webhook(endpoint_id: int):
    hooks.delete_endpoint(signed_in_staff(), endpoint_id, utcnow())
    flash("Webhook endpoint deleted.", "info")
    return redirect(url_for("staff.webhooks"), code=303)


@bp.post("/webhooks/<int:endpoint_id>/deliveries/<int:delivery_id>/replay")
@staff_required(Role.ADMIN, recent=True)
def replay_webhook_delivery(endpoint_id: int, delivery_id: int):
    event = hooks.replay(signed_in_staff(), endpoint_id, delivery_id, utcnow())
    flash(f"Event {event.public_id} queued again; the worker sends it in a moment.", "info")
    return redirect(url_for("staff.webhook", endpoint_id=endpoint_id), code=303)

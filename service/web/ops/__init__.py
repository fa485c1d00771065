"""Health, readiness and metrics endpoints for load balancers, orchestrators and Prometheus."""
from __future__ import annotations

import hmac

from flask import Blueprint, Response, current_app, jsonify, request
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from service.db import utcnow
from service.domain.insight.metrics import snapshot
from service.errors import Unauthorized
from service.extensions import db
from service.web.ops.prometheus import prometheus_text

bp = Blueprint("ops", __name__)


@bp.get("/healthz")
def healthz():
    """The process is up and serving requests."""
    return jsonify(status="ok")


@bp.get("/readyz")
def readyz():
    """The database answers; 503 tells the load balancer to send traffic elsewhere."""
    try:
        db.session.execute(text("SELECT 1"))
    except SQLAlchemyError:
        db.session.rollback()
        return jsonify(status="unavailable", database="unreachable"), 503
    return jsonify(status="ok", database="ok")


@bp.get("/metrics")
def metrics():
    """Prometheus scrape target: inbox, outbox and member figures from the database.
    With METRICS_TOKEN set, only a scraper presenting it gets them."""
    expected = current_app.config["METRICS_TOKEN"]
    given = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
    if expected and not hmac.compare_digest(given.encode(), expected.encode()):
        raise Unauthorized("Send the metrics token as 'Authorization: Bearer <token>'.")
    return Response(prometheus_text(snapshot(utcnow())), mimetype="text/plain; version=0.0.4")

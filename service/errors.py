"""Domain exceptions, and the one place that turns them (and HTTP errors) into responses.

Clients that ask for JSON (the API, webhooks, `Accept: application/json`) get
`{"error": {"code": ..., "message": ...}}`; browsers get an HTML page.
"""
from __future__ import annotations

import logging
from typing import Any

from flask import Flask, Response, jsonify, render_template, request
from flask_babel import gettext
from werkzeug.exceptions import HTTPException

from service.extensions import db
from service.i18n import N_
from service.logs import log_event

logger = logging.getLogger(__name__)
# What werkzeug and Flask-WTF say for the HTTP errors a reader can meet, in the catalog so that error
# pages speak the reader's language (in English they read exactly as werkzeug writes them).
HTTP_MESSAGES = (
    N_("The requested URL was not found on the server. If you entered the URL manually please check your spelling and try again."),
    N_("The method is not allowed for the requested URL."),
    N_("The data value transmitted exceeds the capacity limit."),
    N_("The browser (or proxy) sent a request that this server could not understand."),
    N_("The CSRF token is missing."),
    N_("The CSRF session token is missing."),
    N_("The CSRF token has expired."),
    N_("The CSRF token is invalid."),
    N_("The CSRF tokens do not match."),
)


class DomainError(Exception):
    """Base of the service's own errors. `status` and `code` decide the HTTP answer."""

    status = 400
    code = "bad_request"

    def __init__(self, message: str, *, code: str | None = None, fields: dict[str, Any] | None = None):
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        self.fields = fields or {}


class ValidationFailed(DomainError):
    status = 422
    code = "validation_failed"


class ChangeDeclined(ValidationFailed):
    """A change that had to be paid at once and the card refused: nothing was changed."""

    code = "card_declined"


class NotFound(DomainError):
    status = 404
    code = "not_found"


class Conflict(DomainError):
    status = 409
    code = "conflict"


class Unauthorized(DomainError):
    status = 401
    code = "unauthorized"


class Forbidden(DomainError):
    status = 403
    code = "forbidden"


class BillingError(DomainError):
    """Stripe refused a request or could not be reached; the message says which."""

    status = 502
    code = "billing_error"


class BillingUnavailable(BillingError):
    """Stripe could not be reached, or kept failing, after the SDK's retries."""

    status = 503
    code = "billing_unavailable"


class BillingNotFound(BillingError):
    """Stripe has no object with that id."""

    status = 404
    code = "billing_not_found"


class PaymentDeclined(BillingError):
    status = 402
    code = "payment_declined"


class WebhookSignatureInvalid(DomainError):
    """A webhook body that no configured secret signed, or signed too long ago."""

    status = 400
    code = "invalid_signature"


def wants_json() -> bool:
    if request.path.startswith(("/api/", "/webhooks/")):
        return True
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json" and request.accept_mimetypes[best] > request.accept_mimetypes["text/html"]


def error_response(status: int, code: str, message: str, fields: dict[str, Any] | None = None) -> Response:
    if wants_json():
        body: dict[str, Any] = {"code": code, "message": message}
        if fields:
            body["fields"] = fields
        response = jsonify(error=body)
    else:
        response = Response(
            render_template("error.html", status=status, code=code, message=message, fields=fields or {}),
            mimetype="text/html",
        )
    response.status_code = status
    return response


def _domain_error(exc: DomainError) -> Response:
    db.session.rollback()  # nothing half-written: the request's changes go
    response = error_response(exc.status, exc.code, exc.message, exc.fields)
    if exc.status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="membership"'
    return response


def _http_error(exc: HTTPException) -> Response:
    db.session.rollback()
    code = (exc.name or "error").lower().replace(" ", "_")
    message = exc.description or exc.name
    response = error_response(exc.code or 500, code, gettext(message) if message in HTTP_MESSAGES else message)
    for key, value in (exc.get_response().headers.items() if exc.code == 405 else []):
        if key == "Allow":
            response.headers[key] = value
    return response


def _unexpected(exc: Exception) -> Response:
    db.session.rollback()
    log_event(logger, "request.failed", level=logging.ERROR, exc_info=exc, path=request.path)
    return error_response(500, "internal_error", gettext("Something went wrong on our side. It has been logged; please try again."))


def register_error_handlers(app: Flask) -> None:
    app.register_error_handler(DomainError, _domain_error)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _unexpected)

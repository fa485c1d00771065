"""The development server's WSGI stack: the service, with the Stripe sandbox mounted when used."""
from __future__ import annotations

from typing import Any

from flask import Flask
from werkzeug.middleware.dispatcher import DispatcherMiddleware

SANDBOX_MOUNT = "/_sandbox"


def development_app(app: Flask) -> Any:
    """The service, plus the sandbox at /_sandbox when BILLING_BACKEND is sandbox."""
    if app.config["BILLING_BACKEND"] != "sandbox":
        return app
    import stripe_sandbox  # noqa: PLC0415 - development only: production never loads the sandbox

    sandbox = stripe_sandbox.create_app({
        "SANDBOX_DB": app.config["SANDBOX_DB"],
        "SANDBOX_WEBHOOK_URL": f"{app.config['BASE_URL']}/webhooks/stripe",
        "SANDBOX_WEBHOOK_SECRET": app.config["STRIPE_WEBHOOK_SECRETS"][0],
    })
    return DispatcherMiddleware(app, {SANDBOX_MOUNT: sandbox})

"""A local, stateful stand-in for the part of Stripe's API the membership service uses.

The service reaches it only through the official `stripe` SDK
(`base_addresses={"api": BASE}`), so the same code runs against Stripe and
against the sandbox. See README section in DESIGN.md "The Stripe sandbox".

Public API:
    create_app(config=None) -> Flask   the WSGI app (mount it anywhere)
    deliver_pending(app, force=False)  deliver due webhooks synchronously
    advance_clock(app, days=0, seconds=0)  move sandbox time and run what fell due
"""
from flask import Flask

from .config import DEFAULTS, as_bool, validate
from .state import EXTENSION, Sandbox
from .store import Store
from .webhooks import Dispatcher

__all__ = ["create_app", "deliver_pending", "advance_clock", "sandbox_of"]


def create_app(config: dict | None = None) -> Flask:
    """Build the sandbox app.

    Config keys (see config.py for defaults): SANDBOX_DB, SANDBOX_WEBHOOK_URL,
    SANDBOX_WEBHOOK_SECRET, SANDBOX_DUNNING_FINAL, SANDBOX_RETRY_DAYS,
    SANDBOX_DELIVER_WEBHOOKS, SANDBOX_WEBHOOK_MAX_ATTEMPTS, SANDBOX_WEBHOOK_BACKOFF,
    SANDBOX_WEBHOOK_BACKOFF_CAP, SANDBOX_WEBHOOK_TIMEOUT. Raises ValueError for
    invalid settings.
    """
    app = Flask(__name__)
    app.config.from_mapping(DEFAULTS)
    app.config.update(config or {})
    validate(app.config)
    init_state(app)
    register_blueprints(app)
    return app


def init_state(app: Flask) -> None:
    settings = {key: app.config[key] for key in DEFAULTS}
    store = Store(settings["SANDBOX_DB"])
    sb = Sandbox(config=settings, store=store, webhooks=Dispatcher(store, settings))
    app.extensions[EXTENSION] = sb
    if as_bool(settings["SANDBOX_DELIVER_WEBHOOKS"]):
        sb.webhooks.start()


def register_blueprints(app: Flask) -> None:
    from . import api, control, pages, pages_portal, resources  # noqa: F401  (resources registers /v1 routes)

    app.register_blueprint(api.bp)
    app.register_blueprint(control.bp)
    app.register_blueprint(pages.bp)
    app.register_blueprint(pages_portal.bp)


def sandbox_of(app: Flask) -> Sandbox:
    """The sandbox state behind an app (store, webhooks, config); `.close()` stops it."""
    return app.extensions[EXTENSION]


def deliver_pending(app: Flask, force: bool = False) -> int:
    """Attempt every webhook delivery that is due now, in this thread.

    Returns the number of attempts. Paused deliveries are held unless `force`.
    Failed attempts are rescheduled with backoff, as the background thread does.
    """
    return sandbox_of(app).webhooks.deliver_due(force=force)


def advance_clock(app: Flask, days: float = 0, seconds: float = 0,
                  base_url: str = "http://127.0.0.1/") -> dict:
    """Advance sandbox time like POST /sandbox/clock/advance, and return its JSON.

    `base_url` is the root the sandbox is reached at; it goes into the
    hosted-invoice URLs of invoices created on the way.
    """
    response = app.test_client().post("/sandbox/clock/advance", base_url=base_url,
                                      json={"days": days, "seconds": seconds})
    return response.get_json()

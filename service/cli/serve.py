"""`membership serve`: the development server (with the Stripe sandbox when there is no key), and
the worker in a thread of it, so that one command runs everything: webhooks are answered before
their emails and list changes go out, and the thread sends them (as `membership worker` does in
production)."""
from __future__ import annotations

import os

import click
from flask import current_app
from flask.cli import with_appcontext
from werkzeug.serving import run_simple

from service.jobs import Worker
from service.web.dev import development_app

# The in-process worker looks for work this often when idle: emails leave about a second after the change.
WORKER_INTERVAL = 1.0


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option("--port", default=5000, show_default=True, type=click.IntRange(1, 65535), help="Port to listen on.")
@click.option("--debug/--no-debug", default=False, help="Reload on code changes and show tracebacks.")
@click.option("--worker/--no-worker", default=True, show_default=True,
              help="Run the background jobs (emails, list sync, webhook retries) in a thread of the server.")
@with_appcontext
def serve(host: str, port: int, debug: bool, worker: bool) -> None:
    """Run the development server. With no Stripe key, the Stripe sandbox runs inside it; the
    worker runs in a thread unless --no-worker (then run `membership worker` beside it)."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    if debug and app.config["ENV"] == "production":
        # The debugger runs any Python a visitor types into an error page.
        raise click.UsageError("--debug is refused in production (MEMBERSHIP_ENV=production): "
                               "its debugger runs code typed into an error page")
    click.echo(f"membership on http://{host}:{port} (billing: {app.config['BILLING_BACKEND']})")
    background = Worker(interval=WORKER_INTERVAL)
    # With the reloader, the first process only watches files; the worker runs in the one that serves.
    if worker and (not debug or os.environ.get("WERKZEUG_RUN_MAIN") == "true"):
        background.start_thread(app)
    try:
        run_simple(host, port, development_app(app), use_reloader=debug, use_debugger=debug, threaded=True)
    finally:
        background.stop_thread()

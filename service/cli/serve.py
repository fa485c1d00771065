"""`membership serve`: the development server (with the Stripe sandbox when there is no key)."""
from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext
from werkzeug.serving import run_simple

from service.web.dev import development_app


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option("--port", default=5000, show_default=True, type=click.IntRange(1, 65535), help="Port to listen on.")
@click.option("--debug/--no-debug", default=False, help="Reload on code changes and show tracebacks.")
@with_appcontext
def serve(host: str, port: int, debug: bool) -> None:
    """Run the development server. With no Stripe key, the Stripe sandbox runs inside it."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    if debug and app.config["ENV"] == "production":
        # The debugger runs any Python a visitor types into an error page.
        raise click.UsageError("--debug is refused in production (MEMBERSHIP_ENV=production): "
                               "its debugger runs code typed into an error page")
    click.echo(f"membership on http://{host}:{port} (billing: {app.config['BILLING_BACKEND']})")
    run_simple(host, port, development_app(app), use_reloader=debug, use_debugger=debug, threaded=True)

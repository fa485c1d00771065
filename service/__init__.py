"""The membership service. `create_app` is a table of contents."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Flask

from service.config import INSTANCE_DIR, load_config
from service.errors import register_error_handlers
from service.extensions import init_extensions
from service.gateways import init_gateways
from service.logs import configure_logging
from service.money import register_formatting


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    # The web layer and the CLI are imported here, not at the top, so that importing any
    # lower layer (`import service.models` in migrations and scripts) loads neither.
    from service.cli import register_cli  # noqa: PLC0415 - keeps `import service.models` light
    from service.web import register_blueprints, trust_proxies  # noqa: PLC0415 - as above
    from service.web.i18n import init_i18n  # noqa: PLC0415 - as above

    app = Flask(__name__, instance_path=str(INSTANCE_DIR))
    app.config.update(load_config(config))
    configure_logging(app)
    init_extensions(app)
    init_gateways(app)
    init_i18n(app)
    register_blueprints(app)
    register_error_handlers(app)
    register_formatting(app)
    register_cli(app)
    trust_proxies(app)
    return app

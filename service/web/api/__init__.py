"""The JSON API for staff tools and integrations: bearer tokens, JSON in and out. The routes register on `bp` when their modules load."""
from __future__ import annotations

from service.web.api import contributions, gifts, members, newsletters, openapi, staff_views, webhook_endpoints  # noqa: F401 - each module registers its routes on bp
from service.web.api.base import bp

__all__ = ["bp"]

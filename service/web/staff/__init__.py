"""The staff console: sign-in, search, member pages, actions, dashboard, audit log. The routes register on `bp` when their modules load."""
from __future__ import annotations

from service.web.staff import actions, admin, auth, contributions, gifts, members, overview, statements, webhooks  # noqa: F401 - each module registers its routes on bp
from service.web.staff.base import bp

__all__ = ["bp"]

"""Membership state from Stripe's events: every test here runs on the service wired to a
running sandbox (`sandbox_app`, tests/conftest.py), with a `reader` who pays through its
checkout and the events it emitted (`tap.new()`), posted signed like Stripe (tests/billing.py)."""
from __future__ import annotations

import pytest
from flask import Flask


@pytest.fixture(scope="module")
def app(sandbox_app: Flask) -> Flask:
    return sandbox_app

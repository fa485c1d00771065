"""The Stripe webhook endpoint: every test here posts to the service wired to a running
sandbox (`sandbox_app`, tests/conftest.py), signed like Stripe (tests/billing.py)."""
from __future__ import annotations

import pytest
from flask import Flask


@pytest.fixture(scope="module")
def app(sandbox_app: Flask) -> Flask:
    return sandbox_app

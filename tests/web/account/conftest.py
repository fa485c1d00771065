"""The account pages are a paying member's: every test here runs on the service wired to a
running sandbox (`sandbox_app`, tests/conftest.py)."""
from __future__ import annotations

import pytest
from flask import Flask


@pytest.fixture(scope="module")
def app(sandbox_app: Flask) -> Flask:
    return sandbox_app

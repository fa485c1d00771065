"""A throwaway app for tests that need routes or settings the session app must not get,
and putting back the one rate limiter every app in the process shares."""
from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from flask import Flask

from service import create_app
from tests.conftest import config_for_tests as config_for_tests


@contextmanager
def fresh_app(database_url: str, **overrides: Any) -> Iterator[Flask]:
    """`create_app` with the test settings; its engine is closed and the logging set-up restored after."""
    service_logger = logging.getLogger("service")
    saved = list(service_logger.handlers), service_logger.level, service_logger.propagate
    app = create_app(config_for_tests(database_url, **overrides))
    try:
        yield app
    finally:
        app.extensions["db_engine"].dispose()
        service_logger.handlers[:] = saved[0]
        service_logger.setLevel(saved[1])
        service_logger.propagate = saved[2]


@contextmanager
def own_limiter() -> Iterator[None]:
    """The limiter is one object shared by every app in the process: whatever a rate-limit
    test's own app switches on is switched back off after it."""
    from service.extensions import limiter

    saved = dict(vars(limiter))
    try:
        yield
    finally:
        vars(limiter).clear()
        vars(limiter).update(saved)

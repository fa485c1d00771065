"""Health and readiness probes, as a load balancer sees them."""
from __future__ import annotations

import pytest

from tests.apps import fresh_app


def test_healthz_says_the_process_is_up(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}


def test_readyz_is_ready_with_the_database_up(client):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "database": "ok"}


@pytest.mark.parametrize(
    "unreachable",
    ["sqlite:////nonexistent-directory/for/membership.sqlite3", "postgresql+psycopg://postgres@127.0.0.1:1/x"],
)
def test_readyz_is_503_when_the_database_is_unreachable(unreachable):
    with fresh_app(unreachable) as app:
        client = app.test_client()
        ready = client.get("/readyz")
        healthy = client.get("/healthz")

    assert ready.status_code == 503
    assert ready.get_json() == {"status": "unavailable", "database": "unreachable"}
    assert healthy.status_code == 200  # the process itself is fine

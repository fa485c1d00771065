"""Rate limits shared through Redis, as production runs them with several gunicorn workers.

Risk: the README and operations guide said `RATELIMIT_STORAGE_URI=redis://...`, but the redis client
was not a dependency, so every worker crashed at boot ("'redis' prerequisite not available"); with
memory:// instead, each worker counted alone and every limit was multiplied by the worker count.
"""
from __future__ import annotations

import re
import socket
import tomllib
import uuid
from importlib.metadata import version
from pathlib import Path

import pytest

from service.extensions import limiter
from tests.apps import fresh_app, own_limiter

ROOT = Path(__file__).resolve().parent.parent
REDIS_DB = "redis://127.0.0.1:6379/15"  # a database of its own; only this test's keys are deleted
SETTINGS = {"RATELIMIT_ENABLED": True, "RATELIMIT_STORAGE_URI": REDIS_DB, "WTF_CSRF_ENABLED": False,
            "STAFF_LOGIN_RATE_LIMIT": "3 per minute"}
ATTEMPT = {"email": "x@newsroom.example", "password": "nope"}


def redis_answers() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=0.5) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def test_the_redis_client_is_a_pinned_runtime_dependency():
    dependencies = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    [pin] = [d for d in dependencies if re.match(r"redis\b", d)]
    assert re.fullmatch(r"redis==\d+\.\d+\.\d+", pin), pin
    assert version("redis") == pin.split("==")[1]  # what is installed is what is pinned


def test_the_app_starts_on_redis_and_counts_there(database_url, db_session):
    if not redis_answers():
        pytest.skip("no Redis server answers at 127.0.0.1:6379 (start one to run this test)")
    import redis

    prefix = f"membership-test-{uuid.uuid4().hex}"
    store = redis.Redis.from_url(REDIS_DB)
    try:
        with own_limiter():
            # Every key this test writes starts with its own prefix, so it deletes only its own keys.
            # (String settings given to the app are read like the environment, which has no prefix setting.)
            limiter._key_prefix = prefix
            with fresh_app(database_url, **SETTINGS) as app:
                client = app.test_client()
                codes = [client.post("/staff/login", data=ATTEMPT).status_code for _ in range(4)]
            keys = [k.decode() for k in store.scan_iter(match=f"*{prefix}*")]
            # A second app (another worker) shares the same counters: it is refused at once.
            with fresh_app(database_url, **SETTINGS) as other:
                again = other.test_client().post("/staff/login", data=ATTEMPT)
    finally:
        for key in store.scan_iter(match=f"*{prefix}*"):
            store.delete(key)
        store.close()
    assert codes == [401, 401, 401, 429]
    assert keys, "the limiter wrote no counter to Redis"
    assert again.status_code == 429
    assert limiter.enabled is False  # the suite's shared limiter is put back

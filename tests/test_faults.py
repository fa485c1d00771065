"""A small fault run (bench/faults.py is the big one): while the sandbox delivers duplicated,
shuffled events, the database drops every connection and a worker is killed. Nothing is
lost, nothing is applied twice, and every member ends as Stripe's state says.

PostgreSQL only: it commits for real in a scratch database of its own, and cuts its
connections with pg_terminate_backend.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import psycopg
import pytest
from werkzeug.serving import make_server

from bench.common import scratch_database
from bench.faults import seed, service_env, verify
from service import create_app
from tests.sandbox.harness import start_sandbox

BIN = Path(sys.executable).parent
SECRET = "whsec_faults"


def _wait(label: str, done, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while not done():
        assert time.monotonic() < deadline, f"timed out waiting for {label}"
        time.sleep(0.2)


def _cut_connections(url: str) -> int:
    name = url.rsplit("/", 1)[1]
    with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as conn:
        return len(conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                "WHERE datname = %s AND pid <> pg_backend_pid()", (name,)).fetchall())


def test_nothing_lost_or_doubled_through_faults(database_url, tmp_path):
    if not database_url.startswith("postgresql"):
        pytest.skip("the fault run needs PostgreSQL; the PostgreSQL pass of make test runs it")
    with scratch_database("membership_faults_test") as url:
        _migrate(url)
        web = make_server("127.0.0.1", 0, None, threaded=True)
        state = tmp_path / "sandbox.sqlite3"
        sandbox = start_sandbox(SANDBOX_DB=str(state), SANDBOX_DELIVER_WEBHOOKS=True,
                                SANDBOX_WEBHOOK_URL=f"http://127.0.0.1:{web.server_port}/webhooks/stripe",
                                SANDBOX_WEBHOOK_SECRET=SECRET, SANDBOX_WEBHOOK_MAX_ATTEMPTS=40,
                                SANDBOX_WEBHOOK_BACKOFF=0.2, SANDBOX_WEBHOOK_BACKOFF_CAP=1.0)
        env = service_env(url, sandbox.url)
        web.app = create_app(env)  # now with the sandbox's address
        threading.Thread(target=web.serve_forever, daemon=True).start()
        workers: list[subprocess.Popen] = []
        try:
            sandbox.webhook_config(paused=True, duplicates=True, shuffle=True)
            seed(env, 200, sandbox.url)
            pending = lambda: sandbox.deliveries()["pending"]  # noqa: E731
            total = pending()
            workers = [_worker(env, tmp_path, i) for i in range(2)]
            sandbox.webhook_config(paused=False)
            _wait("a third of the deliveries", lambda: pending() < total * 2 / 3)
            assert _cut_connections(url) > 0
            workers[0].send_signal(signal.SIGKILL)
            workers.append(_worker(env, tmp_path, 2))
            _wait("every delivery", lambda: pending() == 0)
            subprocess.run([BIN / "membership", "events", "retry", "--all"], env={**os.environ, **env}, check=True,
                           capture_output=True)
            report = verify(url, state, sandbox.url, total)
        finally:
            for w in workers:
                if w.poll() is None:
                    w.terminate()
                w.wait(timeout=30)
            web.shutdown()
            web.server_close()
            web.app.extensions["db_engine"].dispose()
            sandbox.close()
            _cut_connections(url)
        assert report[-1] == "Verdict: OK", "\n".join(report)


def _migrate(url: str) -> None:
    env = service_env(url, "http://127.0.0.1:1")
    subprocess.run([BIN / "membership", "db", "upgrade"], env={**os.environ, **env}, check=True, capture_output=True)


def _worker(env: dict[str, str], folder: Path, n: int) -> subprocess.Popen:
    with (folder / f"worker{n}.log").open("wb") as log:  # the child keeps its own copy of the descriptor
        return subprocess.Popen([BIN / "membership", "worker", "--interval", "0.2"], env={**os.environ, **env},
                                stdout=log, stderr=log)

"""`membership serve` in a fresh directory, with the settings that leave nothing else to create instance/."""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

BIN = Path(sys.executable).parent / "membership"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _health(url: str) -> tuple[int, dict] | None:
    """The status and JSON of GET url, or None while nothing listens."""
    try:
        with urllib.request.urlopen(url, timeout=1) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, {}
    except OSError:  # refused, reset or timed out: not up yet
        return None


def test_serve_creates_the_sandbox_state_folder_when_nothing_else_does(tmp_path):
    # DATABASE_URL and SECRET_KEY are set, so neither `db upgrade` nor the development key creates instance/.
    instance = tmp_path / "instance" / "not-yet"
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("STRIPE_", "DATABASE_URL", "BILLING_", "MEMBERSHIP_", "SANDBOX_", "SECRET_KEY"))}
    env.update(MEMBERSHIP_INSTANCE_DIR=str(instance), DATABASE_URL=f"sqlite:///{tmp_path / 'm.sqlite3'}",
               SECRET_KEY="serve-test-" + "x" * 32, BASE_URL=base)
    upgrade = subprocess.run([BIN, "db", "upgrade"], env=env, cwd=tmp_path, capture_output=True, text=True,
                             timeout=60)
    assert upgrade.returncode == 0, upgrade.stderr

    log_path = tmp_path / "serve.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen([BIN, "serve", "--port", str(port)], env=env, cwd=tmp_path, stdout=log, stderr=log)
        try:
            answer = None
            deadline = time.monotonic() + 20
            while answer is None and proc.poll() is None and time.monotonic() < deadline:
                answer = _health(f"{base}/healthz")
                if answer is None:
                    time.sleep(0.1)
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
    if answer is None:
        pytest.fail("membership serve did not answer /healthz:\n" + log_path.read_text())
    assert answer == (200, {"status": "ok"}), log_path.read_text()
    assert (instance / "sandbox.sqlite3").is_file()

"""Shared pieces of the benchmarks: a scratch PostgreSQL database, free ports, processes,
and a small keep-alive HTTP load generator. Benchmarks are not tests: run them by hand."""
from __future__ import annotations

import http.client
import os
import platform
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from multiprocessing import Pool
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
ADMIN_URL = os.environ.get("BENCH_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def scratch_database(name: str) -> Iterator[str]:
    """A new PostgreSQL database for one benchmark run, dropped afterwards."""
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://") + f"/{name}"
    finally:
        with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def start(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    handle = log.open("wb")
    return subprocess.Popen(args, env={**os.environ, **env}, stdout=handle, stderr=handle, cwd=ROOT)


def wait_until_up(url: str, seconds: float = 30) -> None:
    import requests

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            requests.get(url, timeout=2).close()
            return
        except requests.RequestException:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not come up")


def _send_slice(job: tuple[int, str, list[tuple[str, bytes, dict[str, str]]]]) -> list[tuple[int, float]]:
    port, method, requests_ = job
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    results = []
    for path, body, headers in requests_:
        started = time.perf_counter()
        conn.request(method, path, body=body or None, headers=headers)
        response = conn.getresponse()
        response.read()
        results.append((response.status, time.perf_counter() - started))
        if response.getheader("Connection", "").lower() == "close":
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    conn.close()
    return results


def blast(port: int, method: str, requests_: list[tuple[str, bytes, dict[str, str]]],
          connections: int) -> tuple[float, list[tuple[int, float]]]:
    """Send the requests over `connections` keep-alive connections in parallel processes.

    Returns the wall time and (status, latency) per request."""
    slices = [requests_[i::connections] for i in range(connections)]
    with Pool(connections) as pool:
        started = time.perf_counter()
        parts = pool.map(_send_slice, [(port, method, s) for s in slices])
        wall = time.perf_counter() - started
    return wall, [r for part in parts for r in part]


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def summary(latencies: list[float]) -> str:
    ms = [v * 1000 for v in latencies]
    return f"p50 {percentile(ms, 50):.1f} ms, p99 {percentile(ms, 99):.1f} ms, mean {statistics.mean(ms):.1f} ms"


def machine() -> str:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    return f"{os.cpu_count()} cores ({cpu}), {platform.system()} {platform.release()}, Python {platform.python_version()}"


def append_results(title: str, command: str, lines: list[str]) -> None:
    """Add a dated section to bench/RESULTS.md."""
    path = ROOT / "bench" / "RESULTS.md"
    if not path.exists():
        path.write_text("# Benchmark results\n\nFigures from `bench/` scripts. Each section names the machine, "
                        "the date and the exact command.\n")
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    body = "\n".join(f"- {line}" for line in lines)
    with path.open("a") as out:
        out.write(f"\n## {title}\n\n- Date: {stamp}\n- Machine: {machine()}\n- Command: `{command}`\n{body}\n")


def timed(label: str, fn: Callable[[], object]) -> float:
    started = time.perf_counter()
    fn()
    elapsed = time.perf_counter() - started
    print(f"{label}: {elapsed:.1f} s", flush=True)
    return elapsed

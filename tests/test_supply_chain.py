"""Every dependency, direct and indirect, is installed from a lock file at a fixed version with its hashes.

The risk: `pip install -e '.[dev]'` pinned only the direct dependencies, so each
install resolved the indirect ones (urllib3, certifi, cryptography's cffi, ...)
afresh: a build could pull a vulnerable or hijacked release that no one chose,
and nothing checked that a downloaded file was the one reviewed. Now
`make install` and the Docker image install `--require-hashes` from
requirements-dev.lock / requirements.lock, and scripts/test.sh runs pip-audit
on them before the suite.
"""
from __future__ import annotations

import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
ENTRY = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)", re.MULTILINE)


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _locked(lock: str) -> dict[str, tuple[str, str]]:
    """name -> (version, the entry's text with its hashes)."""
    text = (ROOT / lock).read_text()
    starts = list(ENTRY.finditer(text))
    return {_canonical(m.group(1)): (m.group(2), text[m.start(): nxt.start() if nxt else len(text)])
            for m, nxt in zip(starts, [*starts[1:], None], strict=True)}


def _pins(requirements: list[str]) -> dict[str, str]:
    pins = {}
    for req in requirements:
        name, _, version = req.partition("==")
        pins[_canonical(name.split("[")[0])] = version
    return pins


PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


@pytest.mark.parametrize("lock, requirements", [
    ("requirements.lock", PROJECT["dependencies"]),
    ("requirements-dev.lock", PROJECT["dependencies"] + PROJECT["optional-dependencies"]["dev"]),
])
def test_the_lock_files_pin_every_package_with_hashes_and_match_pyproject(lock, requirements):
    locked = _locked(lock)
    assert locked, f"{lock} lists no packages"
    for name, (_version, entry) in locked.items():
        assert "--hash=sha256:" in entry, f"{name} in {lock} has no hash"
    for name, version in _pins(requirements).items():
        assert name in locked, f"{name} is in pyproject.toml but not in {lock}: run `make lock`"
        assert locked[name][0] == version, f"{name}: pyproject {version}, {lock} {locked[name][0]}: run `make lock`"


def test_urllib3_is_past_its_known_vulnerabilities():
    for lock in ("requirements.lock", "requirements-dev.lock"):
        version = tuple(int(p) for p in _locked(lock)["urllib3"][0].split(".")[:3])
        assert version >= (2, 6, 3), lock


def test_installs_go_through_the_lock_files():
    makefile = (ROOT / "Makefile").read_text()
    assert "--require-hashes -r requirements-dev.lock" in makefile and "--no-deps -e ." in makefile
    dockerfile = (ROOT / "docker" / "Dockerfile").read_text()
    assert "--require-hashes -r requirements.lock" in dockerfile and "pip install --no-deps ." in dockerfile
    assert "pip-audit" in (ROOT / "scripts" / "test.sh").read_text()


def _audit(tmp_path, report: dict | None, rc: str = "1", stderr: str = "") -> subprocess.CompletedProcess:
    path, err = tmp_path / "report.json", tmp_path / "err.txt"
    if report is not None:
        path.write_text(json.dumps(report))
    err.write_text(stderr)
    return subprocess.run([sys.executable, str(ROOT / "scripts" / "audit_report.py"), "requirements.lock", str(path),
                           rc, str(err)], capture_output=True, text=True, timeout=60)


def test_a_known_vulnerability_fails_the_audit(tmp_path):
    report = {"dependencies": [{"name": "urllib3", "version": "2.0.0",
                                "vulns": [{"id": "GHSA-xxxx", "fix_versions": ["2.6.3"]}]}]}
    result = _audit(tmp_path, report)
    assert result.returncode == 1
    assert "VULNERABLE urllib3==2.0.0: GHSA-xxxx (fixed in 2.6.3)" in result.stdout


def test_an_audit_that_cannot_reach_the_database_says_so_and_goes_on(tmp_path):
    result = _audit(tmp_path, None, rc="1", stderr="ConnectionError: no route to pypi")
    assert result.returncode == 0
    assert "could not run (offline?)" in result.stdout and "ConnectionError" in result.stdout

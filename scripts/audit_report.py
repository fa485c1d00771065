"""Read a pip-audit JSON report for scripts/test.sh: fail on a known vulnerability, tolerate being offline.

Usage: audit_report.py LOCK_FILE REPORT.json EXIT_CODE STDERR_FILE. Exits 1 when any locked
package has a known vulnerability; otherwise 0, printing what could not be checked and why.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path


def main(lock: str, report_path: str, rc: str, err_path: str) -> int:
    report = Path(report_path)
    text = report.read_text() if report.exists() else ""
    deps = json.loads(text).get("dependencies", []) if text.strip() else []
    vulnerable = [d for d in deps if d.get("vulns")]
    for dep in vulnerable:
        ids = ", ".join(f"{v['id']} (fixed in {', '.join(v.get('fix_versions') or ['?'])})" for v in dep["vulns"])
        print(f"VULNERABLE {dep['name']}=={dep.get('version')}: {ids}")
    if vulnerable:
        print(f"{lock}: {len(vulnerable)} package(s) with known vulnerabilities: upgrade them and run `make lock`.")
        return 1
    if rc != "0" and not deps:
        err = Path(err_path).read_text().strip().splitlines() if Path(err_path).exists() else []
        print(f"{lock}: pip-audit could not run (offline?): {err[-1] if err else 'exit ' + rc}; continuing.")
        return 0
    skipped = [d["name"] for d in deps if d.get("skip_reason")]
    if skipped:
        print(f"{lock}: {len(skipped)} of {len(deps)} package(s) could not be looked up (offline, or not on PyPI); "
              "the rest have no known vulnerabilities.")
    else:
        print(f"{lock}: no known vulnerabilities in {len(deps)} packages.")
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:5]))

"""The house rules, checked: imports point down, no module cycles, no import hidden in a
function to dodge one, and importing the models loads no web layer."""
from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import grimp

ROOT = Path(__file__).resolve().parent.parent
SERVICE = ROOT / "service"


def test_import_layer_contracts_hold():
    """The contracts in pyproject.toml ([tool.importlinter]): cli -> web -> jobs -> schemas ->
    domain -> gateways -> models -> base modules; stripe only behind the gateway; insight only reads."""
    result = subprocess.run([str(Path(sys.executable).parent / "lint-imports"), "--no-cache"],
                            capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def _cycle_through(graph: grimp.ImportGraph, importer: str, imported: str) -> tuple[str, ...] | None:
    back = graph.find_shortest_chain(importer=imported, imported=importer)
    return (importer, *back) if back else None


def test_no_module_imports_itself_through_others():
    # The root package is left out: `create_app` imports the web layer and CLI inside the
    # factory (commented there) so that `import service.models` stays light.
    graph = grimp.build_graph("service", exclude_type_checking_imports=True)
    cycles = []
    for importer in sorted(graph.modules - {"service"}):
        for imported in graph.find_modules_directly_imported_by(importer) - {"service"}:
            cycle = _cycle_through(graph, importer, imported)
            if cycle and "service" not in cycle:
                cycles.append(" -> ".join(cycle))
    assert cycles == []


def _function_level_imports(path: Path) -> list[tuple[int, str]]:
    """Imports of the service's own modules inside a function, without a comment saying why."""
    lines = path.read_text().splitlines()
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        for inner in ast.walk(node):
            module = inner.module if isinstance(inner, ast.ImportFrom) else None
            names = [a.name for a in inner.names] if isinstance(inner, ast.Import) else []
            own = (module or "").startswith("service") or any(n.startswith("service") for n in names)
            if isinstance(inner, ast.Import | ast.ImportFrom) and own and "#" not in lines[inner.lineno - 1]:
                found.append((inner.lineno, lines[inner.lineno - 1].strip()))
    return found


def test_no_import_hides_inside_a_function():
    hidden = {str(p.relative_to(ROOT)): found for p in SERVICE.rglob("*.py") if (found := _function_level_imports(p))}
    assert hidden == {}


def test_importing_the_models_loads_no_web_layer_or_cli():
    probe = ("import sys, service.models; "
             "print(sorted(m for m in sys.modules if m.startswith(('service.web', 'service.cli'))))")
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_domain_code_never_commits():
    """Domain functions flush; the request, the CLI command or the job runner commits."""
    offenders = [f"{p.relative_to(ROOT)}:{n}" for p in (SERVICE / "domain").rglob("*.py")
                 for n, line in enumerate(p.read_text().splitlines(), 1)
                 if ".commit()" in line or "session.rollback()" in line]
    assert offenders == []

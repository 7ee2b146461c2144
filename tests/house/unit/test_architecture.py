"""The house keeps its shape: imports go one way (the import-linter contracts in pyproject.toml),
none hides inside a function, and the services live in their domain packages."""

from __future__ import annotations

import ast
from pathlib import Path

from importlinter.cli import lint_imports

ROOT = Path(__file__).resolve().parents[3]
SERVICES = ROOT / "app" / "services"
# Modules that may stay loose beside the packages, each for a reason written in it.
LOOSE = {"__init__.py", "pwa.py"}


def test_imports_keep_to_the_contracts():
    assert lint_imports(config_filename=str(ROOT / "pyproject.toml"), no_cache=True) == 0


def test_no_import_of_the_app_hides_inside_a_function():
    hidden = []
    for path in sorted((ROOT / "app").rglob("*.py")):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                for inner in ast.walk(node):
                    if isinstance(inner, ast.ImportFrom) and (inner.module or "").startswith("app"):
                        hidden.append(f"{path.relative_to(ROOT)}:{inner.lineno}")
                    elif isinstance(inner, ast.Import) and any(a.name.startswith("app") for a in inner.names):
                        hidden.append(f"{path.relative_to(ROOT)}:{inner.lineno}")
    assert hidden == [], "imports inside functions hide a circle; move the shared piece down into core"


def test_services_live_in_domain_packages():
    loose = {path.name for path in SERVICES.glob("*.py")} - LOOSE
    assert loose == set(), f"a service module outside any domain package: {sorted(loose)}"
    packages = {path.name for path in SERVICES.iterdir() if (path / "__init__.py").is_file()}
    assert {"core", "orders", "pickup", "counter", "closing", "deliveries"} <= packages


def test_no_module_of_the_app_is_over_400_lines():
    long = {
        str(path.relative_to(ROOT)): n
        for path in (ROOT / "app").rglob("*.py")
        if (n := len(path.read_text().splitlines())) > 400
    }
    assert long == {}


def test_no_function_of_the_app_is_over_65_lines():
    # Past about sixty lines a function's parts have names of their own (issue #15).
    long = {
        f"{path.relative_to(ROOT)}:{node.name}": n
        for path in (ROOT / "app").rglob("*.py")
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and (n := node.end_lineno - node.lineno + 1) > 65
    }
    assert long == {}

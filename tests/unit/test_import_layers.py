"""The floor plan is checked, not hoped for (issue 21; DESIGN.md "Layout"): import-linter's
contracts in ``pyproject.toml`` (``[tool.importlinter]``) hold for the tree, and a forbidden
arrow added to a copy of the tree breaks them.

``lint-imports`` reads the contracts from ``pyproject.toml`` in its working directory and puts
that directory first on ``sys.path`` (import-linter's ``cli.lint_imports``), so the copy in a
temporary folder is the tree it analyses, not the installed one.
"""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import grimp

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("reverse_etl", "pipelines", "sandbox")
LINT = "from importlinter.cli import lint_imports_command; lint_imports_command()"  # exits


def lint_imports(cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", LINT, "--no-cache"],
        cwd=cwd,
        env={"PYTHONPATH": str(cwd), "PATH": "/usr/bin:/bin", "NO_COLOR": "1"},
        capture_output=True,
        text=True,
        timeout=120,
    )


def copy_tree(to: Path) -> Path:
    for package in PACKAGES:
        shutil.copytree(
            ROOT / package, to / package, ignore=shutil.ignore_patterns("__pycache__", "*.csv")
        )
    shutil.copy(ROOT / "pyproject.toml", to / "pyproject.toml")
    return to


def test_the_contracts_hold():
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout and "BROKEN" not in result.stdout


def test_every_module_of_reverse_etl_is_in_a_layer():
    """A new flat module beside the packages would sit outside every contract."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    (layers,) = [c["layers"] for c in config["contracts"] if c["type"] == "layers"]
    declared = {name.strip() for layer in layers for name in layer.split("|")}
    children = {
        f"reverse_etl.{path.stem}"
        for path in (ROOT / "reverse_etl").iterdir()
        if path.name != "__init__.py" and (path.suffix == ".py" or (path / "__init__.py").is_file())
    }
    assert children <= declared, sorted(children - declared)


def test_a_forbidden_import_breaks_the_check(tmp_path):
    tree = copy_tree(tmp_path)
    assert lint_imports(tree).returncode == 0  # the copy holds, as the tree does

    errors = tree / "reverse_etl" / "core" / "errors.py"
    errors.write_text(errors.read_text() + "\nfrom reverse_etl.push import alerts  # noqa\n")
    result = lint_imports(tree)
    assert result.returncode == 1
    assert "reverse_etl.core is not allowed to import reverse_etl.push" in result.stdout
    assert "reverse_etl.core.errors -> reverse_etl.push.alerts" in result.stdout


def test_the_sandbox_importing_the_product_breaks_the_check(tmp_path):
    tree = copy_tree(tmp_path)
    clock = tree / "sandbox" / "clock.py"
    clock.write_text(clock.read_text() + "\nfrom reverse_etl.hubspot.paths import HubSpotPaths\n")
    result = lint_imports(tree)
    assert result.returncode == 1
    assert "sandbox is not allowed to import reverse_etl" in result.stdout
    assert "sandbox.clock -> reverse_etl.hubspot.paths" in result.stdout


def function_local_imports(path: Path) -> list[tuple[int, bool]]:
    """(line, explained) of each import inside a function: explained when a comment is on its
    line or above the run of import lines it belongs to."""
    lines = path.read_text().splitlines()
    found = []
    for function in ast.walk(ast.parse("\n".join(lines))):
        if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        for node in ast.walk(function):
            if isinstance(node, ast.Import | ast.ImportFrom):
                first = node.lineno - 1
                while first > 0 and lines[first - 1].strip().startswith(("from ", "import ")):
                    first -= 1
                span = lines[node.lineno - 1 : node.end_lineno]
                explained = any("#" in line for line in span) or (
                    first > 0 and lines[first - 1].strip().startswith("#")
                )
                found.append((node.lineno, explained))
    return found


def test_no_function_local_import_without_a_reason():
    """Start-up time of a heavy library is a reason, said in a comment; hiding a loop is not
    (the next test finds loops whether hidden or not)."""
    bare = [
        f"{path.relative_to(ROOT)}:{line}"
        for package in PACKAGES
        for path in sorted((ROOT / package).rglob("*.py"))
        for line, explained in function_local_imports(path)
        if not explained
    ]
    assert bare == []


def test_an_unexplained_function_local_import_is_found(tmp_path):
    module = tmp_path / "m.py"
    module.write_text(
        "def f():\n    import json\n\n"
        "def g():\n    import csv  # deferred: a reason\n\n"
        "def h():\n    # deferred: a reason\n    import os\n    import sys\n"
    )
    assert function_local_imports(module) == [(2, False), (5, True), (9, True), (10, True)]


def import_loops(*packages: str) -> list[tuple[str, str]]:
    """(module, importer) pairs where ``importer`` imports ``module`` and ``module`` leads back
    to ``importer``: every import counts, function-local ones too (``if TYPE_CHECKING:``
    blocks, which never run, are left out)."""
    graph = grimp.build_graph(*packages, exclude_type_checking_imports=True, cache_dir=None)
    return [
        (module, importer)
        for module in sorted(graph.modules)
        for importer in sorted(graph.find_modules_that_directly_import(module))
        if graph.chain_exists(importer=module, imported=importer)
    ]


def test_no_import_loop_even_inside_functions():
    assert import_loops(*PACKAGES) == []


def test_a_loop_hidden_in_a_function_is_found(tmp_path, monkeypatch):
    package = tmp_path / "looped"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "store.py").write_text("def f():\n    from looped import links  # hidden\n")
    (package / "links.py").write_text("from looped.store import f\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert import_loops("looped") == [
        ("looped.links", "looped.store"),
        ("looped.store", "looped.links"),
    ]

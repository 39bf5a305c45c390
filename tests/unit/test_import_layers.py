"""The floor plan is checked, not hoped for (issue 21; DESIGN.md "Layout"): import-linter's
contracts in ``pyproject.toml`` (``[tool.importlinter]``) hold for the tree, and a forbidden
arrow added to a copy of the tree breaks them.

``lint-imports`` reads the contracts from ``pyproject.toml`` in its working directory and puts
that directory first on ``sys.path`` (import-linter's ``cli.lint_imports``), so the copy in a
temporary folder is the tree it analyses, not the installed one.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

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

"""The push reaches the warehouse only through the seam (issue 22): no module of
reverse_etl/push imports duckdb (or psycopg2); engine-specific SQL lives in
reverse_etl/core/warehouse_sql.py, which asks the connection's engine."""

from __future__ import annotations

import ast
from pathlib import Path

PUSH = Path(__file__).resolve().parents[2] / "reverse_etl" / "push"
ENGINE_DRIVERS = {"duckdb", "psycopg2"}


def _imported(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_no_push_module_imports_an_engine_driver() -> None:
    modules = sorted(PUSH.glob("*.py"))
    assert len(modules) > 10  # the package is where this test thinks it is
    offenders = {p.name: _imported(p) & ENGINE_DRIVERS for p in modules}
    assert {name: found for name, found in offenders.items() if found} == {}

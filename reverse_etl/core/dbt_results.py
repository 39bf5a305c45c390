"""What a dbt invocation reported, read for people: each failed node with dbt's message and, for
a data test, its first failing rows (dbt keeps them as a view: ``store_failures_as: view``);
the tidying of those views once their tests pass; and the source-freshness report.

Used by the transform stage (:mod:`reverse_etl.transform`) and the webhook fast path
(:mod:`reverse_etl.fast_path`); below both, so neither imports the other for it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reverse_etl.core.warehouse import DuckDBWarehouse, Warehouse

TEST_FAILURES_SCHEMA = "dbt_test_failures"
LEGACY_TEST_FAILURES_SCHEMA = "test_failures"

log = logging.getLogger("reverse_etl.transform")


@dataclass(frozen=True)
class NodeFailure:
    """One model, test or unit test that failed, as dbt reported it."""

    resource_type: str  # model | test | unit_test | seed | snapshot
    name: str
    status: str
    message: str

    def describe(self) -> str:
        kind = "unit test" if self.resource_type == "unit_test" else self.resource_type
        return f"{kind} {self.name} {self.status}: {self.message}"


@dataclass(frozen=True)
class FreshnessReport:
    """`dbt source freshness` over the extract logs: ``status`` pass | warn | error."""

    status: str
    sources: dict[str, str]
    seconds: float
    measured_by: str = "dbt source freshness"

    def summary(self) -> str:
        if self.status == "pass":
            return f"Source freshness: pass (every source extracted recently; {self.measured_by})."
        stale = ", ".join(f"{name} {status}" for name, status in self.sources.items())
        return f"Source freshness: {self.status} ({stale})."

    def as_dict(self) -> dict[str, object]:
        return {
            "status": self.status,
            "sources": self.sources,
            "seconds": round(self.seconds, 3),
            "measured_by": self.measured_by,
        }


def _warehouse(warehouse: Warehouse | Path) -> Warehouse:
    return DuckDBWarehouse(warehouse) if isinstance(warehouse, Path) else warehouse


def tidy_test_failures(warehouse: Warehouse | Path, node_results: list[Any]) -> None:
    """Drop the failure views of tests that passed (and the old ``test_failures`` schema);
    drop ``dbt_test_failures`` when nothing is left in it."""
    passed = [
        r.node.alias
        for r in node_results
        if r.node.resource_type == "test" and str(r.status) == "pass"
    ]
    try:
        con = _warehouse(warehouse).connect()
    except Exception as exc:  # tidying is cosmetic: never fail the build for it
        log.warning("Could not tidy %s: %s", TEST_FAILURES_SCHEMA, exc)
        return
    try:
        con.execute(f"drop schema if exists {LEGACY_TEST_FAILURES_SCHEMA} cascade")
        existing = {
            row[0]
            for row in con.execute(
                "select table_name from information_schema.tables "
                "where table_schema = ? and table_type = 'VIEW'",
                [TEST_FAILURES_SCHEMA],
            ).fetchall()
        }
        for name in passed:
            if name in existing:
                con.execute(f'drop view if exists {TEST_FAILURES_SCHEMA}."{name}"')
                existing.discard(name)
        if not existing:
            con.execute(f"drop schema if exists {TEST_FAILURES_SCHEMA} cascade")
    except Exception as exc:  # tidying is cosmetic: never fail the build for it
        log.warning("Could not tidy %s: %s", TEST_FAILURES_SCHEMA, exc)
    finally:
        con.close()


def node_failure(node_result: Any, warehouse: Warehouse | Path) -> NodeFailure:
    node = node_result.node
    message = " ".join(str(node_result.message or "").split())
    failures = getattr(node_result, "failures", None)
    if node.resource_type == "test" and failures:
        message = f"{failures} failing row{'s' if failures != 1 else ''}"
        relation = getattr(node, "relation_name", None)
        if relation:
            message += f", e.g. {sample_rows(warehouse, relation)} (all in {relation})"
    return NodeFailure(
        resource_type=str(node.resource_type),
        name=node.name,
        status=str(node_result.status),
        message=message[:1000],
    )


def sample_rows(warehouse: Warehouse | Path, relation: str, limit: int = 3) -> str:
    """The first failing rows of a test (dbt stores them: ``store_failures_as: view``)."""
    try:
        con = _warehouse(warehouse).connect(read_only=True)
    except Exception:
        return "(failing rows unavailable)"
    try:
        cursor = con.execute(f"select * from {relation} limit {limit}")
        names = [column[0] for column in cursor.description]
        rows = cursor.fetchall()
    except Exception:
        return "(failing rows unavailable)"
    finally:
        con.close()
    shown = [
        "{" + ", ".join(f"{name}={value}" for name, value in zip(names, row, strict=True)) + "}"
        for row in rows
    ]
    return "; ".join(shown)[:600]

"""The transform stage: `dbt build` of `dbt_project/` on the warehouse, in-process.

dbt runs through its programmatic entry point ``dbt.cli.main.dbtRunner`` (dbt-core 1.5+:
"programmatic invocations"), with the project and profiles directories of this repository,
resolved from this file so the command works from any working directory. The warehouse is the
settings' DuckDB file, passed as the absolute path in the ``warehouse_path`` var, which
``dbt_project/profiles.yml`` reads (profiles may use ``var()`` for ``--vars``:
https://docs.getdbt.com/reference/dbt-jinja-functions/profiles-yml-context). dbt's artefacts
go to ``dbt_project/target`` and its log to ``dbt_project/logs/dbt.log``, or where dbt's own
``DBT_TARGET_PATH`` and ``DBT_LOG_PATH`` say (``target_dir``, ``log_dir``; git-ignored; at ``info``
level: every node's start, end and error. ``debug`` logged every SQL statement through one
locked file handler that dbt's threads queued on: 15 % of a small sync's wall time);
nothing is printed: the CLI prints :meth:`TransformReport.summary` or the error, once. Usage
stats are never sent (the tool must work offline).

A failed data test keeps its failing rows as a view in the ``dbt_test_failures`` schema
(``store_failures_as: view``), and :class:`TransformError` quotes the first of them, so the
message names the records at fault, not only the test. A failed test of an analyst-only mart
(off the push path, :mod:`reverse_etl.core.push_path`) is no error: it is logged, named with its
rows in :attr:`TransformReport.analyst_failures` and the summary, and the push goes on.
dbt creates such a view for every test, passing or not (~85 of them): :func:`run_transform`
drops the views of the tests that passed, and the schema once it is empty, so analysts
browsing the warehouse see failures only while there are some. (The schema was
``test_failures`` before; its leftovers are dropped too.)

The mirroring policy (``settings.mirroring``) is passed as dbt vars on every build, so the
environment decides which invoices HubSpot holds (README, "Connecting real systems").
Progress: dbt reports each model and test as it completes through ``dbtRunner`` callbacks
(``LogModelResult`` / ``LogTestResult`` events carry the node's ``index`` among all nodes of
the build); ``progress`` receives them. Source freshness (:func:`run_source_freshness`) is
a separate invocation.

dbt-duckdb keeps its DuckDB instance in a class-level environment that outlives the
invocation; while it lives, the same process cannot open the file with another configuration
(the push stage's ``duckdb.connect``). :func:`run_transform` therefore closes it when dbt is
done (``DuckDBConnectionManager`` in dbt-duckdb 1.11's ``connections.py``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from reverse_etl.core import build_plan, sync_log
from reverse_etl.core.dbt_invocation import (
    DBT_PROJECT_DIR,
    dbt_args,
    invoke,
    log_dir,
    parsed_manifest,
    release_duckdb,  # noqa: F401 - re-exported: tests and tools release dbt-duckdb through here
    runner,
    target_dir,
)
from reverse_etl.core.dbt_results import (
    TEST_FAILURES_SCHEMA,
    FreshnessReport,
    node_failure,
    tidy_test_failures,
)
from reverse_etl.core.errors import TransformError
from reverse_etl.core.push_path import split_failures
from reverse_etl.core.settings import Settings
from reverse_etl.core.warehouse import DuckDBWarehouse, Warehouse

log = logging.getLogger(__name__)

# (what finished, e.g. "model fct_invoices", index, total): dbt's own count of the nodes.
Progress = Callable[[str, int, int], None]

_FAILED = {"error", "fail", "runtime error"}


@dataclass(frozen=True)
class TransformReport:
    """What `dbt build` did; ``summary()`` is the line the CLI prints."""

    models: int
    tests: int
    unit_tests: int
    warnings: int
    skipped: int
    seconds: float
    warehouse_path: Path | str  # the DuckDB file, or the server warehouse's (masked) label
    warned: tuple[str, ...] = field(default_factory=tuple)
    invocation_id: str | None = None
    scope: str = "daily"  # hourly | daily | full | selection (reverse_etl/core/build_plan.py)
    # tests of analyst-only marts that failed: reported, never a stop (core/push_path.py)
    analyst_failures: tuple[str, ...] = field(default_factory=tuple)

    def as_dict(self) -> dict[str, object]:
        """The transform's part of the ``--json`` run summary."""
        return {
            "models": self.models,
            "tests": self.tests,
            "unit_tests": self.unit_tests,
            "warnings": self.warnings,
            "warned": list(self.warned),
            "skipped": self.skipped,
            "seconds": round(self.seconds, 3),
            "dbt_invocation_id": self.invocation_id,
            "scope": self.scope,
            "analyst_failures": list(self.analyst_failures),
        }

    def summary(self) -> str:
        line = (
            f"dbt build ({self.scope}): {self.models} models built, {self.tests} data tests and "
            f"{self.unit_tests} unit tests passed in {self.seconds:.1f} s ({self.warehouse_path})"
        )
        if self.warnings:
            line += f"; {self.warnings} warnings: {', '.join(self.warned)}"
        if self.analyst_failures:
            line += (
                f"; {len(self.analyst_failures)} failed test(s) of analyst-only marts (the push "
                f"goes on; failing rows in {TEST_FAILURES_SCHEMA}): "
                + "; ".join(self.analyst_failures)
            )
        return line


def dbt_vars_for(settings: Settings, overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The vars of a build: the settings' mirroring policy, then ``overrides``."""
    return {
        **settings.mirroring.dbt_vars(),
        "hubspot_create_companies": settings.hubspot.create_companies,
        **(overrides or {}),
    }


def build_inputs(
    settings: Settings, dbt_vars: Mapping[str, Any] | None = None, *, now: datetime | None = None
) -> build_plan.BuildInputs:
    """What a build of the whole project would be built from (compared by the next run)."""
    fingerprint = build_plan.project_fingerprint(DBT_PROJECT_DIR, dbt_vars_for(settings, dbt_vars))
    with sync_log.open_warehouse(existing_warehouse(settings)) as con:
        return build_plan.read_inputs(con, fingerprint, now or datetime.now(UTC))


def run_transform(
    settings: Settings,
    *,
    dbt_vars: Mapping[str, Any] | None = None,
    select: str | None = None,
    scope: str = build_plan.DAILY,
    progress: Progress | None = None,
    run_id: str | None = None,
    now: datetime | None = None,
) -> TransformReport:
    """Run `dbt build` on ``settings.warehouse_path``.

    ``scope`` picks the nodes (``dbt_project/selectors.yml``): ``hourly`` every table, the
    incremental marts adding only what changed, and the data tests guarding the writes to
    HubSpot; ``daily`` every model (rebuilt whole: ``--full-refresh``), seed and data test;
    ``full`` that and the unit tests. A build of the whole project is logged in
    ``sync_log.builds`` (:mod:`reverse_etl.core.build_plan`), which is how the next sync knows
    whether anything changed since. ``select`` instead narrows the build to a dbt selection
    (data tests included, unit tests not) and logs nothing. The vars are the settings'
    mirroring policy, then ``dbt_vars`` (overrides, e.g. ``{"hubspot_include_drafts": True}``).
    Raises :class:`TransformError` naming each failed model or test with dbt's message.
    """
    from dbt_common.invocation import get_invocation_id  # dbt: seconds to import, builds only

    warehouse = existing_warehouse(settings)
    dbt_vars = dbt_vars_for(settings, dbt_vars)
    args = ["build", *dbt_args(warehouse, dbt_vars), *_node_args(select, scope)]
    inputs = None if select else build_inputs(settings, dbt_vars, now=now)

    started_at = datetime.now(UTC)
    started = time.perf_counter()
    callbacks = [_progress_callback(progress)] if progress else []
    result = invoke(warehouse, runner(warehouse, dbt_vars, callbacks), args)
    invocation_id = get_invocation_id()
    seconds = time.perf_counter() - started

    node_results = list(getattr(result.result, "results", None) or [])
    analysts = _raise_for_failures(result, node_results, warehouse, dbt_vars)
    if inputs is not None:
        with sync_log.open_warehouse(warehouse) as con:
            build_plan.record_build(
                con,
                scope=scope,
                inputs=inputs,
                started_at=started_at,
                finished_at=datetime.now(UTC),
                run_id=run_id,
                dbt_invocation_id=invocation_id,
            )
    return _report(
        node_results,
        seconds=seconds,
        warehouse=report_label(warehouse),
        invocation_id=invocation_id,
        scope=scope if not select else "selection",
        analyst_failures=tuple(node_failure(r, warehouse).describe() for r in analysts),
    )


def _raise_for_failures(
    result: Any, node_results: list[Any], warehouse: Warehouse, dbt_vars: Mapping[str, Any]
) -> list[Any]:
    """Raise :class:`TransformError` for a build that could not run or whose failures stop the
    push; log and return the failed tests of analyst-only marts (the push goes on); tidy the
    failure views of the tests that passed."""
    if result.exception is not None and result.result is None:
        raise TransformError(
            f"dbt build could not run: {result.exception}. See {log_dir() / 'dbt.log'}."
        )
    failed = [r for r in node_results if str(r.status) in _FAILED]
    manifest = parsed_manifest(warehouse, dbt_vars) if failed else None
    analysts, blocking = split_failures(manifest, node_results, failed)
    for r in analysts:
        log.warning("Analyst-only test failed (the push goes on): %s", node_failure(r, warehouse))
    failures = [node_failure(r, warehouse) for r in blocking]
    tidy_test_failures(warehouse, node_results)
    if failures or (not result.success and not analysts):
        skipped = sum(1 for r in node_results if str(r.status) == "skipped")
        details = "; ".join(f.describe() for f in failures) or str(result.exception)
        raise TransformError(
            f"dbt build failed ({len(failures)} failed, {skipped} skipped downstream): "
            f"{details}. Details in {log_dir() / 'dbt.log'}."
        )
    return analysts


def _node_args(select: str | None, scope: str) -> list[str]:
    """Which nodes the build runs: a dbt selection (data tests included, unit tests not), or a
    scope's selector (``dbt_project/selectors.yml``; ``full`` is every node)."""
    if select:
        return ["--select", select, "--exclude-resource-type", "unit_test"]
    if scope not in build_plan.WHOLE_PROJECT:
        raise ValueError(f"not a build scope: {scope!r}")
    args = [] if scope == build_plan.FULL else ["--selector", scope]
    if scope in build_plan.DAY_SCOPES:
        # the incremental marts rebuilt whole: ageing moved on, the models may have changed
        # (dbt_project/macros/incremental_marts.sql); an hourly build adds what changed
        args.append("--full-refresh")
    return args


def _report(
    node_results: list[Any],
    *,
    seconds: float,
    warehouse: Path | str,
    invocation_id: str | None,
    scope: str,
    analyst_failures: tuple[str, ...],
) -> TransformReport:
    """The build's counts, from dbt's node results."""

    def count(resource_type: str, statuses: set[str]) -> int:
        return sum(
            1
            for r in node_results
            if r.node.resource_type == resource_type and str(r.status) in statuses
        )

    warned = tuple(r.node.name for r in node_results if str(r.status) == "warn")
    return TransformReport(
        models=count("model", {"success"}),
        tests=count("test", {"pass", "warn"}),
        unit_tests=count("unit_test", {"pass", "success"}),
        warnings=len(warned),
        skipped=sum(1 for r in node_results if str(r.status) == "skipped"),
        seconds=seconds,
        warehouse_path=warehouse,
        warned=warned,
        invocation_id=invocation_id,
        scope=scope,
        analyst_failures=analyst_failures,
    )


def existing_warehouse(settings: Settings) -> Warehouse:
    """The settings' warehouse, which an extract must have created: a DuckDB file (its path
    resolved, as dbt and the messages use it), or a server database (which exists already)."""
    warehouse = settings.warehouse
    if not isinstance(warehouse, DuckDBWarehouse):
        return warehouse
    path = warehouse.path.expanduser().resolve()
    if not path.is_file():
        raise TransformError(
            f"The warehouse {path} does not exist: run `invoice-sync extract` first "
            "(or check WAREHOUSE_PATH)."
        )
    return DuckDBWarehouse(path)


def report_label(warehouse: Warehouse) -> Path | str:
    """The warehouse as a report shows it: the DuckDB file's path, or the masked URL."""
    return warehouse.path if isinstance(warehouse, DuckDBWarehouse) else warehouse.label


def _progress_callback(progress: Progress) -> Callable[[Any], None]:
    """A dbtRunner callback passing each finished model / test on to ``progress``."""

    def on_event(event: Any) -> None:
        name = event.info.name
        if name not in ("LogModelResult", "LogTestResult"):
            return
        data = event.data
        kind = "model" if name == "LogModelResult" else "test"
        label = getattr(data, "description", "") or getattr(data, "name", "")
        # LogModelResult counts in ``total``, LogTestResult in ``num_models`` (all nodes)
        total = getattr(data, "total", 0) or getattr(data, "num_models", 0)
        try:
            progress(f"{kind} {label}".strip(), int(data.index), int(total))
        except Exception as exc:  # progress display must never break the build
            log.debug("progress callback failed: %s", exc)

    return on_event


def run_source_freshness(settings: Settings) -> FreshnessReport:
    """`dbt source freshness` for the extract logs (``raw_xero.extract_runs``,
    ``raw_hubspot.extract_runs``: one row per successful extract, written even when nothing
    changed), so a quiet night is fresh and a failing extract goes stale. Never raises for
    stale data: the status is the result (warn after 2 h, error after 26 h)."""
    warehouse = existing_warehouse(settings)
    dbt_vars = dbt_vars_for(settings)  # the build's vars: its parsed manifest serves both
    args = ["source", "freshness", *dbt_args(warehouse, dbt_vars)]
    args += ["--output", str(target_dir() / "sources.json")]
    started = time.perf_counter()
    result = invoke(warehouse, runner(warehouse, dbt_vars, []), args)
    statuses: dict[str, str] = {}
    for node_result in getattr(result.result, "results", None) or []:
        node = node_result.node
        statuses[f"{node.source_name}.{node.name}"] = str(node_result.status)
    worst = "pass"
    for status in statuses.values():
        if status in ("error", "runtime error"):
            worst = "error"
        elif status == "warn" and worst == "pass":
            worst = "warn"
    if not statuses:
        worst = "error"
        statuses["dbt"] = f"could not run: {result.exception}"
    return FreshnessReport(worst, statuses, time.perf_counter() - started)

"""The transform stage: `dbt build` of `dbt_project/` on the warehouse, in-process.

dbt runs through its programmatic entry point ``dbt.cli.main.dbtRunner`` (dbt-core 1.5+:
"programmatic invocations"), with the project and profiles directories of this repository,
resolved from this file so the command works from any working directory. The warehouse is the
settings' DuckDB file, passed as the absolute path in the ``warehouse_path`` var, which
``dbt_project/profiles.yml`` reads (profiles may use ``var()`` for ``--vars``:
https://docs.getdbt.com/reference/dbt-jinja-functions/profiles-yml-context). dbt's artefacts
go to ``dbt_project/target`` and its debug log to ``dbt_project/logs/dbt.log`` (git-ignored);
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

import json
import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb

from reverse_etl.core import build_plan, sync_log
from reverse_etl.core.errors import TransformError
from reverse_etl.core.push_path import split_failures
from reverse_etl.core.settings import Settings

DBT_PROJECT_DIR = Path(__file__).resolve().parent.parent / "dbt_project"
TEST_FAILURES_SCHEMA = "dbt_test_failures"
LEGACY_TEST_FAILURES_SCHEMA = "test_failures"

log = logging.getLogger(__name__)

# (what finished, e.g. "model fct_invoices", index, total): dbt's own count of the nodes.
Progress = Callable[[str, int, int], None]

_FAILED = {"error", "fail", "runtime error"}


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
class TransformReport:
    """What `dbt build` did; ``summary()`` is the line the CLI prints."""

    models: int
    tests: int
    unit_tests: int
    warnings: int
    skipped: int
    seconds: float
    warehouse_path: Path
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
    args = ["build", *dbt_args(warehouse, dbt_vars)]
    inputs = None
    if select:
        args += ["--select", select, "--exclude-resource-type", "unit_test"]
    else:
        if scope not in build_plan.WHOLE_PROJECT:
            raise ValueError(f"not a build scope: {scope!r}")
        if scope != build_plan.FULL:
            args += ["--selector", scope]
        if scope in build_plan.DAY_SCOPES:
            # the incremental marts rebuilt whole: ageing moved on, the models may have changed
            # (dbt_project/macros/incremental_marts.sql); an hourly build adds what changed
            args.append("--full-refresh")
        inputs = build_inputs(settings, dbt_vars, now=now)

    started_at = datetime.now(UTC)
    started = time.perf_counter()
    try:
        callbacks = [_progress_callback(progress)] if progress else []
        result = _runner(warehouse, dbt_vars, callbacks).invoke(args)
        invocation_id = get_invocation_id()
    finally:
        release_duckdb()
    seconds = time.perf_counter() - started

    if result.exception is not None and result.result is None:
        raise TransformError(
            f"dbt build could not run: {result.exception}. "
            f"See {DBT_PROJECT_DIR / 'logs' / 'dbt.log'}."
        )
    node_results = list(getattr(result.result, "results", None) or [])
    failed = [r for r in node_results if str(r.status) in _FAILED]
    manifest = parsed_manifest(warehouse, dbt_vars) if failed else None
    analysts, blocking = split_failures(manifest, node_results, failed)
    for r in analysts:
        log.warning("Analyst-only test failed (the push goes on): %s", node_failure(r, warehouse))
    failures = [node_failure(r, warehouse) for r in blocking]
    _tidy_test_failures(warehouse, node_results)
    if failures or (not result.success and not analysts):
        skipped = sum(1 for r in node_results if str(r.status) == "skipped")
        details = "; ".join(f.describe() for f in failures) or str(result.exception)
        raise TransformError(
            f"dbt build failed ({len(failures)} failed, {skipped} skipped downstream): "
            f"{details}. Details in {DBT_PROJECT_DIR / 'logs' / 'dbt.log'}."
        )
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
        scope=scope if not select else "selection",
        analyst_failures=tuple(node_failure(r, warehouse).describe() for r in analysts),
    )


# Parsed manifests of this process, by what parsing depends on (the project's files, the vars,
# the database name). dbt-core's "programmatic invocations" guide
# (https://docs.getdbt.com/reference/programmatic-invocations): a manifest returned by `parse`
# can be handed to `dbtRunner(manifest=...)`, which then skips parsing; the profile (the
# warehouse path) and the vars are still read at each invocation when the models compile
# (checked: a build with a pre-parsed manifest writes to the warehouse and honours the vars it
# is given), while what dbt decides at parse time (schema names, materializations) stays with
# the manifest, hence the vars in the key. Long-running processes (`sync --every`, the webhook
# worker) and the test suite parse once; a one-shot command parses once, as before. Partial
# parsing (target/partial_parse.msgpack) cannot do this: another warehouse path or other vars
# make dbt re-parse everything.
_MANIFESTS: dict[str, Any] = {}
_MANIFEST_LOCK = threading.Lock()


def parsed_manifest(
    warehouse: Path,
    dbt_vars: Mapping[str, Any],
    *,
    target_path: Path | None = None,
    keep_ephemeral: bool = False,
) -> Any:
    """This process's parsed manifest for the project and vars (parsed now when missing), its
    compile state reset (:func:`_reset_compiled`; ``keep_ephemeral``: but for the ephemeral
    models'); ``None`` when the project does not parse (the build then parses by itself and
    reports the error)."""
    from dbt.cli.main import dbtRunner  # dbt: seconds to import, builds only

    key = build_plan.project_fingerprint(DBT_PROJECT_DIR, {**dbt_vars, "database": warehouse.stem})
    with _MANIFEST_LOCK:
        manifest = _MANIFESTS.get(key)
        if manifest is None:
            args = ["parse", *dbt_args(warehouse, dbt_vars, target_path=target_path)]
            try:
                parsed = dbtRunner().invoke(args)
            finally:
                release_duckdb()
            if not parsed.success or parsed.result is None:
                return None
            manifest = _MANIFESTS[key] = parsed.result
        _reset_compiled(manifest, keep_ephemeral=keep_ephemeral)
        return manifest


def _reset_compiled(manifest: Any, *, keep_ephemeral: bool = False) -> None:
    """Forget what the last build compiled into the manifest. dbt compiles into the manifest
    it is given (``node.compiled_code``, ``extra_ctes_injected``, ``dbt/compilation.py``): a
    second build with the same manifest would believe its ephemeral CTEs already injected and
    fail (``__dbt__cte__fct_invoices does not exist``). Resetting is cheaper than a deep copy
    of the manifest (~0.5 s). ``keep_ephemeral`` keeps the ephemeral models' compiled SQL for
    a build that does not select them (the webhook fast path): dbt then injects it as it is
    (``_recursively_prepend_ctes`` reuses an ephemeral model compiled and injected)."""
    for node in manifest.nodes.values():
        if keep_ephemeral and getattr(node, "is_ephemeral_model", False):
            continue
        if getattr(node, "compiled", False) or getattr(node, "extra_ctes_injected", False):
            node.compiled = False
            node.compiled_code = None
            node.extra_ctes_injected = False
            node.extra_ctes = []


def _runner(warehouse: Path, dbt_vars: Mapping[str, Any], callbacks: list[Any]) -> Any:
    """A ``dbtRunner`` with this process's parsed manifest for the project and vars."""
    from dbt.cli.main import dbtRunner  # dbt: seconds to import, builds only

    manifest = parsed_manifest(warehouse, dbt_vars)
    return dbtRunner(manifest=manifest, callbacks=callbacks)


def existing_warehouse(settings: Settings) -> Path:
    warehouse = settings.warehouse_path.expanduser().resolve()
    if not warehouse.is_file():
        raise TransformError(
            f"The warehouse {warehouse} does not exist: run `invoice-sync extract` first "
            "(or check WAREHOUSE_PATH)."
        )
    return warehouse


def dbt_args(
    warehouse: Path, dbt_vars: Mapping[str, Any], *, target_path: Path | None = None
) -> list[str]:
    """The arguments every invocation shares: this project, the warehouse, the vars, quiet."""
    return [
        "--project-dir",
        str(DBT_PROJECT_DIR),
        "--profiles-dir",
        str(DBT_PROJECT_DIR),
        "--target-path",
        str(target_path or DBT_PROJECT_DIR / "target"),
        "--log-path",
        str(DBT_PROJECT_DIR / "logs"),
        "--vars",
        json.dumps({**dbt_vars, "warehouse_path": str(warehouse)}),
        "--log-level",
        "none",
        "--log-level-file",
        "debug",
        "--no-use-colors",
        "--no-send-anonymous-usage-stats",
    ]


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


def run_source_freshness(settings: Settings) -> FreshnessReport:
    """`dbt source freshness` for the extract logs (``raw_xero.extract_runs``,
    ``raw_hubspot.extract_runs``: one row per successful extract, written even when nothing
    changed), so a quiet night is fresh and a failing extract goes stale. Never raises for
    stale data: the status is the result (warn after 2 h, error after 26 h)."""
    warehouse = existing_warehouse(settings)
    dbt_vars = dbt_vars_for(settings)  # the build's vars: its parsed manifest serves both
    args = ["source", "freshness", *dbt_args(warehouse, dbt_vars)]
    args += ["--output", str(DBT_PROJECT_DIR / "target" / "sources.json")]
    started = time.perf_counter()
    try:
        result = _runner(warehouse, dbt_vars, []).invoke(args)
    finally:
        release_duckdb()
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


def _tidy_test_failures(warehouse: Path, node_results: list[Any]) -> None:
    """Drop the failure views of tests that passed (and the old ``test_failures`` schema);
    drop ``dbt_test_failures`` when nothing is left in it."""
    passed = [
        r.node.alias
        for r in node_results
        if r.node.resource_type == "test" and str(r.status) == "pass"
    ]
    try:
        with duckdb.connect(str(warehouse)) as con:
            con.execute(f"drop schema if exists {LEGACY_TEST_FAILURES_SCHEMA} cascade")
            existing = {
                row[0]
                for row in con.execute(
                    "select view_name from duckdb_views() where schema_name = ?",
                    [TEST_FAILURES_SCHEMA],
                ).fetchall()
            }
            for name in passed:
                if name in existing:
                    con.execute(f'drop view if exists {TEST_FAILURES_SCHEMA}."{name}"')
                    existing.discard(name)
            if not existing:
                con.execute(f"drop schema if exists {TEST_FAILURES_SCHEMA} cascade")
    except duckdb.Error as exc:  # tidying is cosmetic: never fail the build for it
        log.warning("Could not tidy %s: %s", TEST_FAILURES_SCHEMA, exc)


def node_failure(node_result: Any, warehouse: Path) -> NodeFailure:
    node = node_result.node
    message = " ".join(str(node_result.message or "").split())
    failures = getattr(node_result, "failures", None)
    if node.resource_type == "test" and failures:
        message = f"{failures} failing row{'s' if failures != 1 else ''}"
        relation = getattr(node, "relation_name", None)
        if relation:
            message += f", e.g. {_sample_rows(warehouse, relation)} (all in {relation})"
    return NodeFailure(
        resource_type=str(node.resource_type),
        name=node.name,
        status=str(node_result.status),
        message=message[:1000],
    )


def _sample_rows(warehouse: Path, relation: str, limit: int = 3) -> str:
    """The first failing rows of a test (dbt stores them: ``store_failures_as: view``)."""
    try:
        with duckdb.connect(str(warehouse), read_only=True) as con:
            cursor = con.execute(f"select * from {relation} limit {limit}")
            names = [column[0] for column in cursor.description]
            rows = cursor.fetchall()
    except duckdb.Error:
        return "(failing rows unavailable)"
    shown = [
        "{" + ", ".join(f"{name}={value}" for name, value in zip(names, row, strict=True)) + "}"
        for row in rows
    ]
    return "; ".join(shown)[:600]


def release_duckdb() -> None:
    """Close dbt-duckdb's process-wide DuckDB instance so the file can be reopened."""
    try:
        from dbt.adapters.duckdb.connections import DuckDBConnectionManager  # dbt: builds only
    except ImportError:  # pragma: no cover - dbt-duckdb is a dependency
        return
    with DuckDBConnectionManager._LOCK:
        environment = DuckDBConnectionManager._ENV
        DuckDBConnectionManager._ENV = None
        if environment is not None:
            environment.close()

"""How this process invokes dbt: the project's directory, the arguments every invocation
shares, the parsed manifest kept per project and vars (so long-running processes parse once),
and closing dbt-duckdb's process-wide DuckDB instance after each invocation.

The warehouse is the seam's (:mod:`reverse_etl.core.warehouse`): its
:meth:`~reverse_etl.core.warehouse.Warehouse.dbt_target` names the ``profiles.yml`` output
(``--target``) and the environment that output reads, set for the invocation only
(:func:`invoke`): dbt renders ``env_var()`` in ``profiles.yml`` when it loads the profile, at
each invocation (https://docs.getdbt.com/reference/dbt-jinja-functions/env_var). The DuckDB
output reads the file's path from the ``warehouse_path`` var as before. A ``Path`` given
instead of a warehouse is a DuckDB file (the callers written before the seam).

Used by the transform stage (:mod:`reverse_etl.transform`) and the webhook fast path
(:mod:`reverse_etl.fast_path`), which import these names from the transform module.
"""

from __future__ import annotations

import gc
import json
import os
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from reverse_etl.core import build_plan, dbt_schema_cache
from reverse_etl.core.warehouse import DuckDBWarehouse, Warehouse

WarehouseArg = Warehouse | Path

DBT_PROJECT_DIR = Path(__file__).resolve().parents[2] / "dbt_project"


def target_dir() -> Path:
    """Where dbt writes its artifacts: dbt's own ``DBT_TARGET_PATH`` when set, else the
    project's ``target`` (https://docs.getdbt.com/reference/global-configs/json-artifacts).
    Read at each call, so two processes building at once (the test suite's parallel workers)
    can each have their own: dbt rewrites ``manifest.json`` and ``run_results.json`` there."""
    return Path(os.environ.get("DBT_TARGET_PATH") or DBT_PROJECT_DIR / "target")


def log_dir() -> Path:
    """Where dbt writes ``dbt.log``: dbt's own ``DBT_LOG_PATH`` when set, else the project's
    ``logs`` (https://docs.getdbt.com/reference/global-configs/logs)."""
    return Path(os.environ.get("DBT_LOG_PATH") or DBT_PROJECT_DIR / "logs")


# Parsed manifests of this process, by what parsing depends on (the project's files, the vars,
# the database name). dbt-core's "programmatic invocations" guide
# (https://docs.getdbt.com/reference/programmatic-invocations): a manifest returned by `parse`
# can be handed to `dbtRunner(manifest=...)`, which then skips parsing; the profile (the
# warehouse path) and the vars are still read at each invocation when the models compile
# (checked: a build with a pre-parsed manifest writes to the warehouse and honours the vars it
# is given), while what dbt decides at parse time (schema names, materializations) stays with
# the manifest, hence the vars in the key. Long-running processes (`sync --every`, the webhook
# worker) and the test suite parse once; a one-shot command parses once, as before, and dbt's
# partial parsing (target/partial_parse.msgpack) carries that parse to the next process while
# the project and vars are unchanged: the parse is told a placeholder for the DuckDB file
# (:func:`parse_placeholder`), so a new warehouse file does not make dbt re-parse everything.
_MANIFESTS: dict[str, Any] = {}
_MANIFEST_LOCK = threading.Lock()


def parsed_manifest(
    warehouse: WarehouseArg,
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

    key = build_plan.project_fingerprint(
        DBT_PROJECT_DIR, {**dbt_vars, "database": _database_key(as_warehouse(warehouse))}
    )
    with _MANIFEST_LOCK:
        manifest = _MANIFESTS.get(key)
        if manifest is None:
            args = ["parse", *dbt_args(warehouse, dbt_vars, target_path=target_path, parse=True)]
            parsed = invoke(warehouse, dbtRunner(), args)
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


def runner(warehouse: WarehouseArg, dbt_vars: Mapping[str, Any], callbacks: list[Any]) -> Any:
    """A ``dbtRunner`` with this process's parsed manifest for the project and vars."""
    from dbt.cli.main import dbtRunner  # dbt: seconds to import, builds only

    manifest = parsed_manifest(warehouse, dbt_vars)
    return dbtRunner(manifest=manifest, callbacks=callbacks)


def dbt_args(
    warehouse: WarehouseArg,
    dbt_vars: Mapping[str, Any],
    *,
    target_path: Path | None = None,
    parse: bool = False,
) -> list[str]:
    """The arguments every invocation shares: this project, the warehouse's target (and, on
    DuckDB, its file in the ``warehouse_path`` var), the vars, quiet. ``parse``: the arguments
    of a `dbt parse`, whose DuckDB file is :func:`parse_placeholder`'s."""
    chosen = as_warehouse(warehouse)
    target, _ = chosen.dbt_target()
    all_vars = dict(dbt_vars)
    targets = target_path or target_dir()
    if isinstance(chosen, DuckDBWarehouse):
        path = parse_placeholder(chosen.path, targets) if parse else chosen.path
        all_vars["warehouse_path"] = str(path)
    return [
        "--project-dir",
        str(DBT_PROJECT_DIR),
        "--profiles-dir",
        str(DBT_PROJECT_DIR),
        "--target-path",
        str(targets),
        "--log-path",
        str(log_dir()),
        "--target",
        target,
        "--vars",
        json.dumps(all_vars),
        "--log-level",
        "none",
        "--log-level-file",
        "info",
        "--no-use-colors",
        "--no-send-anonymous-usage-stats",
    ]


def parse_placeholder(path: Path, targets: Path) -> Path:
    """The DuckDB file a `dbt parse` is told of: one name per database, under dbt's target
    folder, never opened. dbt keeps a parse for the next process (``partial_parse.msgpack``)
    only while the vars and the profile's connection details are those it was made with
    (``ManifestLoader.build_manifest_state_check`` in dbt-core 1.11 hashes ``--vars`` and
    ``credentials.connection_info()``, which for dbt-duckdb includes ``path``), so the real
    path made every new warehouse file (a fresh warehouse, each test's, each benchmark's) cost
    a full parse, ~3 s. What a parse takes from the profile is the database's name, the file's
    stem (dbt-duckdb's ``DuckDBCredentials``), which this keeps; a build is given the real
    path and the parsed manifest (:func:`runner`), and compiles against the real file."""
    return targets / "parse" / path.name


def as_warehouse(warehouse: WarehouseArg) -> Warehouse:
    """The seam's warehouse; a path is a DuckDB file."""
    return DuckDBWarehouse(warehouse) if isinstance(warehouse, Path) else warehouse


def _database_key(warehouse: Warehouse) -> str:
    """What a parsed manifest is for, beside the project and vars: the DuckDB file's database
    name (its stem, as before), or the engine and the server's database (host, port, name)."""
    if isinstance(warehouse, DuckDBWarehouse):
        return warehouse.path.stem
    return f"{warehouse.engine}:{warehouse.label}"


@contextmanager
def dbt_environment(warehouse: WarehouseArg) -> Iterator[None]:
    """The environment the warehouse's ``profiles.yml`` output reads, set for the block and
    restored after (nothing for DuckDB)."""
    _, env = as_warehouse(warehouse).dbt_target()
    saved = {name: os.environ.get(name) for name in env}
    os.environ.update(env)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


# Python's cyclic GC during a dbt invocation (issue 19, `dbt build --full-refresh` at 100k):
# dbt allocates millions of small objects (Jinja contexts, events, node copies), so the
# default gen-0 threshold of 700 runs ~1,400 young and a dozen full collections a build, each
# full one traversing everything alive: the imported modules and the parsed manifest, which
# the invocation never frees. gc.freeze() moves what is alive when dbt starts into a
# permanent generation the collector skips, and a higher gen-0 threshold collects the young
# generation ~50 times instead (measured with gc.callbacks: 1.9 -> 1.1 CPU-s of collection
# per build, peak RSS unchanged). Both are undone when the last concurrent invocation ends, so
# long-running processes (`sync --every`, the webhook server) collect as usual between
# builds; nothing is leaked: objects frozen meanwhile are freed by reference counting, and
# cycles among them by the next full collection after gc.unfreeze().
# https://docs.python.org/3/library/gc.html#gc.freeze
_GC_GEN0_THRESHOLD = 20_000
_GC_LOCK = threading.Lock()
_gc_depth = 0
_gc_saved_threshold: tuple[int, int, int] = gc.get_threshold()


@contextmanager
def _collector_tuned_for_dbt() -> Iterator[None]:
    """What is alive now frozen out of the collector's way and gen 0 collected less often,
    for the block (nested and concurrent blocks share one setting, undone by the last)."""
    global _gc_depth, _gc_saved_threshold
    with _GC_LOCK:
        if _gc_depth == 0:
            _gc_saved_threshold = gc.get_threshold()
            gc.freeze()
            first, *older = _gc_saved_threshold
            gc.set_threshold(max(first, _GC_GEN0_THRESHOLD), *older)
        _gc_depth += 1
    try:
        yield
    finally:
        with _GC_LOCK:
            _gc_depth -= 1
            if _gc_depth == 0:
                gc.set_threshold(*_gc_saved_threshold)
                gc.unfreeze()


def invoke(warehouse: WarehouseArg, dbt_runner: Any, args: list[str]) -> Any:
    """``dbt_runner.invoke(args)`` in the warehouse's environment, then dbt-duckdb's instance
    released (on DuckDB only: :func:`release`); the collector tuned for dbt meanwhile
    (:func:`_collector_tuned_for_dbt`); dbt's JSON schemas read from, and new ones saved to,
    dbt's target folder (:func:`target_dir`; :mod:`reverse_etl.core.dbt_schema_cache`)."""
    dbt_schema_cache.install(target_dir())
    with dbt_environment(warehouse), _collector_tuned_for_dbt():
        try:
            return dbt_runner.invoke(args)
        finally:
            release(warehouse)
            dbt_schema_cache.save()


def release(warehouse: WarehouseArg) -> None:
    """:func:`release_duckdb` when the warehouse is a DuckDB file; nothing on a server."""
    if isinstance(as_warehouse(warehouse), DuckDBWarehouse):
        release_duckdb()


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

"""The dlt plumbing of the extract: the pipeline on the warehouse (its destination and file
format are the warehouse seam's, :mod:`reverse_etl.core.warehouse`), one run of it (extract,
normalize, load) and the contract tables dlt has not created yet.

The process-wide dlt settings these rely on are set in :mod:`pipelines.run`."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn

import dlt
from dlt.pipeline.exceptions import PipelineStepFailed

from pipelines.dataset_session import DatasetSession
from pipelines.dlt_steps import destination_state_current, discard_empty_packages
from pipelines.extract_log import drop_staging_dataset
from pipelines.housekeeping import finish_pending, first_line, make_private, prune_loaded_packages
from pipelines.load_statistics import refresh_statistics
from reverse_etl.core.errors import InvoiceSyncError
from reverse_etl.core.failures import causes
from reverse_etl.core.settings import Settings

log = logging.getLogger(__name__)

NORMALIZE_WORKERS = 2
PARALLEL_NORMALIZE_ROWS = 50_000
"""An extract of at least this many rows (a backfill) is normalized in
:data:`NORMALIZE_WORKERS` processes. dlt's normalize step is pure Python, about as long as the
extract itself, and runs while the network is idle, so a second process uses the second core
(dlt docs, "Performance" → "Normalize": ``workers``; dlt hands each worker a share of the
extracted files, so the extract rotates its files every ``SOURCES__DATA_WRITER__FILE_MAX_ITEMS``
rows, set in :mod:`pipelines.run`). Below it, starting the processes would cost more than it
saves (an hourly run, a test's small books)."""


def _pipeline(settings: Settings, name: str, dataset: str) -> dlt.Pipeline:
    """The pipeline ``name`` loading ``dataset`` into the warehouse (its dlt destination); its
    working directory and state under ``settings.state_dir / "dlt"``, owner-only."""
    pipelines_dir = Path(settings.state_dir) / "dlt"
    pipelines_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    make_private(pipelines_dir)
    return dlt.pipeline(
        pipeline_name=name,
        pipelines_dir=str(pipelines_dir),
        destination=settings.warehouse.dlt_destination(),
        dataset_name=dataset,
    )


def _run(
    pipeline: dlt.Pipeline, source: Any, session: DatasetSession
) -> tuple[dict[str, float], list[str]]:
    """Extract, normalize and load, like ``pipeline.run`` (which also first finishes a package
    a crashed run left behind); a project error raised inside dlt surfaces as itself. When
    extraction fails, the half-extracted package is dropped, so nothing of this run reaches the
    warehouse. The extract writes the warehouse's file format
    (:attr:`~reverse_etl.core.warehouse.Warehouse.loader_file_format`). Returns the steps'
    wall and CPU seconds, and the ids of the packages loaded. A large extract is normalized in
    :data:`NORMALIZE_WORKERS` processes. What a run with nothing new can leave out (the state
    restore, an empty package) is left out (:mod:`pipelines.dlt_steps`)."""
    timings: dict[str, float] = {}
    load_ids: list[str] = []
    try:
        if not destination_state_current(pipeline, session):
            pipeline.sync_destination()  # restores state from the warehouse if state_dir was wiped
        if pipeline.has_pending_data:
            finish_pending(pipeline)
        started, cpu = time.perf_counter(), time.process_time()
        file_format = session.warehouse.loader_file_format
        extracted = pipeline.extract(source, loader_file_format=file_format)
        timings["extract"] = time.perf_counter() - started
        timings["extract_cpu"] = time.process_time() - cpu
        if discard_empty_packages(pipeline, extracted.loads_ids):
            log.debug("%s: nothing extracted; normalize and load left out", pipeline.pipeline_name)
            return {name: round(value, 3) for name, value in timings.items()}, load_ids
        started, cpu = time.perf_counter(), time.process_time()
        normalized = pipeline.normalize(workers=_normalize_workers(extracted))
        timings["normalize"] = time.perf_counter() - started
        timings["normalize_cpu"] = time.process_time() - cpu
        started, cpu = time.perf_counter(), time.process_time()
        load_ids += list(pipeline.load().loads_ids)
        refresh_statistics(session, normalized.row_counts)
        timings["load"] = time.perf_counter() - started
        timings["load_cpu"] = time.process_time() - cpu
    except PipelineStepFailed as exc:
        _raise_step_failure(pipeline, exc)
    finally:
        make_private(Path(pipeline.pipelines_dir))
    prune_loaded_packages(pipeline)
    log.debug("%s: %s", pipeline.pipeline_name, timings)
    drop_staging_dataset(session)
    return {name: round(value, 3) for name, value in timings.items()}, load_ids


def _raise_step_failure(pipeline: dlt.Pipeline, exc: PipelineStepFailed) -> NoReturn:
    """A failed step as a project error: a project error raised inside dlt surfaces as itself,
    else one saying what was committed; a failed extract's package is dropped first."""
    if exc.step == "extract":
        pipeline.abort_packages()
    cause = _project_error(exc)
    if cause is not None:
        raise cause from None
    if exc.step == "load" and not pipeline.has_pending_data:  # dlt aborted the package
        log.warning(
            "%s: a load job failed terminally; dlt discarded the package and restored the "
            "cursor, so the next run reads those records again. %s",
            pipeline.pipeline_name,
            exc.exception,
        )
        raise InvoiceSyncError(
            f"The {pipeline.pipeline_name} pipeline could not load this run's data: "
            f"{first_line(exc.exception)}. Nothing of it was committed and the cursor "
            "stayed where it was; the next run reads those records again."
        ) from exc
    raise InvoiceSyncError(
        f"The {pipeline.pipeline_name} pipeline failed at the {exc.step} step: "
        f"{first_line(exc.exception)}. Nothing of this run was committed unless the step "
        "was 'load'; run again (dlt resumes a pending load first)."
    ) from exc


def _normalize_workers(extracted: Any) -> int:
    """:data:`NORMALIZE_WORKERS` for an extract of :data:`PARALLEL_NORMALIZE_ROWS` rows or more
    (dlt's ``ExtractInfo`` metrics: rows written per table), else 1."""
    rows = sum(
        table.items_count
        for step in (getattr(extracted, "metrics", None) or {}).values()
        for metrics in step
        for table in metrics["table_metrics"].values()
    )
    return NORMALIZE_WORKERS if rows >= PARALLEL_NORMALIZE_ROWS else 1


def _project_error(exc: BaseException) -> InvoiceSyncError | None:
    return next((link for link in causes(exc) if isinstance(link, InvoiceSyncError)), None)


_DUCKDB_TYPES: dict[str, Callable[[dict[str, Any]], str]] = {
    "text": lambda c: "VARCHAR",
    "decimal": lambda c: f"DECIMAL({c.get('precision', 38)},{c.get('scale', 9)})",
    "date": lambda c: "DATE",
    "bool": lambda c: "BOOLEAN",
    "timestamp": lambda c: "TIMESTAMP WITH TIME ZONE",
    "bigint": lambda c: "BIGINT",
}


def _ensure_tables(session: DatasetSession, tables: dict[str, dict[str, dict[str, Any]]]) -> None:
    """Create contract tables dlt did not create because no row has reached them yet.

    dlt creates a table only when data arrives, but dbt's sources must always resolve
    (docs/contracts.md). The DDL matches what dlt writes (same names, types under names
    DuckDB and PostgreSQL both read, and bookkeeping columns), so a later dlt load finds the
    table and only adds what is missing.
    """
    schema = session.dataset
    session.execute(f'create schema if not exists "{schema}"')
    for table, columns in tables.items():
        defs = [
            f'"{name}" {_DUCKDB_TYPES[hints["data_type"]](hints)}'
            + ("" if hints.get("nullable", True) else " NOT NULL")
            for name, hints in columns.items()
        ]
        if "__" in table:
            defs += [
                '"_dlt_root_id" VARCHAR NOT NULL',
                '"_dlt_parent_id" VARCHAR NOT NULL',
                '"_dlt_list_idx" BIGINT NOT NULL',
                '"_dlt_id" VARCHAR NOT NULL',
            ]
        else:
            defs += ['"_dlt_load_id" VARCHAR NOT NULL', '"_dlt_id" VARCHAR NOT NULL']
        session.execute(f'create table if not exists "{schema}"."{table}" ({", ".join(defs)})')

"""Keeping dlt's working files healthy and private (issue 10): heal a package that cannot
load, delete what loaded packages leave behind, and keep the files owner-only.

See :mod:`pipelines.run` for the dlt settings these rely on (auto-abort on a terminal job
failure, completed jobs deleted, staging dataset truncated).
"""

from __future__ import annotations

import logging
from pathlib import Path

import dlt
from dlt.pipeline.exceptions import PipelineStepFailed

from reverse_etl.core.errors import InvoiceSyncError
from reverse_etl.core.failures import causes
from reverse_etl.core.warehouse import DuckDBWarehouse, Warehouse

log = logging.getLogger(__name__)


def finish_pending(pipeline: dlt.Pipeline) -> None:
    """Load what a crashed run left behind. If it fails terminally, dlt aborts it and
    restores the state (``LOAD__AUTO_ABORT_ON_TERMINAL_ERROR``): log that and go on with this
    run, which reads the same records again from the restored cursor."""
    try:
        pipeline.normalize()
        pipeline.load()
    except PipelineStepFailed as exc:
        if exc.step != "load" or pipeline.has_pending_data or _caused_by_project_error(exc):
            raise
        log.warning(
            "%s: a package left by an earlier run could not be loaded (%s); dlt discarded it "
            "and restored the cursor, so this run reads those records again.",
            pipeline.pipeline_name,
            first_line(exc.exception),
        )


def first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def prune_loaded_packages(pipeline: dlt.Pipeline) -> None:
    """Delete what dlt keeps of packages already loaded (schema and state copies): recovery
    needs only pending ones, and the loaded ones pile up (issue 10: ~280 MB per full refresh
    at 100k invoices before ``delete_completed_jobs``)."""
    storage = pipeline._get_load_storage()  # dlt has no public call for this (1.31)
    for load_id in pipeline.list_completed_load_packages():
        storage.delete_loaded_package(load_id)


def make_private(directory: Path) -> None:
    """``directory`` and everything below it owner-only (0700 directories, 0600 files)."""
    if not directory.is_dir():
        return
    directory.chmod(0o700)
    for child in directory.rglob("*"):
        if not child.is_symlink():
            child.chmod(0o700 if child.is_dir() else 0o600)


def secure_warehouse(warehouse: Warehouse) -> None:
    """The DuckDB file (and its WAL) readable by its owner only: it holds invoice data. A
    server's files (PostgreSQL) are the server's: nothing to do here."""
    if not isinstance(warehouse, DuckDBWarehouse):
        return
    database = warehouse.path
    for path in (database, database.with_name(database.name + ".wal")):
        if path.is_file():
            path.chmod(0o600)


def _caused_by_project_error(exc: BaseException) -> bool:
    return any(isinstance(link, InvoiceSyncError) for link in causes(exc))

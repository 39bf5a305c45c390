"""The working warehouse held by another process: one typed error, wherever the file is opened.

DuckDB lets one process open a database file for writing, and no other process open it at all
while that writer holds it (a read-only holder likewise blocks writers). When a notebook, the
DuckDB CLI or DBeaver has ``WAREHOUSE_PATH`` open, the sync's first open fails with DuckDB's
lock conflict. That error reaches us wrapped differently by each opener: dlt
(``PipelineStepFailed`` / ``DestinationConnectionError``, or our own error quoting it), dbt (a
``TransformError`` quoting dbt's message), the push and the publish (``duckdb.IOException``
directly). :func:`warehouse_busy_is_typed` turns any of them into
:class:`~reverse_etl.core.errors.WarehouseBusyError` with the warehouse's and the analysts'
paths, through the one classifier and message, :func:`reverse_etl.core.failures.busy_error`.

On PostgreSQL no reader blocks the sync (MVCC) and runs exclude each other by the advisory
lock; what a server adds is a role without a right, which the same block turns into the one
line of :func:`reverse_etl.core.warehouse_setup.privilege_error`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from reverse_etl.core.failures import busy_error, describe_process
from reverse_etl.core.settings import Settings
from reverse_etl.core.warehouse_setup import privilege_error

__all__ = ["busy_error", "describe_process", "warehouse_busy_is_typed"]


@contextmanager
def warehouse_busy_is_typed(settings: Settings) -> Iterator[None]:
    """Re-raise any error caused by a lock conflict on the warehouse as WarehouseBusyError, and
    a server's "permission denied" as the WarehouseError naming the privilege."""
    try:
        yield
    except Exception as exc:
        busy = busy_error(exc, settings.warehouse_path, settings.analytics_path)
        if busy is None and settings.warehouse_url:
            busy = privilege_error(exc, settings.warehouse)
        if busy is None or busy is exc:
            raise
        raise busy from exc

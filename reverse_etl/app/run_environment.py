"""The environment every run of the warehouse works in, written once (issue 21).

`extract`, `transform`, `push`, the hourly `sync` and the webhook batch all run inside the same
blocks, in this order:

1. :func:`~reverse_etl.core.warehouse_busy.warehouse_busy_is_typed` — an error caused by
   DuckDB's file lock (another process has the warehouse open) becomes
   :class:`~reverse_etl.core.errors.WarehouseBusyError` (exit 4); a PostgreSQL role's missing
   privilege becomes one line naming it and its ``GRANT``;
2. :meth:`~reverse_etl.core.warehouse.Warehouse.lock` — our own lock (a ``flock`` beside the
   DuckDB file, a PostgreSQL advisory lock), so two runs never overlap; the ``purpose`` is
   what another run is told holds it;
3. on a server warehouse, the schemas the run needs, created when missing
   (:func:`~reverse_etl.core.warehouse_setup.ensure_warehouse`: one catalogue query when they
   exist; nothing on DuckDB, whose first run creates the file);
4. :func:`~reverse_etl.app.sandbox_mode.sandbox_if_needed` — in sandbox mode, the emulators
   answer for the block's duration. Off for the runs that never call Xero or HubSpot
   (`transform`) and for the webhook batch, whose server holds the sandbox for its lifetime.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager

from reverse_etl.app.sandbox_mode import sandbox_if_needed
from reverse_etl.core.settings import Settings
from reverse_etl.core.warehouse_busy import warehouse_busy_is_typed
from reverse_etl.core.warehouse_setup import ensure_warehouse


@contextmanager
def run_environment(settings: Settings, purpose: str, *, sandbox: bool = True) -> Iterator[None]:
    """Busy errors typed, the warehouse lock held, its schemas in place, and (``sandbox``) the
    emulators up."""
    warehouse = settings.warehouse
    with ExitStack() as stack:
        stack.enter_context(warehouse_busy_is_typed(settings))
        stack.enter_context(warehouse.lock(purpose))
        ensure_warehouse(warehouse)
        if sandbox:
            stack.enter_context(sandbox_if_needed(settings))
        yield

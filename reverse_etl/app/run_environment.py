"""The environment every run of the warehouse works in, written once (issue 21).

`extract`, `transform`, `push`, the hourly `sync` and the webhook batch all run inside the same
three blocks, in this order:

1. :func:`~reverse_etl.core.warehouse_busy.warehouse_busy_is_typed` — an error caused by
   DuckDB's file lock (another process has the warehouse open) becomes
   :class:`~reverse_etl.core.errors.WarehouseBusyError` (exit 4);
2. :func:`~reverse_etl.core.lock.sync_lock` — our own lock, so two runs never overlap; the
   ``purpose`` is what another run is told holds it;
3. :func:`~reverse_etl.app.sandbox_mode.sandbox_if_needed` — in sandbox mode, the emulators
   answer for the block's duration. Off for the runs that never call Xero or HubSpot
   (`transform`) and for the webhook batch, whose server holds the sandbox for its lifetime.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager

from reverse_etl.app.sandbox_mode import sandbox_if_needed
from reverse_etl.core.lock import sync_lock
from reverse_etl.core.settings import Settings
from reverse_etl.core.warehouse_busy import warehouse_busy_is_typed


@contextmanager
def run_environment(settings: Settings, purpose: str, *, sandbox: bool = True) -> Iterator[None]:
    """Busy errors typed, the warehouse lock held, and (``sandbox``) the emulators up."""
    with ExitStack() as stack:
        stack.enter_context(warehouse_busy_is_typed(settings))
        stack.enter_context(sync_lock(settings.warehouse_path, purpose))
        if sandbox:
            stack.enter_context(sandbox_if_needed(settings))
        yield

"""The working warehouse held by another process: one typed error, wherever the file is opened.

DuckDB lets one process open a database file for writing, and no other process open it at all
while that writer holds it (a read-only holder likewise blocks writers). When a notebook, the
DuckDB CLI or DBeaver has ``WAREHOUSE_PATH`` open, the sync's first open fails with DuckDB's
``IO Error: Could not set lock on file "…": Conflicting lock is held in <program> (PID n)``
(DuckDB's concurrency docs: https://duckdb.org/docs/current/connect/concurrency). That error
reaches us wrapped differently by each opener: dlt (``PipelineStepFailed`` /
``DestinationConnectionError``, or our own error quoting it), dbt (a ``TransformError`` quoting
dbt's message), the push and the publish (``duckdb.IOException`` directly). :func:`busy_error`
finds DuckDB's text anywhere in an exception's chain and turns it into
:class:`~reverse_etl.core.errors.WarehouseBusyError`: one line naming the holder and the fix.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from reverse_etl.core.errors import WarehouseBusyError
from reverse_etl.core.settings import Settings

_CONFLICT = re.compile(r"Conflicting lock is held in (?P<program>.+?) \(PID (?P<pid>\d+)\)")


def busy_error(
    exc: BaseException, warehouse_path: Path, analytics_path: Path
) -> WarehouseBusyError | None:
    """The :class:`WarehouseBusyError` for ``exc`` if DuckDB's lock conflict caused it (also
    when ``exc`` already is one, raised by a lower layer that knew neither the holder's command
    line nor ``ANALYTICS_PATH``: the message is rebuilt with both)."""
    for link in _chain(exc):
        match = _CONFLICT.search(str(link))
        if match:
            pid = int(match.group("pid"))
            holder = describe_process(pid) or match.group("program")
            return WarehouseBusyError(
                f"The warehouse {warehouse_path} is open in another process ({holder}, "
                f"PID {pid}), so this run stopped there; nothing stored is lost and the next "
                f"run catches up. Close that program (or end PID {pid}); analysts should open "
                f"the published copy {analytics_path} instead, which never blocks the sync.",
                pid=pid,
            )
    return exc if isinstance(exc, WarehouseBusyError) else None


@contextmanager
def warehouse_busy_is_typed(settings: Settings) -> Iterator[None]:
    """Re-raise any error caused by a lock conflict on the warehouse as WarehouseBusyError."""
    try:
        yield
    except Exception as exc:
        busy = busy_error(exc, settings.warehouse_path, settings.analytics_path)
        if busy is None or busy is exc:
            raise
        raise busy from exc


def describe_process(pid: int, limit: int = 80) -> str | None:
    """The holder's command line (Linux ``/proc``), shortened; None when it cannot be read."""
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return None
    words = [w for w in raw.decode("utf-8", "replace").split("\0") if w]
    if not words:
        return None
    words[0] = Path(words[0]).name
    text = " ".join(words)
    text = " ".join(text.split())  # one line, whatever the arguments hold
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """``exc``, its causes and contexts, and what dlt wraps in ``.exception``."""
    seen: set[int] = set()
    todo: list[BaseException] = [exc]
    while todo:
        current = todo.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        for nxt in (
            current.__cause__,
            current.__context__,
            getattr(current, "exception", None),
        ):
            if isinstance(nxt, BaseException):
                todo.append(nxt)

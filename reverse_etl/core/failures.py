"""Any exception → one project error with a one-line message naming the cause.

The CLI edge, ``sync --every`` and the webhook worker all call :func:`as_project_error`, so a
failure deep inside dlt, dbt or DuckDB reads the same everywhere and never as a traceback.

Libraries wrap the real cause: dlt turns a DuckDB lock conflict into ``DestinationConnectionError``
("check … credentials … internet connection"), dbt into its own exceptions. So the chain
(``__cause__``, ``__context__``, dlt's ``.exception``) is walked and the most specific cause
wins: a project error raised inside a library surfaces as itself; a DuckDB error is classified
by DuckDB's own wording (``Could not set lock on file``: another process holds the file;
``not a valid DuckDB database``: corrupt; ``read-only`` / ``Permission denied``: cannot write).

This module holds the one exception-chain walker (:func:`causes`) and the one classifier of
DuckDB's lock conflict with its one message (:func:`busy_error`): the CLI edge, the loops, the
warehouse openers (:mod:`reverse_etl.core.sync_log`, :mod:`reverse_etl.core.warehouse_busy`,
the publish) and the extract (:mod:`pipelines.run`) all use them. DuckDB's conflict reads
``IO Error: Could not set lock on file "…": Conflicting lock is held in <program> (PID n)``
(DuckDB's concurrency docs: https://duckdb.org/docs/current/connect/concurrency).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from reverse_etl.core.errors import (
    InvoiceSyncError,
    UnexpectedError,
    WarehouseBusyError,
    WarehouseError,
)

_MAX_MESSAGE = 300
_CONFLICT = re.compile(r"Conflicting lock is held in (?P<program>.+?) \(PID (?P<pid>\d+)\)")


def causes(exc: BaseException) -> Iterator[BaseException]:
    """``exc`` and everything it wraps, outermost first, each once."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        nested = getattr(current, "exception", None)
        current = current.__cause__ or (
            nested if isinstance(nested, BaseException) else current.__context__
        )


def as_project_error(exc: BaseException) -> InvoiceSyncError:
    """The project error that best explains ``exc`` (itself when it already is one).

    A specific project error (an auth error, a rejected record…) wins, unless its message is
    DuckDB's lock conflict passed on as text (dbt reports it so): the warehouse being busy is
    the cause the loops must recognise, to retry. The bare base class, used by wrappers such
    as the pipeline runner's "failed at the load step", gives way to a DuckDB cause beneath."""
    chain = list(causes(exc))
    specific = next(
        (
            item
            for item in chain
            if isinstance(item, InvoiceSyncError) and type(item) is not InvoiceSyncError
        ),
        None,
    )
    if specific is not None and not mentions_lock(str(specific)):
        return specific
    for item in chain:
        warehouse = _warehouse_error(item)
        if warehouse is not None:
            return warehouse
    for item in chain:
        if mentions_lock(str(item)):
            return _busy(item)
    for item in chain:
        if isinstance(item, InvoiceSyncError):
            return item
    for item in chain:
        if isinstance(item, OSError) and item.strerror:
            where = f" ({item.filename})" if item.filename else ""
            return WarehouseError(f"{item.strerror}{where}: free space or fix the permissions.")
    innermost = chain[-1]
    return UnexpectedError(f"{type(innermost).__name__}: {one_line(str(innermost))}")


def mentions_lock(text: str) -> bool:
    """DuckDB's lock conflict, in its own words (the one test for it)."""
    lowered = text.lower()
    return "could not set lock" in lowered or "conflicting lock" in lowered


def busy_error(
    exc: BaseException,
    warehouse_path: Path | None = None,
    analytics_path: Path | None = None,
) -> WarehouseBusyError | None:
    """The :class:`WarehouseBusyError` for ``exc`` if DuckDB's lock conflict caused it, found
    anywhere in its chain (also when ``exc`` already is one, raised by a lower layer that knew
    neither the holder's command line nor ``ANALYTICS_PATH``: the message is rebuilt with
    what the caller knows)."""
    link = next((item for item in causes(exc) if mentions_lock(str(item))), None)
    if link is None:
        return exc if isinstance(exc, WarehouseBusyError) else None
    return _busy(link, warehouse_path, analytics_path)


def _busy(
    link: BaseException, warehouse_path: Path | None = None, analytics_path: Path | None = None
) -> WarehouseBusyError:
    """The one message: the holder (its command line when ``/proc`` tells it), what was lost
    (nothing), and the fix."""
    match = _CONFLICT.search(str(link))
    pid = int(match.group("pid")) if match else None
    if match and pid is not None:
        holder = f"{describe_process(pid) or match.group('program')}, PID {pid}"
        fix = f"Close that program (or end PID {pid})"
    else:
        holder = one_line(str(link))
        fix = "Close that process (a DuckDB shell, a notebook) or wait"
    where = f"The warehouse {warehouse_path}" if warehouse_path else "The warehouse"
    analysts = (
        f"; analysts should open the published copy {analytics_path} instead, which never "
        "blocks the sync"
        if analytics_path
        else ""
    )
    return WarehouseBusyError(
        f"{where} is busy: another process has it open ({holder}), so this run stopped there; "
        f"nothing stored is lost and the next run catches up. {fix}{analysts}.",
        pid=pid,
    )


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


def one_line(text: str) -> str:
    """The first line of ``text``, shortened: library messages can run to many lines."""
    first = next((line.strip() for line in text.splitlines() if line.strip()), "")
    return first if len(first) <= _MAX_MESSAGE else first[: _MAX_MESSAGE - 1] + "…"


def _warehouse_error(exc: BaseException) -> InvoiceSyncError | None:
    if type(exc).__module__.startswith("psycopg2"):
        return _server_error(exc)
    if not type(exc).__module__.startswith(("duckdb", "_duckdb")):
        return None
    message = one_line(str(exc))
    lowered = message.lower()
    if mentions_lock(message):
        return _busy(exc)
    if "not a valid duckdb database" in lowered or "corrupt" in lowered:
        return WarehouseError(
            f"The warehouse file is damaged ({message}). Move it aside; the next sync "
            "rebuilds it from Xero and HubSpot."
        )
    if "read-only" in lowered or "read only" in lowered or "permission denied" in lowered:
        return WarehouseError(
            f"The warehouse cannot be written ({message}). Make the file and its folder "
            "writable, or point WAREHOUSE_PATH elsewhere."
        )
    return WarehouseError(f"The warehouse failed: {message}")


def _server_error(exc: BaseException) -> InvoiceSyncError | None:
    """A PostgreSQL warehouse that cannot be reached or logged in to (psycopg2's
    ``OperationalError``: libpq's message names the host and the reason, never the password);
    other server errors keep their own classification (a privilege:
    :func:`reverse_etl.core.warehouse_setup.privilege_error`)."""
    if type(exc).__name__ != "OperationalError":
        return None
    return WarehouseError(
        f"The PostgreSQL warehouse cannot be reached ({one_line(str(exc))}). Check that the "
        "server runs and that WAREHOUSE_URL's host, port, user and password are right."
    )

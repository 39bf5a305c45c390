"""Any exception → one project error with a one-line message naming the cause.

The CLI edge, ``sync --every`` and the webhook worker all call :func:`as_project_error`, so a
failure deep inside dlt, dbt or DuckDB reads the same everywhere and never as a traceback.

Libraries wrap the real cause: dlt turns a DuckDB lock conflict into ``DestinationConnectionError``
("check … credentials … internet connection"), dbt into its own exceptions. So the chain
(``__cause__``, ``__context__``, dlt's ``.exception``) is walked and the most specific cause
wins: a project error raised inside a library surfaces as itself; a DuckDB error is classified
by DuckDB's own wording (``Could not set lock on file``: another process holds the file;
``not a valid DuckDB database``: corrupt; ``read-only`` / ``Permission denied``: cannot write).
"""

from __future__ import annotations

from collections.abc import Iterator

from reverse_etl.core.errors import (
    InvoiceSyncError,
    UnexpectedError,
    WarehouseBusyError,
    WarehouseError,
)

_MAX_MESSAGE = 300


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
    if specific is not None and not _mentions_lock(str(specific)):
        return specific
    for item in chain:
        warehouse = _warehouse_error(item)
        if warehouse is not None:
            return warehouse
    for item in chain:
        if _mentions_lock(str(item)):
            return _busy(one_line(str(item)))
    for item in chain:
        if isinstance(item, InvoiceSyncError):
            return item
    for item in chain:
        if isinstance(item, OSError) and item.strerror:
            where = f" ({item.filename})" if item.filename else ""
            return WarehouseError(f"{item.strerror}{where}: free space or fix the permissions.")
    innermost = chain[-1]
    return UnexpectedError(f"{type(innermost).__name__}: {one_line(str(innermost))}")


def _mentions_lock(text: str) -> bool:
    lowered = text.lower()
    return "could not set lock" in lowered or "conflicting lock" in lowered


def _busy(message: str) -> WarehouseBusyError:
    return WarehouseBusyError(
        f"The warehouse is busy: another process has it open ({message}). Close that "
        "process (a DuckDB shell, a notebook) or wait; the next run retries."
    )


def one_line(text: str) -> str:
    """The first line of ``text``, shortened: library messages can run to many lines."""
    first = next((line.strip() for line in text.splitlines() if line.strip()), "")
    return first if len(first) <= _MAX_MESSAGE else first[: _MAX_MESSAGE - 1] + "…"


def _warehouse_error(exc: BaseException) -> InvoiceSyncError | None:
    if not type(exc).__module__.startswith(("duckdb", "_duckdb")):
        return None
    message = one_line(str(exc))
    lowered = message.lower()
    if _mentions_lock(message):
        return _busy(message)
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

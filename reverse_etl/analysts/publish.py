"""Publish the analysts' database: a consistent copy of the warehouse, swapped in atomically.

Analysts and the hourly sync cannot share the working warehouse: DuckDB lets no other process
open a file while one writes it, and a read-only session blocks the writer in turn. So after
each run whose transform succeeded, the sync writes what analysts use into a *new* DuckDB file
beside ``ANALYTICS_PATH`` and renames it over the old one with :func:`os.replace` (atomic on
one POSIX filesystem). The sync never opens ``ANALYTICS_PATH`` itself, so an analyst's session
there can never block it; a session opened before the rename keeps reading the old file (its
descriptor still points at the old inode, which Linux keeps until the last descriptor closes),
and a connection opened after it sees the new data.

How: the warehouse file (and its write-ahead log, if any) is copied byte for byte while a
read-only connection holds DuckDB's shared lock on it, so no process can write it meanwhile;
the copy is opened, trimmed to what analysts use, given the freshness tables, checkpointed and
closed (no write-ahead log left), given mode 0640, and renamed into place. Copying bytes
(``shutil.copyfile``: ``copy_file_range``/``sendfile`` in the kernel) costs a fraction of
re-writing every table: at 100,000 invoices, rebuilding the file table by table (``ATTACH`` +
``CREATE TABLE AS``) took ~12 CPU-seconds, more than the whole hourly run's 5 % budget.

What is kept, by rule rather than by list (so tables other stages add appear by themselves):

- the schemas :data:`PUBLISHED_SCHEMAS`: ``marts``, ``intermediate``, ``staging``,
  ``reverse_etl``, ``sync_log``, ``raw_xero`` (the finance history: ``invoice_versions`` and
  whatever other Xero objects the extract loads) and ``raw_hubspot`` (what HubSpot holds;
  ``staging`` reads it);
- dbt's ``staging`` views stay views: DuckDB stores a view's SQL without its own catalog's name,
  so in the copy they read the copy's own tables (checked before publishing), never the working
  file;
- dropped: every other schema (dbt's ``test_failures``, dlt's ``*_staging``), everything in
  ``main``, and dlt's bookkeeping tables (``_dlt_*``, including its pipeline state). Their
  blocks are freed, not scrubbed: the file is a copy of the warehouse, which holds no
  credentials (tokens live in their own file).

Plus ``meta.sync_status`` (one row per Xero organisation: when this copy was published, by which
run, how that run ended, and the organisation's Xero cursor), ``meta.xero_cursors`` (every
cursor the extract keeps) and ``meta.published_tables``, so an analyst can tell stale data from
a quiet hour.

On PostgreSQL (``WAREHOUSE_URL``; :attr:`~reverse_etl.core.warehouse.Warehouse.analysts_copy`
is False) there is no copy: the server's MVCC lets analysts' sessions read the warehouse while
the sync writes it (PostgreSQL docs, "Concurrency Control" → "Introduction": "reading never
blocks writing and writing never blocks reading"), so :func:`publish_analytics` writes and
records nothing and its report says once, in the run's ``[publish]`` line, where analysts read.
Freshness is ``sync_log`` there, which the run itself writes.

Mode 0640 (owner writes, the file's group reads, others nothing): the file exists to be read
by people other than the sync's user, but it is financial data, so never world-readable — not
even for a moment: the copy (and the write-ahead log copied with it) is created 0640 with
``O_EXCL``, and DuckDB's own files for it (its ``.wal``, created by DuckDB with the process
umask) are written under a umask that adds ``027``, so a publish killed half-way leaves nothing
more readable than the published file.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import duckdb

from reverse_etl.core.errors import PublishError
from reverse_etl.core.private_files import shared_folder, umask_at_least
from reverse_etl.core.settings import Settings
from reverse_etl.core.warehouse_busy import busy_error

log = logging.getLogger(__name__)

PUBLISHED_SCHEMAS = (
    "marts",
    "intermediate",
    "staging",
    "reverse_etl",
    "sync_log",
    "raw_xero",
    "raw_hubspot",
)
FILE_MODE = 0o640
R = TypeVar("R")
Timed = Callable[[str, Callable[[], Any]], Any]
Cursor = tuple[str, str, datetime | None]  # (tenant_id, resource, cursor)


@dataclass(frozen=True)
class RunOutcome:
    """How the run that produced the published data ended (``meta.sync_status``)."""

    run_id: str | None
    status: str  # success | partial (HubSpot rejected records) | failed (the push failed)
    detail: str = ""
    #: (tenant_id, resource, cursor) of every cursor the extract keeps: handed in by the caller
    #: (the sync reads them with :func:`pipelines.xero_cursors.xero_cursors`), so the analysts'
    #: side reads nothing of the extract's dlt state itself.
    xero_cursors: tuple[Cursor, ...] = ()


@dataclass(frozen=True)
class NoAnalystsCopy:
    """The publish on an engine that needs no analysts' copy (PostgreSQL): nothing written."""

    warehouse: str  # the warehouse's label: its URL with the password masked

    def summary(self) -> str:
        return (
            f"No analysts' copy on PostgreSQL: analysts query the warehouse {self.warehouse} "
            "directly (marts, reverse_etl, sync_log); ANALYTICS_PATH is not used."
        )


@dataclass(frozen=True)
class PublishReport:
    path: Path
    tables: int
    rows: int
    size_bytes: int
    seconds: float

    @property
    def size_mb(self) -> float:
        return self.size_bytes / 2**20

    def summary(self) -> str:
        return (
            f"Published {self.tables} tables ({self.rows:,} rows, {self.size_mb:.1f} MB) for "
            f"analysts to {self.path} in {self.seconds:.1f}s."
        )


def push_then_publish(
    settings: Settings,
    push: Callable[[str], R],
    *,
    run_id: str | None = None,
    timed: Timed = lambda _name, work: work(),
    cursors: Callable[[], Iterable[Cursor]] = tuple,
) -> tuple[R, PublishReport | NoAnalystsCopy]:
    """Run ``push(run_id)``, then publish with its outcome; the end of every run whose transform
    succeeded. When the push raises, the data is still consistent (the transform succeeded),
    so it is published marked ``failed`` and the push's error is raised. ``timed(name, work)``
    lets the sync time and print each stage; ``run_id`` is the sync's run (default: a new one);
    ``cursors()`` gives the extract's Xero cursors for ``meta`` (read after the push)."""
    run_id = run_id or str(uuid.uuid4())

    def with_cursors(outcome: RunOutcome) -> RunOutcome:
        if not settings.warehouse.analysts_copy:
            return outcome  # no copy to record them in: the extract's state is not read
        return replace(outcome, xero_cursors=tuple(cursors()))

    try:
        pushed = timed("push", lambda: push(run_id))
    except Exception as exc:
        detail = " ".join(f"push: {type(exc).__name__}: {exc}".split())
        failed = RunOutcome(run_id, "failed", detail)
        try:
            timed("publish", lambda: publish_analytics(settings, with_cursors(failed)))
        except Exception as publish_exc:
            log.warning("The analysts' database was not published: %s", publish_exc)
        raise
    rejected = int(getattr(pushed, "rejected", 0) or 0)
    outcome = (
        RunOutcome(run_id, "partial", f"HubSpot rejected {rejected} record(s); see sync_log")
        if rejected
        else RunOutcome(run_id, "success")
    )
    return pushed, timed("publish", lambda: publish_analytics(settings, with_cursors(outcome)))


def publish_analytics(
    settings: Settings, outcome: RunOutcome, *, now: datetime | None = None
) -> PublishReport | NoAnalystsCopy:
    """Write the analysts' database and swap it in; see the module docstring. On an engine
    whose analysts query the warehouse itself (PostgreSQL), nothing: :class:`NoAnalystsCopy`."""
    if not settings.warehouse.analysts_copy:
        return NoAnalystsCopy(settings.warehouse.label)
    started = time.perf_counter()
    warehouse = settings.warehouse_path.expanduser().resolve()
    target = settings.analytics_path.expanduser().resolve()
    if not warehouse.is_file():
        raise PublishError(f"Nothing to publish: the warehouse {warehouse} does not exist yet.")
    shared_folder(target.parent)
    for stale in target.parent.glob(f".{target.name}.*.publishing"):
        _remove(stale)  # left by a publish that was killed; publishes run under the sync lock
    temp = target.with_name(f".{target.name}.{os.getpid()}.publishing")
    try:
        with umask_at_least(0o027):
            tables, rows = _write(settings, warehouse, temp, outcome, now or datetime.now(UTC))
        os.chmod(temp, FILE_MODE)
        _fsync(temp)
        os.replace(temp, target)
        _fsync(target.parent)
    except BaseException as exc:
        _remove(temp)
        busy = busy_error(exc, settings.warehouse_path, settings.analytics_path)
        if busy is not None:
            raise busy from exc
        if isinstance(exc, duckdb.Error | OSError):
            raise PublishError(
                f"Could not publish the analysts' database {target}: {type(exc).__name__}: "
                f"{' '.join(str(exc).split())}. The previous copy is unchanged; the next run "
                "publishes again."
            ) from exc
        raise
    report = PublishReport(
        path=target,
        tables=tables,
        rows=rows,
        size_bytes=target.stat().st_size,
        seconds=time.perf_counter() - started,
    )
    log.debug(report.summary())  # the run prints it as its [publish] line: once, not twice
    return report


def _write(
    settings: Settings, warehouse: Path, temp: Path, outcome: RunOutcome, now: datetime
) -> tuple[int, int]:
    # A read-only connection holds DuckDB's shared lock: no process can write the warehouse
    # while its bytes are copied (an external writer makes this a WarehouseBusyError).
    with duckdb.connect(str(warehouse), read_only=True):
        _copy_new(warehouse, temp)
        wal = warehouse.with_name(warehouse.name + ".wal")
        if wal.exists():  # committed changes not yet checkpointed: replayed when temp opens
            _copy_new(wal, temp.with_name(temp.name + ".wal"))
    with duckdb.connect(str(temp)) as con:
        try:
            con.execute("begin")
            _drop_scratch(con)
            con.execute("create schema meta")
            kept = con.execute(
                "select schema_name, table_name, estimated_size from duckdb_tables() "
                "where schema_name <> 'meta' order by all"
            ).fetchall()
            _write_meta(con, settings, outcome, now, kept)
            con.execute("commit")
        except BaseException:
            with contextlib.suppress(duckdb.Error):  # keep the original error, not "aborted"
                con.execute("rollback")
            raise
        _check_views_bind(con)
        con.execute("checkpoint")
    if temp.with_name(temp.name + ".wal").exists():
        raise PublishError(f"{temp} kept a write-ahead log after checkpoint; not publishing it.")
    return len(kept), sum(int(rows or 0) for _, _, rows in kept)


def _drop_scratch(con: duckdb.DuckDBPyConnection) -> None:
    """Everything outside the published schemas, and dlt's bookkeeping tables inside them."""
    schemas = {
        schema
        for (schema,) in con.execute(
            "select schema_name from duckdb_schemas() where not internal "
            "and database_name = current_database()"
        ).fetchall()
    }
    for schema in sorted(schemas - set(PUBLISHED_SCHEMAS) - {"main"}):
        con.execute(f"drop schema {_ident(schema)} cascade")
    for kind, schema, name in con.execute(
        "select 'view', schema_name, view_name from duckdb_views() "
        "where not internal and database_name = current_database() and "
        "(schema_name = 'main' or view_name like '\\_dlt\\_%' escape '\\') "
        "union all select 'table', schema_name, table_name from duckdb_tables() "
        "where database_name = current_database() and "
        "(schema_name = 'main' or table_name like '\\_dlt\\_%' escape '\\')"
    ).fetchall():
        con.execute(f"drop {kind} {_ident(schema)}.{_ident(name)} cascade")


def _check_views_bind(con: duckdb.DuckDBPyConnection) -> None:
    """Every view left must resolve inside the published file (DuckDB stores view SQL without
    its own catalog's name, so dbt's views read the copy's tables)."""
    views = con.execute(
        "select schema_name, view_name from duckdb_views() where not internal "
        "and database_name = current_database()"
    ).fetchall()
    for schema, name in views:
        try:
            con.execute(f"select * from {_ident(schema)}.{_ident(name)} limit 0")
        except duckdb.Error as exc:
            raise PublishError(
                f"The view {schema}.{name} does not resolve in the published copy: "
                f"{' '.join(str(exc).split())}. Keep the tables it reads in PUBLISHED_SCHEMAS."
            ) from exc


def _write_meta(
    con: duckdb.DuckDBPyConnection,
    settings: Settings,
    outcome: RunOutcome,
    now: datetime,
    kept: list[tuple[str, str, int | None]],
) -> None:
    cursors = outcome.xero_cursors
    con.execute(
        "create table meta.xero_cursors (tenant_id varchar, resource varchar, "
        "cursor_at timestamp with time zone)"
    )
    if cursors:
        con.executemany("insert into meta.xero_cursors values (?, ?, ?)", cursors)
    con.execute(
        "create table meta.sync_status (published_at timestamp with time zone, "
        "run_id varchar, run_status varchar, run_detail varchar, tenant_id varchar, "
        "xero_invoices_cursor timestamp with time zone)"
    )
    invoice_cursors = {t: c for t, r, c in cursors if r.endswith("invoices")}
    tenants = sorted(invoice_cursors) or [None]
    con.executemany(
        "insert into meta.sync_status values (?, ?, ?, ?, ?, ?)",
        [
            [now, outcome.run_id, outcome.status, outcome.detail or None, t, invoice_cursors.get(t)]
            for t in tenants
        ],
    )
    con.execute(
        "create table meta.published_tables (table_schema varchar, table_name varchar, "
        "row_count bigint)"
    )
    if kept:
        con.executemany("insert into meta.published_tables values (?, ?, ?)", kept)


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _copy_new(source: Path, copy: Path) -> None:
    """``source``'s bytes into a new file created with :data:`FILE_MODE` (never an existing
    one, never wider first); ``shutil.copyfile`` then keeps the kernel's fast copy."""
    os.close(os.open(copy, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE))
    shutil.copyfile(source, copy)


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _remove(paths_of: Path) -> None:
    for path in _with_wal(paths_of):
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def _with_wal(path: Path) -> Iterable[Path]:
    return (path, path.with_name(path.name + ".wal"))

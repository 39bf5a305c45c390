"""Publish the analysts' database: a consistent copy of the warehouse, swapped in atomically.

Analysts and the hourly sync cannot share the working warehouse: DuckDB lets no other process
open a file while one writes it, and a read-only session blocks the writer in turn. So after
each run whose transform succeeded, the sync writes what analysts use into a *new* DuckDB file
beside ``ANALYTICS_PATH`` and renames it over the old one with :func:`os.replace` (atomic on
one POSIX filesystem). The sync never opens ``ANALYTICS_PATH`` itself, so an analyst's session
there can never block it; a session opened before the rename keeps reading the old file (its
descriptor still points at the old inode, which Linux keeps until the last descriptor closes),
and a connection opened after it sees the new data.

What is copied, by rule rather than by list (so tables other stages add appear by themselves):

- every table and view of the schemas ``marts``, ``staging``, ``reverse_etl`` and ``sync_log``,
  views materialised as tables (a view would name the working file's tables);
- every table of ``raw_xero`` (the finance history: ``invoice_versions`` and whatever other
  Xero objects the extract loads), except dlt's bookkeeping tables (``_dlt_*``);
- nothing else: not dbt's ``test_failures`` views, not dlt's ``*_staging`` schemas, not
  ``raw_hubspot`` (what HubSpot holds is in ``reverse_etl``), not the dlt state.

Plus ``meta.sync_status`` (one row per Xero organisation: when this copy was published, by which
run, how that run ended, and the organisation's Xero cursor), ``meta.xero_cursors`` (every
cursor the extract keeps) and ``meta.published_tables``, so an analyst can tell stale data from
a quiet hour.

The file is written through a connection on the *working* warehouse opened read-only, with the
new file ``ATTACH``ed: dbt's views name their tables with the warehouse's catalog, which
resolves only from a connection on that file. The new file is checkpointed and closed before
the rename, so no write-ahead log is left behind, and given mode 0640 (owner writes, the
file's group reads, others nothing): it exists to be read by people other than the sync's
user, and holds no credentials (tokens and dlt state are not copied), but it is financial
data, so it is never world-readable.
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import duckdb

from reverse_etl.errors import PublishError
from reverse_etl.settings import Settings
from reverse_etl.warehouse_busy import busy_error

log = logging.getLogger(__name__)

ANALYST_SCHEMAS = ("marts", "staging", "reverse_etl", "sync_log")
RAW_SCHEMAS = ("raw_xero",)
FILE_MODE = 0o640
_PUB = "published"
R = TypeVar("R")
Timed = Callable[[str, Callable[[], Any]], Any]


@dataclass(frozen=True)
class RunOutcome:
    """How the run that produced the published data ended (``meta.sync_status``)."""

    run_id: str | None
    status: str  # success | partial (HubSpot rejected records) | failed (the push failed)
    detail: str = ""


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
    timed: Timed = lambda _name, work: work(),
) -> tuple[R, PublishReport]:
    """Run ``push(run_id)``, then publish with its outcome; the end of every run whose transform
    succeeded. When the push raises, the data is still consistent (the transform succeeded),
    so it is published marked ``failed`` and the push's error is raised. ``timed(name, work)``
    lets the sync time and print each stage."""
    run_id = str(uuid.uuid4())
    try:
        pushed = timed("push", lambda: push(run_id))
    except Exception as exc:
        detail = " ".join(f"push: {type(exc).__name__}: {exc}".split())
        failed = RunOutcome(run_id, "failed", detail)
        try:
            timed("publish", lambda: publish_analytics(settings, failed))
        except Exception as publish_exc:
            log.warning("The analysts' database was not published: %s", publish_exc)
        raise
    rejected = int(getattr(pushed, "rejected", 0) or 0)
    outcome = (
        RunOutcome(run_id, "partial", f"HubSpot rejected {rejected} record(s); see sync_log")
        if rejected
        else RunOutcome(run_id, "success")
    )
    return pushed, timed("publish", lambda: publish_analytics(settings, outcome))


def publish_analytics(
    settings: Settings, outcome: RunOutcome, *, now: datetime | None = None
) -> PublishReport:
    """Write the analysts' database and swap it in; see the module docstring."""
    started = time.perf_counter()
    warehouse = settings.warehouse_path.expanduser().resolve()
    target = settings.analytics_path.expanduser().resolve()
    if not warehouse.is_file():
        raise PublishError(f"Nothing to publish: the warehouse {warehouse} does not exist yet.")
    target.parent.mkdir(parents=True, exist_ok=True)
    for stale in target.parent.glob(f".{target.name}.*.publishing"):
        _remove(stale)  # left by a publish that was killed; publishes run under the sync lock
    temp = target.with_name(f".{target.name}.{os.getpid()}.publishing")
    try:
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
    log.info(report.summary())
    return report


def analyst_relations(con: duckdb.DuckDBPyConnection, catalog: str) -> list[tuple[str, str]]:
    """(schema, name) of every table and view of ``catalog`` that analysts get (module rule)."""
    found = con.execute(
        "select schema_name, table_name, false from duckdb_tables() where database_name = ? "
        "union all "
        "select schema_name, view_name, true from duckdb_views() "
        "where database_name = ? and not internal",
        [catalog, catalog],
    ).fetchall()
    return sorted((schema, name) for schema, name, view in found if _wanted(schema, name, view))


def _wanted(schema: str, name: str, is_view: bool) -> bool:
    if name.startswith("_dlt_"):
        return False
    if schema in ANALYST_SCHEMAS:
        return True
    return schema in RAW_SCHEMAS and not is_view


def _write(
    settings: Settings, warehouse: Path, temp: Path, outcome: RunOutcome, now: datetime
) -> tuple[int, int]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        catalog = con.execute("select current_database()").fetchone()[0]  # type: ignore[index]
        con.execute(f"attach {_literal(str(temp))} as {_PUB} (read_write)")
        try:
            relations = analyst_relations(con, catalog)
            con.execute("begin")  # one snapshot of the warehouse, one commit to the new file
            for schema in sorted({schema for schema, _ in relations} | {"meta"}):
                con.execute(f"create schema {_PUB}.{_ident(schema)}")
            copied: list[tuple[str, str, int]] = []
            for schema, name in relations:
                qualified = f"{_ident(schema)}.{_ident(name)}"
                created = con.execute(
                    f"create table {_PUB}.{qualified} as select * from {qualified}"
                ).fetchone()  # DuckDB answers a CREATE TABLE AS with its row count
                copied.append((schema, name, int(created[0]) if created else 0))
            _write_meta(con, settings, outcome, now, copied)
            con.execute("commit")
            con.execute(f"checkpoint {_PUB}")
        except BaseException:
            with contextlib.suppress(duckdb.Error):  # keep the original error, not "aborted"
                con.execute("rollback")
            raise
        finally:
            with contextlib.suppress(duckdb.Error):
                con.execute(f"detach {_PUB}")
    leftover = temp.with_name(temp.name + ".wal")
    if leftover.exists():  # checkpointed and detached: a WAL here would be data not in the file
        raise PublishError(f"{temp} kept a write-ahead log after checkpoint; not publishing it.")
    return len(copied), sum(rows for _, _, rows in copied)


def _write_meta(
    con: duckdb.DuckDBPyConnection,
    settings: Settings,
    outcome: RunOutcome,
    now: datetime,
    copied: list[tuple[str, str, int]],
) -> None:
    cursors = xero_cursors(settings)
    con.execute(
        f"create table {_PUB}.meta.xero_cursors (tenant_id varchar, resource varchar, "
        "cursor_at timestamp with time zone)"
    )
    if cursors:
        con.executemany(f"insert into {_PUB}.meta.xero_cursors values (?, ?, ?)", cursors)
    con.execute(
        f"create table {_PUB}.meta.sync_status (published_at timestamp with time zone, "
        "run_id varchar, run_status varchar, run_detail varchar, tenant_id varchar, "
        "xero_invoices_cursor timestamp with time zone)"
    )
    invoice_cursors = {t: c for t, r, c in cursors if r.endswith("invoices")}
    tenants = sorted(invoice_cursors) or [None]
    con.executemany(
        f"insert into {_PUB}.meta.sync_status values (?, ?, ?, ?, ?, ?)",
        [
            [now, outcome.run_id, outcome.status, outcome.detail or None, t, invoice_cursors.get(t)]
            for t in tenants
        ],
    )
    con.execute(
        f"create table {_PUB}.meta.published_tables (table_schema varchar, table_name varchar, "
        "row_count bigint)"
    )
    if copied:
        con.executemany(f"insert into {_PUB}.meta.published_tables values (?, ?, ?)", copied)


def xero_cursors(settings: Settings) -> list[tuple[str, str, datetime | None]]:
    """(tenant_id, resource, cursor) for every cursor the Xero extract keeps in its dlt state
    (``{"cursors": {tenant: iso}}`` per resource, pipelines/xero/source.py)."""
    import dlt
    from dlt.common.exceptions import DltException

    from pipelines.cursor import parse_cursor
    from pipelines.run import XERO_PIPELINE

    pipelines_dir = Path(settings.state_dir) / "dlt"
    if not (pipelines_dir / XERO_PIPELINE).is_dir():
        return []
    try:
        state: Any = dlt.attach(pipeline_name=XERO_PIPELINE, pipelines_dir=str(pipelines_dir)).state
    except (DltException, OSError, ValueError) as exc:
        log.warning("Xero cursors unavailable for meta.sync_status: %s", exc)
        return []
    rows: list[tuple[str, str, datetime | None]] = []
    for source in (state.get("sources") or {}).values():
        for resource, resource_state in (source.get("resources") or {}).items():
            cursors = resource_state.get("cursors") if isinstance(resource_state, dict) else None
            if isinstance(cursors, dict):
                rows += [(t, resource, parse_cursor(c)) for t, c in cursors.items()]
    return sorted(rows, key=lambda row: (row[0], row[1]))


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


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

"""The run log's warehouse I/O: ``sync_log.*`` (the sync logs its run row from before the
extract). The push's record writes (``sync_log.record_results`` and the upserts into
``raw_hubspot.invoice_records``) are :mod:`reverse_etl.push.records`; the action table is read
by :mod:`reverse_etl.push.actions`.

Schemas (``docs/contracts.md``)::

    sync_log.runs(run_id PK, started_at, finished_at, status, inserted, updated, rejected,
                  hubspot_calls, error, command, dry_run, stage, stage_seconds,
                  dlt_load_ids, dbt_invocation_id, actions_invocation_id, freshness,
                  build_scope, build_reason)
      status: running | success | partial | failed; dry_run: true for --dry-run runs. A sync's
        row stays running until its last stage (the publish) is over; a row a killed process
        left running is closed as failed ("interrupted: …") by the next run
      stage: the stage the run is in, or failed in (extract | transform | push | publish), done
        at the end
      build_scope: skipped | hourly | daily (a sync's dbt build), build_reason: why
    sync_log.builds: one row per build of the whole dbt project (reverse_etl/core/build_plan.py)
    sync_log.record_results(run_id, xero_invoice_id, hs_object_id, action, outcome,
                            error_category, error_message, recorded_at, changed_properties)
      outcome: written | rejected
    sync_log.alerted_status_changes(xero_invoice_id, new_status, xero_updated_at, alerted_at)
    sync_log.undelivered_status_changes(the StatusChange columns, recorded_at): written changes
      whose alert reached no target yet; the next run's message includes them
    sync_log.quarantine(run_id, source_table, resource, tenant_id, record_key, record_id,
                        record_name, field, error, fix, source_updated, quarantined_at,
                        recorded_at): every source record in quarantine at the end of a sync,
      one row per run (written by :mod:`reverse_etl.push.quarantine_report`)
    sync_log.customer_results(run_id, kind, action, outcome, xero_contact_id, hs_company_id,
                              xero_invoice_id, invoice_hs_object_id, to_object_type,
                              to_object_id, error_category, error_message, recorded_at)
      kind: company | association; action: UPDATE | CLEAR | CREATE | REMOVE;
      outcome: written | refused (written by :mod:`reverse_etl.push.customers`)
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reverse_etl.core.warehouse import Connection, DuckDBWarehouse, Warehouse, engine_of

if TYPE_CHECKING:
    from reverse_etl.core.settings import Settings

log = logging.getLogger(__name__)

DDL = """
create schema if not exists sync_log;
create table if not exists sync_log.runs (
    run_id varchar primary key,
    started_at timestamptz not null,
    finished_at timestamptz,
    status varchar not null,
    inserted integer not null default 0,
    updated integer not null default 0,
    rejected integer not null default 0,
    hubspot_calls integer not null default 0,
    error varchar
);
create table if not exists sync_log.record_results (
    run_id varchar not null,
    xero_invoice_id varchar not null,
    hs_object_id varchar,
    action varchar not null,
    outcome varchar not null,
    error_category varchar,
    error_message varchar,
    recorded_at timestamptz not null
);
alter table sync_log.runs add column if not exists command varchar default 'push';
alter table sync_log.runs add column if not exists dry_run boolean default false;
alter table sync_log.runs add column if not exists stage varchar;
alter table sync_log.runs add column if not exists stage_seconds varchar;
alter table sync_log.runs add column if not exists dlt_load_ids varchar[];
alter table sync_log.runs add column if not exists dbt_invocation_id varchar;
alter table sync_log.runs add column if not exists actions_invocation_id varchar;
alter table sync_log.runs add column if not exists freshness varchar;
alter table sync_log.runs add column if not exists build_scope varchar;
alter table sync_log.runs add column if not exists build_reason varchar;
alter table sync_log.record_results add column if not exists changed_properties varchar[];
create table if not exists sync_log.alerted_status_changes (
    xero_invoice_id varchar not null,
    new_status varchar not null,
    xero_updated_at varchar,
    alerted_at timestamptz not null
);
create table if not exists sync_log.undelivered_status_changes (
    xero_invoice_id varchar not null,
    invoice_number varchar,
    contact_name varchar,
    currency_code varchar,
    total varchar,
    previous_status varchar,
    new_status varchar not null,
    xero_updated_at varchar,
    recorded_at timestamptz not null
);
create table if not exists sync_log.quarantine (
    run_id varchar,
    source_table varchar not null,
    resource varchar not null,
    tenant_id varchar not null,
    record_key varchar not null,
    record_id varchar,
    record_name varchar,
    field varchar,
    error varchar,
    fix varchar,
    source_updated varchar,
    quarantined_at timestamptz,
    recorded_at timestamptz not null
);
create table if not exists sync_log.customer_results (
    run_id varchar not null,
    kind varchar not null,
    action varchar not null,
    outcome varchar not null,
    xero_contact_id varchar,
    hs_company_id varchar,
    xero_invoice_id varchar,
    invoice_hs_object_id varchar,
    to_object_type varchar,
    to_object_id varchar,
    error_category varchar,
    error_message varchar,
    recorded_at timestamptz not null
);
"""


def now() -> datetime:
    return datetime.now(UTC)


# What DDL creates: {table: {column, ...}}, read from the statements themselves, so a
# warehouse that has them all is left alone (:func:`ensure_tables`).
_DDL_COLUMNS: dict[str, set[str]] = {}
_CREATE = r"create table if not exists sync_log\.(\w+) \((.*?)\n\);"
_ALTER = r"alter table sync_log\.(\w+) add column if not exists (\w+)"
for _table, _body in re.findall(_CREATE, DDL, re.S):
    _DDL_COLUMNS[_table] = {line.split()[0] for line in _body.strip().splitlines()}
for _table, _column in re.findall(_ALTER, DDL):
    _DDL_COLUMNS[_table].add(_column)


def as_warehouse(target: Warehouse | Settings | Path) -> Warehouse:
    """The warehouse seam for what callers hand over: a :class:`Warehouse`, the settings (their
    ``warehouse``), or a DuckDB file's path (the callers written before the seam)."""
    if isinstance(target, Warehouse):
        return target
    if isinstance(target, str | Path):
        return DuckDBWarehouse(Path(target))
    return target.warehouse


def connect_warehouse(target: Warehouse | Settings | Path) -> Connection:
    """Open the warehouse for writing (:meth:`Warehouse.connect`); a DuckDB file another
    process holds is "busy" (exit 4)."""
    return as_warehouse(target).connect()


# Server warehouses whose run log this process has found complete (their masked labels): a
# run checks once, at its start (reverse_etl/core/warehouse_setup.py, ensure_warehouse), not
# at each of its writes, each a connection of its own.
_VERIFIED: set[str] = set()


@contextmanager
def open_warehouse(target: Warehouse | Settings | Path) -> Iterator[Connection]:
    """A short-lived connection with the ``sync_log`` tables in place (on a server, checked
    once per run: :func:`mark_verified`)."""
    warehouse = as_warehouse(target)
    con = warehouse.connect()
    try:
        if warehouse.engine == "duckdb" or warehouse.label not in _VERIFIED:
            ensure_tables(con)
            mark_verified(warehouse)
        yield con
    finally:
        con.close()


def mark_verified(warehouse: Warehouse) -> None:
    """Remember that ``warehouse``'s run log tables are complete (servers only)."""
    if warehouse.engine != "duckdb":
        _VERIFIED.add(warehouse.label)


def ensure_tables(con: Connection) -> None:
    """The ``sync_log`` tables, created or widened when some are missing. On DuckDB the DDL
    runs every time (as it always did: it is idempotent and cheap). On another engine only
    when the catalogue lacks a table or column: ``alter table`` takes PostgreSQL's
    ``ACCESS EXCLUSIVE`` lock even when the column exists, which would wait behind an analyst's
    open transaction that read the table (PostgreSQL docs, "ALTER TABLE": "An ACCESS EXCLUSIVE
    lock is acquired unless explicitly noted"), and ``create schema if not exists`` checks the
    ``CREATE`` privilege on the database before it looks for the schema, which a role that
    only uses the schemas setup created need not have."""
    if engine_of(con) != "duckdb" and not missing_columns(con):
        return
    con.execute(DDL)


def missing_columns(con: Connection) -> dict[str, set[str]]:
    """The ``sync_log`` tables and columns :data:`DDL` creates that the warehouse lacks."""
    rows = con.execute(
        "select table_name, column_name from information_schema.columns "
        "where table_schema = 'sync_log'"
    ).fetchall()
    present: dict[str, set[str]] = {}
    for table, column in rows:
        present.setdefault(str(table), set()).add(str(column))
    missing = {
        table: columns - present.get(table, set()) for table, columns in _DDL_COLUMNS.items()
    }
    return {table: columns for table, columns in missing.items() if columns}


def start_run(
    con: Connection,
    run_id: str,
    started_at: datetime,
    *,
    command: str = "push",
    dry_run: bool = False,
    stage: str | None = None,
) -> None:
    """Log the run as ``running``. A ``running`` row left by a killed process is closed as
    ``failed`` first: the caller holds the warehouse lock, so no other run can still be going."""
    con.execute(
        "update sync_log.runs set status = 'failed', finished_at = ?, "
        "error = 'interrupted: the process ended before the run finished' "
        "where status = 'running'",
        [now()],
    )
    con.execute(
        "insert into sync_log.runs (run_id, started_at, status, command, dry_run, stage) "
        "values (?, ?, 'running', ?, ?, ?)",
        [run_id, started_at, command, dry_run, stage],
    )


RUN_COLUMNS = frozenset(
    {
        "finished_at",
        "status",
        "inserted",
        "updated",
        "rejected",
        "hubspot_calls",
        "error",
        "stage",
        "stage_seconds",
        "dlt_load_ids",
        "dbt_invocation_id",
        "actions_invocation_id",
        "freshness",
        "build_scope",
        "build_reason",
    }
)


def update_run(con: Connection, run_id: str, **columns: Any) -> None:
    """Set some columns of a run's row (names from :data:`RUN_COLUMNS`)."""
    unknown = set(columns) - RUN_COLUMNS
    if unknown:
        raise ValueError(f"not a sync_log.runs column: {sorted(unknown)}")
    if not columns:
        return
    assignments = ", ".join(f"{name} = ?" for name in columns)
    con.execute(
        f"update sync_log.runs set {assignments} where run_id = ?", [*columns.values(), run_id]
    )


def finish_run(
    con: Connection,
    run_id: str,
    *,
    status: str,
    inserted: int,
    updated: int,
    rejected: int,
    hubspot_calls: int,
    error: str | None = None,
    final: bool = True,
) -> None:
    """Record the push's counts; ``final`` (a push run on its own) also its status and
    ``finished_at``. Within a sync or a webhook batch the row stays ``running``: the caller
    writes the status after its last stage (:func:`reverse_etl.app.sync.finish_run_log`), so a run
    killed during the publish is never left looking like a ``success``."""
    columns: dict[str, Any] = {
        "inserted": inserted,
        "updated": updated,
        "rejected": rejected,
        "hubspot_calls": hubspot_calls,
        "error": error,
    }
    if final:
        columns["status"] = status
        columns["finished_at"] = now()
    update_run(con, run_id, **columns)

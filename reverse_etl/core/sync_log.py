"""The run log's and the push's warehouse I/O: ``sync_log.*`` (the sync logs its run row from
before the extract) and the upserts into ``raw_hubspot.invoice_records`` after writes. The
action table is read by :mod:`reverse_etl.push.actions`.

One DuckDB connection, owned by the push's main thread, writes all of them. Each HubSpot batch
that came back is recorded in ONE transaction: the records written are upserted into
``raw_hubspot.invoice_records`` (so the next transform sees what HubSpot now holds even if the
process dies before the next snapshot: no duplicate INSERT, no lost UPDATE) and every record's
outcome is appended to ``sync_log.record_results``. A crash between HubSpot's answer and the
commit loses only the log of the batches in flight; their rows stay in the action table and
the next run re-sends them, harmlessly, as upserts keyed on ``xero_invoice_id``.

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
import uuid
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb

from reverse_etl.core.errors import WarehouseBusyError
from reverse_etl.core.private_files import shared_folder
from reverse_etl.hubspot.properties import PROPERTY_NAMES

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

SNAPSHOT_TABLE = "raw_hubspot.invoice_records"
SNAPSHOT_DDL = (
    "create schema if not exists raw_hubspot;\n"
    f"create table if not exists {SNAPSHOT_TABLE} (\n"
    "    hs_object_id varchar not null,\n"
    + "".join(f"    {name} varchar,\n" for name in PROPERTY_NAMES)
    + "    hs_createdate timestamptz,\n"
    "    hs_lastmodifieddate timestamptz,\n"
    "    archived boolean,\n"
    "    _dlt_load_id varchar not null,\n"
    "    _dlt_id varchar not null\n"
    ");"
)


@dataclass(frozen=True)
class WrittenRecord:
    """A record HubSpot confirmed, with the values it echoed (``properties``) or we sent."""

    xero_invoice_id: str
    hs_object_id: str
    action: str
    properties: dict[str, str | None]
    created_at: datetime | None
    updated_at: datetime | None
    new: bool
    changed_properties: tuple[str, ...] = ()


@dataclass(frozen=True)
class RejectedRecord:
    """A record HubSpot refused, with its category and message (as HubSpot worded them)."""

    xero_invoice_id: str
    action: str
    category: str
    message: str
    hs_object_id: str | None = None
    invoice_number: str | None = None
    changed_properties: tuple[str, ...] = ()


@dataclass
class BatchOutcome:
    written: list[WrittenRecord] = field(default_factory=list)
    rejected: list[RejectedRecord] = field(default_factory=list)

    def extend(self, other: BatchOutcome) -> None:
        self.written.extend(other.written)
        self.rejected.extend(other.rejected)


def now() -> datetime:
    return datetime.now(UTC)


def connect_warehouse(path: Path) -> duckdb.DuckDBPyConnection:
    """Open the warehouse for writing; a file another process holds is "busy" (exit 4)."""
    shared_folder(path.parent)
    try:
        return duckdb.connect(str(path))
    except duckdb.IOException as exc:
        if "lock" not in str(exc).lower():
            raise
        raise WarehouseBusyError(
            f"The warehouse {path} is open in another process ({str(exc).splitlines()[0]}). "
            "Close that DuckDB session; the next run catches up."
        ) from exc


@contextmanager
def open_warehouse(path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """A short-lived connection with the ``sync_log`` tables in place."""
    con = connect_warehouse(path)
    try:
        ensure_tables(con)
        yield con
    finally:
        con.close()


def ensure_tables(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(DDL)


def start_run(
    con: duckdb.DuckDBPyConnection,
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


def update_run(con: duckdb.DuckDBPyConnection, run_id: str, **columns: Any) -> None:
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
    con: duckdb.DuckDBPyConnection,
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


def snapshot_columns(con: duckdb.DuckDBPyConnection) -> list[str]:
    """The snapshot table's columns, creating it per the contract when the extract has not."""
    con.execute(SNAPSHOT_DDL)
    rows = con.execute(
        "select column_name from information_schema.columns "
        "where table_schema = 'raw_hubspot' and table_name = 'invoice_records' "
        "order by ordinal_position"
    ).fetchall()
    return [row[0] for row in rows]


def record_batch(
    con: duckdb.DuckDBPyConnection,
    run_id: str,
    outcome: BatchOutcome,
    columns: Sequence[str],
) -> None:
    """One transaction: snapshot upsert of the written records + their outcome rows.

    The push passes every batch that came back since its last look, merged into one outcome:
    still all-or-nothing per batch, with one commit instead of several."""
    recorded_at = now()
    con.execute("begin transaction")
    try:
        if outcome.written:
            _upsert_snapshot(con, run_id, outcome.written, columns)
        rows: list[list[Any]] = [
            [run_id, w.xero_invoice_id, w.hs_object_id, w.action, "written", None, None]
            for w in outcome.written
        ]
        rows += [
            [run_id, r.xero_invoice_id, r.hs_object_id, r.action, "rejected", r.category, r.message]
            for r in outcome.rejected
        ]
        changed = [list(w.changed_properties) for w in outcome.written]
        changed += [list(r.changed_properties) for r in outcome.rejected]
        rows = [[*row, recorded_at, props] for row, props in zip(rows, changed, strict=True)]
        if rows:
            _insert_values(
                con,
                "sync_log.record_results (run_id, xero_invoice_id, hs_object_id, action, "
                "outcome, error_category, error_message, recorded_at, changed_properties)",
                rows,
            )
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise


def _upsert_snapshot(
    con: duckdb.DuckDBPyConnection,
    run_id: str,
    written: Iterable[WrittenRecord],
    columns: Sequence[str],
) -> None:
    """``merge`` the written records into the snapshot: update the rows HubSpot already held
    (keeping ``hs_createdate``, dlt's ids and any column we do not know), insert the new ones.

    Values are what HubSpot echoed, else what we sent; an empty string (a cleared value) is
    stored as null, as the snapshot stores an unset property. ``_dlt_load_id``/``_dlt_id``
    (NOT NULL in dlt's table) get ``push:<run_id>`` and a fresh uuid on insert.
    """
    props = [name for name in PROPERTY_NAMES if name in columns]
    extra = [c for c in ("hs_createdate", "hs_lastmodifieddate", "archived") if c in columns]
    dlt = [c for c in ("_dlt_load_id", "_dlt_id") if c in columns]
    staged = ["hs_object_id", *props, *extra, *dlt]
    rows: list[list[Any]] = []
    for record in written:
        row: list[Any] = [record.hs_object_id]
        row += [record.properties.get(name) or None for name in props]
        for column in extra:
            if column == "hs_createdate":
                row.append(record.created_at)
            elif column == "hs_lastmodifieddate":
                row.append(record.updated_at)
            else:
                row.append(False)
        for column in dlt:
            row.append(f"push:{run_id}" if column == "_dlt_load_id" else str(uuid.uuid4()))
        rows.append(row)
    params = {f"p{i}": [row[i] for row in rows] for i in range(len(staged))}
    source = ", ".join(
        f"cast(unnest($p{i}) as {_staging_type(c)}) as {c}" for i, c in enumerate(staged)
    )
    updated = [c for c in staged if c not in ("hs_object_id", "hs_createdate", *dlt)]
    con.execute(
        f"merge into {SNAPSHOT_TABLE} as t using (select {source}) as p "
        "on t.hs_object_id = p.hs_object_id "
        "when matched then update set " + ", ".join(f"{c} = p.{c}" for c in updated) + " "
        f"when not matched then insert ({', '.join(staged)}) "
        f"values ({', '.join('p.' + c for c in staged)})",
        params,
    )


def _staging_type(column: str) -> str:
    if column in ("hs_createdate", "hs_lastmodifieddate"):
        return "timestamptz"
    if column == "archived":
        return "boolean"
    return "varchar"


def _insert_values(con: duckdb.DuckDBPyConnection, target: str, rows: list[list[Any]]) -> None:
    """Insert ``rows`` in one statement, passing each column as a list and unnesting them:
    ~10x faster than a multi-row ``values`` list and ~20x faster than ``executemany``, which
    matters because the main thread records every batch while the workers wait."""
    if not rows:
        return
    width = len(rows[0])
    params = {f"p{i}": [row[i] for row in rows] for i in range(width)}
    select = ", ".join(f"unnest($p{i})" for i in range(width))
    con.execute(f"insert into {target} select {select}", params)

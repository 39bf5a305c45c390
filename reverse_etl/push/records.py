"""The push's record writes: each HubSpot batch that came back, recorded in the warehouse.

One warehouse connection (DuckDB or PostgreSQL, :mod:`reverse_etl.core.warehouse`), owned by
the push's main thread, writes all of them. Each HubSpot batch
that came back is recorded in ONE transaction: the records written are upserted into
``raw_hubspot.invoice_records`` (so the next transform sees what HubSpot now holds even if the
process dies before the next snapshot: no duplicate INSERT, no lost UPDATE) and every record's
outcome is appended to ``sync_log.record_results`` (its schema: :mod:`reverse_etl.core.sync_log`).
A crash between HubSpot's answer and the commit loses only the log of the batches in flight;
their rows stay in the action table and the next run re-sends them, harmlessly, as upserts keyed
on ``xero_invoice_id``. (Moved out of ``sync_log``, which is below the HubSpot property model.)
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from reverse_etl.core.sync_log import now
from reverse_etl.core.warehouse import Connection
from reverse_etl.core.warehouse_sql import insert_rows, rows_source
from reverse_etl.hubspot.properties import PROPERTY_NAMES

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


# sync_log.record_results' columns, in the order record_batch builds its rows
RESULT_COLUMNS = (
    ("run_id", "varchar"),
    ("xero_invoice_id", "varchar"),
    ("hs_object_id", "varchar"),
    ("action", "varchar"),
    ("outcome", "varchar"),
    ("error_category", "varchar"),
    ("error_message", "varchar"),
    ("recorded_at", "timestamptz"),
    ("changed_properties", "varchar[]"),
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


def snapshot_columns(con: Connection) -> list[str]:
    """The snapshot table's columns, creating it per the contract when the extract has not."""
    con.execute(SNAPSHOT_DDL)
    rows = con.execute(
        "select column_name from information_schema.columns "
        "where table_schema = 'raw_hubspot' and table_name = 'invoice_records' "
        "order by ordinal_position"
    ).fetchall()
    return [row[0] for row in rows]


def record_batch(
    con: Connection,
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
        insert_rows(con, "sync_log.record_results", RESULT_COLUMNS, rows)
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise


def _upsert_snapshot(
    con: Connection,
    run_id: str,
    written: Iterable[WrittenRecord],
    columns: Sequence[str],
) -> None:
    """``merge`` the written records into the snapshot: update the rows HubSpot already held
    (keeping ``hs_createdate``, dlt's ids and any column we do not know), insert the new ones.
    ``MERGE`` (DuckDB; PostgreSQL 15 and later) needs no unique key, which dlt's table lacks.

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
    source, params = rows_source(con, [(c, _staging_type(c)) for c in staged], rows)
    updated = [c for c in staged if c not in ("hs_object_id", "hs_createdate", *dlt)]
    con.execute(
        f"merge into {SNAPSHOT_TABLE} as t using ({source}) as p "
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

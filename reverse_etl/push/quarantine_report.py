"""Report the source records in quarantine at the end of a sync: output, ``sync_log``, alert.

The extract sets a bad record aside in a ``quarantine`` table of its dataset
(:mod:`pipelines.quarantine`; today ``raw_xero.quarantine``, any later source adds its own to
:data:`QUARANTINE_TABLES`). After the push, :func:`report_quarantine` reads every record still
there and

- returns them, so the sync prints one line each (the record and the fix) and exits 3
  (``EXIT_REJECTED``: finished, some records set aside);
- appends them to ``sync_log.quarantine`` under the push's ``run_id`` (one row per record per
  run, while it stays in quarantine — so the log shows how long a record was stuck);
- alerts the ones not reported by an earlier run (same record, same ``source_updated``): a
  record is alerted once per bad version, not every hour.

A record leaves the table when the source sends it again and it parses, so the first run after
Xero corrects it reports nothing and exits 0.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from reverse_etl.core import sync_log
from reverse_etl.core.settings import Settings
from reverse_etl.core.warehouse import Connection
from reverse_etl.push import alerts

log = logging.getLogger(__name__)

QUARANTINE_TABLES = ("raw_xero.quarantine",)  # invoices and the finance records alike
_COLUMNS = (
    "resource, tenant_id, record_key, record_id, record_name, field, error, fix, "
    "source_updated, quarantined_at"
)


@dataclass(frozen=True)
class QuarantinedRecord:
    source_table: str
    resource: str
    tenant_id: str
    record_key: str
    record_id: str | None
    record_name: str | None
    field: str | None
    error: str | None
    fix: str | None
    source_updated: str | None
    quarantined_at: datetime | None

    def line(self) -> str:
        """One line: which record, what is wrong, and the fix."""
        kind = self.resource[:-1] if self.resource.endswith("s") else self.resource
        if self.record_name and self.record_id:
            who = f"{kind} {self.record_name} (id {self.record_id})"
        else:
            who = f"{kind} {self.record_name or self.record_id or self.record_key}"
        text = f"{who} of organisation {self.tenant_id}: field {self.field}: {self.error}"
        return text + (f". Fix: {self.fix}" if self.fix else "")


def read_quarantine(con: Connection) -> list[QuarantinedRecord]:
    """Every record currently in quarantine, across the sources' tables that exist."""
    found: list[QuarantinedRecord] = []
    for table in QUARANTINE_TABLES:
        schema, name = table.split(".")
        exists = con.execute(
            "select count(*) from information_schema.tables "
            "where table_schema = ? and table_name = ?",
            [schema, name],
        ).fetchone()
        if not exists or not exists[0]:
            continue
        rows = con.execute(
            f"select {_COLUMNS} from {table} order by tenant_id, resource, record_name, record_key"
        ).fetchall()
        found += [QuarantinedRecord(table, *row) for row in rows]
    return found


def report_quarantine(
    settings: Settings, run_id: str | None, notify: alerts.Notify | None = None
) -> list[QuarantinedRecord]:
    """Log and alert the records in quarantine (see the module docstring); returns them."""
    warehouse = settings.warehouse
    if not warehouse.exists():
        return []
    con = warehouse.connect()
    try:
        records = read_quarantine(con)
        if not records:
            return []
        sync_log.ensure_tables(con)
        new = [r for r in records if not _reported_before(con, r)]
        now = sync_log.now()
        con.executemany(
            "insert into sync_log.quarantine (run_id, source_table, resource, tenant_id, "
            "record_key, record_id, record_name, field, error, fix, source_updated, "
            "quarantined_at, recorded_at) values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                [
                    run_id,
                    r.source_table,
                    r.resource,
                    r.tenant_id,
                    r.record_key,
                    r.record_id,
                    r.record_name,
                    r.field,
                    r.error,
                    r.fix,
                    r.source_updated,
                    r.quarantined_at,
                    now,
                ]
                for r in records
            ],
        )
    finally:
        con.close()
    for record in records:
        log.warning("Quarantined: %s", record.line())
    if new:
        alerts.send_quarantine_alert(settings, [r.line() for r in new], notify)
    return records


def _reported_before(con: Connection, record: QuarantinedRecord) -> bool:
    row = con.execute(
        "select count(*) from sync_log.quarantine where source_table = ? and resource = ? "
        "and tenant_id = ? and record_key = ? and source_updated is not distinct from ?",
        [
            record.source_table,
            record.resource,
            record.tenant_id,
            record.record_key,
            record.source_updated,
        ],
    ).fetchone()
    return bool(row and row[0])


def quarantine_message(records: list[QuarantinedRecord], limit: int = 5) -> str:
    """The one-line error of a run that finished with records in quarantine (exit 3)."""
    named = "; ".join(r.line() for r in records[:limit])
    more = f"; and {len(records) - limit} more" if len(records) > limit else ""
    return (
        f"{len(records)} Xero record(s) are in quarantine (the others synced): {named}{more}. "
        "See sync_log.quarantine; each is retried when it changes in Xero."
    )

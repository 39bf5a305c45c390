"""The action table, read: what the push writes, and whether it was already written from.

``reverse_etl.hubspot_invoice_actions`` is built by dbt (docs/contracts.md); this module turns
its rows into :class:`Action` values and reads the table's build stamp (the dbt invocation id in
its comment) that the push uses never to send one build twice.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from reverse_etl import transform
from reverse_etl.core import sync_log
from reverse_etl.core.errors import InvoiceSyncError
from reverse_etl.core.settings import Settings
from reverse_etl.core.warehouse import MISSING_RELATION, Connection
from reverse_etl.core.warehouse_sql import table_comment, where_is
from reverse_etl.hubspot.properties import PROPERTY_NAMES, UPSERT_KEY

log = logging.getLogger(__name__)

ACTIONS_SCHEMA = "reverse_etl"
ACTIONS_TABLE = f"{ACTIONS_SCHEMA}.hubspot_invoice_actions"


class ActionTableMissingError(InvoiceSyncError):
    """The warehouse has no action table yet: transform has not run."""


@dataclass(frozen=True)
class Action:
    xero_invoice_id: str
    action: str
    hs_object_id: str | None
    changed_properties: tuple[str, ...]
    values: dict[str, str | None]

    def payload(self) -> dict[str, Any]:
        """The batch-upsert input for this record (see the module docstring for what is sent)."""
        if self.action == "UPDATE" and self.changed_properties:
            names = [n for n in self.changed_properties if n in self.values]
            properties = {n: self.values[n] if self.values[n] is not None else "" for n in names}
        else:
            properties = {n: v for n, v in self.values.items() if v is not None}
        properties[UPSERT_KEY] = self.xero_invoice_id
        return {"idProperty": UPSERT_KEY, "id": self.xero_invoice_id, "properties": properties}


def read_actions(con: Connection, schema: str = ACTIONS_SCHEMA) -> list[Action]:
    """The action table's rows, de-duplicated on ``xero_invoice_id`` (first row wins).
    ``schema``: where the table is (``webhook_reverse_etl`` for the webhook fast path's)."""
    table = f"{schema}.hubspot_invoice_actions"
    try:
        cursor = con.execute(f"select * from {table} order by action, xero_invoice_id")
    except MISSING_RELATION:
        raise ActionTableMissingError(
            f"{table} does not exist in {where_is(con)}: run `invoice-sync transform` "
            "(or `invoice-sync sync`) first."
        ) from None
    columns = [d[0] for d in cursor.description]
    actions: dict[str, Action] = {}
    duplicates = 0
    for row in cursor.fetchall():
        record = dict(zip(columns, row, strict=True))
        key = str(record["xero_invoice_id"])
        if key in actions:
            duplicates += 1
            continue
        actions[key] = Action(
            xero_invoice_id=key,
            action=str(record["action"]).upper(),
            hs_object_id=_text(record.get("hs_object_id")),
            changed_properties=tuple(record.get("changed_properties") or ()),
            values={n: _text(record.get(n)) for n in PROPERTY_NAMES if n in record},
        )
    if duplicates:
        log.warning("%s named %d invoice(s) twice; each is sent once.", table, duplicates)
    return list(actions.values())


def actions_invocation_id(con: Connection, schema: str = ACTIONS_SCHEMA) -> str | None:
    """The dbt invocation that built the action table (its table comment, set by the model's
    post-hook), or None for a table built otherwise."""
    return table_comment(con, schema, "hubspot_invoice_actions")


def actions_consumed(con: Connection) -> bool:
    """Whether a real (not dry) run already wrote records from this build of the action table.
    Reads the written outcomes, which are committed batch by batch, so a push killed midway
    counts too."""
    invocation = actions_invocation_id(con)
    if invocation is None:
        return False
    row = con.execute(
        "select exists (select 1 from sync_log.record_results r "
        "join sync_log.runs u using (run_id) "
        "where u.actions_invocation_id = ? and not coalesce(u.dry_run, false) "
        "and r.outcome = 'written')",
        [invocation],
    ).fetchone()
    return bool(row and row[0])


def _text(value: Any) -> str | None:
    """A warehouse value as HubSpot wants it: strings as-is, exact decimals, ISO dates."""
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, Decimal):
        return (
            format(value.normalize(), "f") if value == value.to_integral() else format(value, "f")
        )
    if isinstance(value, datetime):
        return value.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def refresh_if_consumed(settings: Settings) -> bool:
    """Re-derive the action table when an earlier push already wrote from this build of it
    (see the module docstring). Returns whether it rebuilt."""
    warehouse = settings.warehouse
    if not warehouse.exists():
        return False
    con = warehouse.connect()
    try:
        sync_log.ensure_tables(con)
        consumed = actions_consumed(con)
    finally:
        con.close()
    if not consumed:
        return False
    log.info("The action table was already pushed; re-deriving it from HubSpot's snapshot.")
    transform.run_transform(settings, select=STALE_AFTER_PUSH)
    return True


# What a push changes underneath dbt: HubSpot's snapshot, and so everything built from it.
STALE_AFTER_PUSH = "source:raw_hubspot+"

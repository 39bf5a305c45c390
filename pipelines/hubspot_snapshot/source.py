"""The dlt source for ``raw_hubspot.invoice_records``: what HubSpot holds for each record.

The records are read by the one generic CRM resource (:mod:`pipelines.hubspot_snapshot.crm`:
a full list first, then the changes since HubSpot's clock at the last read, in one search, and
the archived records only when HubSpot's live count is short). What is particular to the
invoices: the custom object's objectTypeId is looked up in the schema list and remembered in
the resource state (so a quiet run costs one call), and looked up again on a full read or when
HubSpot refuses it; the fallback read also lists every archived record. An archived record is
loaded ``archived``: dbt then treats it as absent and the push sends its invoice again,
complete, as an INSERT. When the custom object does not exist yet the snapshot is empty, not
an error: ``invoice-sync setup`` has simply not run.

Values stay exactly as HubSpot returns them (text; null when unset), except the two timestamps
and ``archived``, typed so the push and dbt compare instants rather than strings.
"""

from __future__ import annotations

from typing import Any

import dlt
from dlt.extract.resource import DltResource

from pipelines.hubspot_snapshot.changes import SEARCH_LAG, Known
from pipelines.hubspot_snapshot.client import HubSpotReader, parse_hubspot_time
from pipelines.hubspot_snapshot.crm import CrmObject, HubSpotSnapshotStats, crm_resource
from reverse_etl.core.settings import HubSpotSettings
from reverse_etl.hubspot.properties import PROPERTY_NAMES

__all__ = ["RECORD_COLUMNS", "HubSpotSnapshotStats", "hubspot_snapshot_source", "records_resource"]

HUBSPOT_OVERLAP = SEARCH_LAG

RECORD_COLUMNS: dict[str, dict[str, Any]] = {
    "hs_object_id": {"data_type": "text", "nullable": False},
    **{name: {"data_type": "text"} for name in PROPERTY_NAMES},
    "hs_createdate": {"data_type": "timestamp", "timezone": True},
    "hs_lastmodifieddate": {"data_type": "timestamp", "timezone": True},
    "archived": {"data_type": "bool"},
}
READ_PROPERTIES = (*PROPERTY_NAMES, "hs_createdate", "hs_lastmodifieddate")

MODIFIED = "hs_lastmodifieddate"
SCOPE = "crm.objects.custom.read"


def record_row(record: dict[str, Any]) -> dict[str, Any]:
    """A HubSpot record as an ``invoice_records`` row."""
    props = record.get("properties") or {}
    row: dict[str, Any] = {"hs_object_id": str(record["id"])}
    for name in PROPERTY_NAMES:
        value = props.get(name)
        row[name] = None if value is None or value == "" else str(value)
    row["hs_createdate"] = parse_hubspot_time(props.get("hs_createdate") or record.get("createdAt"))
    row["hs_lastmodifieddate"] = parse_hubspot_time(
        props.get("hs_lastmodifieddate") or record.get("updatedAt")
    )
    row["archived"] = bool(record.get("archived", False))
    return row


def records_resource(
    reader: HubSpotReader,
    settings: HubSpotSettings,
    stats: HubSpotSnapshotStats,
    known: Known,
    full_refresh: bool = False,
) -> DltResource:
    """``raw_hubspot.invoice_records``: the generic CRM resource over the custom object."""

    def locate(state: dict[str, Any], fresh: bool) -> str | None:
        return _object_type(reader, settings.object_name, state, fresh=fresh)

    invoices = CrmObject(
        table="invoice_records",
        columns=RECORD_COLUMNS,
        read=READ_PROPERTIES,
        modified=MODIFIED,
        scope=SCOPE,
        row=record_row,
        locate=locate,
        archived_after_fallback=True,
    )
    return crm_resource(reader, invoices, known, full_refresh, stats)


def _object_type(
    reader: HubSpotReader, name: str, state: dict[str, Any], *, fresh: bool
) -> str | None:
    """The custom object's objectTypeId, remembered in the resource state so a quiet run spends
    no call on the schema list; looked up again on a full read and when HubSpot refuses it."""
    if not fresh and state.get("object_type_id"):
        return str(state["object_type_id"])
    found = reader.object_type_id(name)
    if found is None:
        state.pop("object_type_id", None)
    else:
        state["object_type_id"] = found
    return found


@dlt.source(name="hubspot", max_table_nesting=0)
def hubspot_snapshot_source(
    reader: HubSpotReader,
    stats: HubSpotSnapshotStats,
    known: Known,
    full_refresh: bool = False,
) -> Any:
    return records_resource(reader, reader.settings, stats, known, full_refresh)

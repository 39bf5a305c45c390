"""Snapshot of HubSpot companies and contacts (``raw_hubspot.companies`` / ``.contacts``) and
of the invoice records' associations (``raw_hubspot.invoice_associations``), for the customer
matching of issue 13.

Companies and contacts are read by the same generic CRM resource as the invoice records
(:mod:`pipelines.hubspot_snapshot.crm`): the first run lists every record (archived ones too);
later runs read only what changed, with HubSpot's live count, in one search
(:mod:`pipelines.hubspot_snapshot.changes`; contacts on ``lastmodifieddate``), and list the
archived ones only when that count is short — through the one HubSpot client and its limiters.
Merges are followed (``hs_merged_object_ids``). Company values the push wrote come back as
echoes: the push writes back their ``updatedAt`` (:mod:`reverse_etl.push.customers`), so they
are counted, not read.

Associations: HubSpot search cannot filter by association, and creating or removing an
association is not promised to move either record's ``hs_lastmodifieddate`` (the emulator
never moves it), so no incremental read can see them. The push writes back every association
it creates or removes (:mod:`reverse_etl.push.associations`), and a full refresh
(``invoice-sync extract --full-refresh``, or the first run) reads them all with the batch
associations read API (≤ 1,000 ids a call). An association a person adds or removes by hand in
HubSpot is therefore seen only at the next full refresh; until then the tool neither removes a
hand-made association nor re-creates one removed by hand.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from functools import partial
from typing import Any

import dlt
from dlt.extract.resource import DltResource

from pipelines.hubspot_snapshot.changes import Known
from pipelines.hubspot_snapshot.client import HubSpotReader, modified_at, modified_property
from pipelines.hubspot_snapshot.crm import CrmObject, HubSpotSnapshotStats, crm_resource
from reverse_etl.hubspot.customer_calls import COMPANIES, CONTACTS, scope_for
from reverse_etl.hubspot.customer_records import COMPANY_FIELDS, CONTACT_FIELDS, association_key

TABLES = {COMPANIES: COMPANY_FIELDS, CONTACTS: CONTACT_FIELDS}
MERGED_IDS = "hs_merged_object_ids"  # HubSpot's "Merged [record] IDs" property (read only)
READ_BATCH = 1_000  # HubSpot's batch-read limit for associations (changelog, Feb 2025)


def columns(fields: Sequence[str]) -> dict[str, dict[str, Any]]:
    return {
        "hs_object_id": {"data_type": "text", "nullable": False},
        **{name: {"data_type": "text"} for name in fields},
        "hs_lastmodifieddate": {"data_type": "timestamp", "timezone": True},
        "archived": {"data_type": "bool"},
    }


ASSOCIATION_COLUMNS: dict[str, dict[str, Any]] = {
    "association_key": {"data_type": "text", "nullable": False},
    "invoice_hs_object_id": {"data_type": "text", "nullable": False},
    "to_object_type": {"data_type": "text", "nullable": False},
    "to_object_id": {"data_type": "text", "nullable": False},
}
STAMP_COLUMNS: dict[str, dict[str, Any]] = {
    "hs_company_id": {"data_type": "text", "nullable": False},
    "xero_contact_id": {"data_type": "text"},
    "stamped_at": {"data_type": "timestamp", "timezone": True},
}
TABLE_COLUMNS = {
    COMPANIES: columns(COMPANY_FIELDS),
    CONTACTS: columns(CONTACT_FIELDS),
    "invoice_associations": ASSOCIATION_COLUMNS,
    "company_stamps": STAMP_COLUMNS,
}


def row_of(
    record: dict[str, Any], fields: Sequence[str], modified: str = "hs_lastmodifieddate"
) -> dict[str, Any]:
    """A snapshot row; the last-modified instant (``lastmodifieddate`` for contacts) is
    stored as ``hs_lastmodifieddate`` for every table."""
    props = record.get("properties") or {}
    row: dict[str, Any] = {"hs_object_id": str(record["id"])}
    for name in fields:
        value = props.get(name)
        row[name] = None if value is None or value == "" else str(value)
    row["hs_lastmodifieddate"] = modified_at(record, modified)
    row["archived"] = bool(record.get("archived", False))
    return row


def customer_resource(
    reader: HubSpotReader,
    object_type: str,
    known: Known,
    full_refresh: bool,
    loaded: dict[str, int],
) -> DltResource:
    """``raw_hubspot.companies`` or ``.contacts``: the generic CRM resource
    (:mod:`pipelines.hubspot_snapshot.crm`), following merges; ``loaded`` counts the rows
    loaded per table."""
    fields = TABLES[object_type]
    modified = modified_property(object_type)
    customers = CrmObject(
        table=object_type,
        columns=columns(fields),
        read=(*fields, modified, MERGED_IDS),
        modified=modified,
        scope=scope_for(object_type, write=False),
        row=partial(row_of, fields=fields, modified=modified),
        locate=lambda _state, _fresh: object_type,
        merged_ids=MERGED_IDS,
    )
    stats = HubSpotSnapshotStats(loaded_by_table=loaded)
    return crm_resource(reader, customers, known, full_refresh, stats)


def associations_resource(
    reader: HubSpotReader, object_type_id: str, invoice_ids: Sequence[str], loaded: dict[str, int]
) -> DltResource:
    """Every association of the invoice records (full refresh): replaces the table."""

    @dlt.resource(
        name="invoice_associations",
        write_disposition="replace",
        primary_key="association_key",
        columns=ASSOCIATION_COLUMNS,
    )
    def invoice_associations() -> Iterator[list[dict[str, Any]]]:
        for to_type in (COMPANIES, CONTACTS):
            for start in range(0, len(invoice_ids), READ_BATCH):
                chunk = invoice_ids[start : start + READ_BATCH]
                answer = reader.hub.associations_read(object_type_id, to_type, chunk)
                rows = [
                    {
                        "association_key": association_key(
                            str(r["from"]["id"]), to_type, str(t["toObjectId"])
                        ),
                        "invoice_hs_object_id": str(r["from"]["id"]),
                        "to_object_type": to_type,
                        "to_object_id": str(t["toObjectId"]),
                    }
                    for r in answer.results
                    for t in r.get("to") or []
                ]
                loaded["invoice_associations"] = loaded.get("invoice_associations", 0) + len(rows)
                if rows:
                    yield rows

    return invoice_associations


@dlt.source(name="hubspot", max_table_nesting=0)
def customers_source(resources: list[DltResource]) -> Any:
    """The customers' resources in the snapshot's own dlt schema (``hubspot``)."""
    return resources

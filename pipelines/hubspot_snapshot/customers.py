"""Snapshot of HubSpot companies and contacts (``raw_hubspot.companies`` / ``.contacts``) and
of the invoice records' associations (``raw_hubspot.invoice_associations``), for the customer
matching of issue 13.

Companies and contacts are read like the invoice records (:mod:`pipelines.hubspot_snapshot.source`):
the first run lists every record (archived ones too); later runs read only what changed, with
HubSpot's live count, in one search (:mod:`pipelines.hubspot_snapshot.changes`; contacts on
``lastmodifieddate``), and list the archived ones only when that count is short — through the
one HubSpot client and its limiters. Company values the push wrote come back as echoes: the
push writes back their ``updatedAt`` (:mod:`reverse_etl.customers_push`), so they are counted,
not read.

Associations: HubSpot search cannot filter by association, and creating or removing an
association is not promised to move either record's ``hs_lastmodifieddate`` (the emulator
never moves it), so no incremental read can see them. The push writes back every association
it creates or removes (:mod:`reverse_etl.associations_push`), and a full refresh
(``invoice-sync extract --full-refresh``, or the first run) reads them all with the batch
associations read API (≤ 1,000 ids a call). An association a person adds or removes by hand in
HubSpot is therefore seen only at the next full refresh; until then the tool neither removes a
hand-made association nor re-creates one removed by hand.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from typing import Any

import dlt
from dlt.extract.resource import DltResource

from pipelines.cursor import VersionTracker, parse_cursor
from pipelines.hubspot_snapshot.changes import (
    EMPTY_READ_CURSOR,
    ChangeRead,
    Known,
    echo_windows,
    known_instants,
    read_changes,
    read_start,
    remember_settled,
)
from pipelines.hubspot_snapshot.client import (
    HubSpotReader,
    SearchWindowStuck,
    modified_at,
    modified_property,
)
from reverse_etl.company_properties import COMPANY_FIELDS
from reverse_etl.hubspot_customer_calls import COMPANIES, CONTACTS, scope_for

CONTACT_FIELDS = ("email", "firstname", "lastname", "associatedcompanyid", "xero_contact_id")
TABLES = {COMPANIES: COMPANY_FIELDS, CONTACTS: CONTACT_FIELDS}
log = logging.getLogger(__name__)
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


def association_key(invoice_id: str, to_type: str, to_id: str) -> str:
    return f"{invoice_id}:{to_type}:{to_id}"


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
    """``raw_hubspot.companies`` or ``.contacts``: full list first; later, the changes since the
    cursor and HubSpot's live count in one search (:mod:`pipelines.hubspot_snapshot.changes`),
    the archived ones listed only when the count says some disappeared."""
    fields = TABLES[object_type]
    modified = modified_property(object_type)
    read = (*fields, modified, MERGED_IDS)
    scope = scope_for(object_type, write=False)
    merged: set[str] = set()  # ids this read archived because a merge folded them away

    @dlt.resource(
        name=object_type,
        write_disposition="merge",
        primary_key="hs_object_id",
        columns=columns(fields),
    )
    def records() -> Iterator[list[dict[str, Any]]]:
        state = dlt.current.resource_state()
        cursor = None if full_refresh else parse_cursor(state.get("cursor"))
        tracker = VersionTracker()
        start = read_start(state, cursor)
        if start is None or cursor is None:
            pages: Iterator[list[dict[str, Any]]] = _chain(
                reader.list_records(object_type, read, scope=scope),
                reader.list_records(object_type, read, archived=True, scope=scope),
            )
            yield from _rows(pages, fields, tracker, loaded, object_type, modified)
        else:
            tracker.known = known.versions(start)
            windows = echo_windows(known.written_after(cursor))
            known_at = known_instants(tracker.known)
            change = read_changes(
                reader, object_type, read, modified, start, windows, scope, known_at
            )
            remember_settled(state, start, change)
            if change.complete:
                pages = iter([change.records])
                yield from _rows(pages, fields, tracker, loaded, object_type, modified)
                yield from _merged_away(change.records, fields, known, merged, loaded, object_type)
                if change.echoes_up_to is not None:
                    tracker.saw(change.echoes_up_to)
                yield from _gone(reader, object_type, read, scope, known, change, loaded, merged)
            else:
                merges: list[dict[str, Any]] = []
                pages = reader.search_modified_since(object_type, read, start, scope=scope)
                try:
                    noted = _noting_merges(pages, merges)
                    yield from _rows(noted, fields, tracker, loaded, object_type, modified)
                except SearchWindowStuck:
                    pages = _noting_merges(
                        reader.list_records(object_type, read, scope=scope), merges
                    )
                    yield from _rows(pages, fields, tracker, loaded, object_type, modified)
                yield from _merged_away(merges, fields, known, merged, loaded, object_type)
        new_cursor = tracker.next_cursor(cursor)
        if new_cursor is None and start is None:
            new_cursor = EMPTY_READ_CURSOR
        if new_cursor is not None:
            state["cursor"] = new_cursor.isoformat()

    return records


def _gone(
    reader: HubSpotReader,
    object_type: str,
    read: Sequence[str],
    scope: str,
    known: Known,
    change: ChangeRead,
    loaded: dict[str, int],
    merged: set[str],
) -> Iterator[list[dict[str, Any]]]:
    """Companies or contacts archived (deleted, merged away) since the last read, listed only
    when HubSpot's live count is short of the warehouse's — once the merges' own ids are
    accounted for — and only until found."""
    seen = {str(record["id"]) for record in change.records}
    known_live = known.live_count() - change.deferred + len(seen - known.live_among(seen))
    known_live -= len(merged)
    missing = known_live - (change.live_total or 0)
    if missing <= 0:
        return
    already = known.archived()
    found = 0
    modified = modified_property(object_type)
    for page in reader.list_records(object_type, read, archived=True, scope=scope):
        rows = [
            row_of(r, TABLES[object_type], modified) for r in page if str(r["id"]) not in already
        ]
        for row in rows:
            row["archived"] = True
        found += len(known.live_among(row["hs_object_id"] for row in rows)) if rows else 0
        loaded[object_type] = loaded.get(object_type, 0) + len(rows)
        if rows:
            yield rows
        if found >= missing:
            return
    log.warning(
        "HubSpot counts %d live %s fewer than the warehouse and its archived records explain %d: "
        "search lag (checked again next run) or records deleted permanently",
        missing,
        object_type,
        found,
    )


def _noting_merges(
    pages: Iterator[list[dict[str, Any]]], merges: list[dict[str, Any]]
) -> Iterator[list[dict[str, Any]]]:
    """The pages unchanged; the records a merge made are kept aside for :func:`_merged_away`."""
    for page in pages:
        merges.extend(r for r in page if (r.get("properties") or {}).get(MERGED_IDS))
        yield page


def _merged_away(
    records: list[dict[str, Any]],
    fields: Sequence[str],
    known: Known,
    merged: set[str],
    loaded: dict[str, int],
    table: str,
) -> Iterator[list[dict[str, Any]]]:
    """Follow merges: a company or contact a merge made lists the ids it folded in
    (``hs_merged_object_ids``, ``;``-separated). HubSpot archives those records and answers
    their ids with the new one (changelog "Updated merge functionality for contacts and
    companies"); incremental search never returns them. The ids the warehouse still holds as
    live are archived here at once, so no write is ever aimed at them and the customer
    matches the merged record on this very run."""
    folded = {
        merged_id.strip()
        for record in records
        if not record.get("archived")
        for merged_id in str((record.get("properties") or {}).get(MERGED_IDS) or "").split(";")
        if merged_id.strip()
    }
    live = known.live_among(folded - {str(r["id"]) for r in records}) if folded else set()
    if not live:
        return
    rows = [
        {"hs_object_id": i, **dict.fromkeys(fields), "hs_lastmodifieddate": None, "archived": True}
        for i in sorted(live)
    ]
    merged.update(live)
    loaded[table] = loaded.get(table, 0) + len(rows)
    log.info("HubSpot snapshot: %d %s merged away, archived", len(rows), table)
    yield rows


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


def _chain(*iterators: Iterator[list[dict[str, Any]]]) -> Iterator[list[dict[str, Any]]]:
    for iterator in iterators:
        yield from iterator


def _rows(
    pages: Iterator[list[dict[str, Any]]],
    fields: Sequence[str],
    tracker: VersionTracker,
    loaded: dict[str, int],
    table: str,
    modified: str,
) -> Iterator[list[dict[str, Any]]]:
    for page in pages:
        rows = []
        for record in page:
            row = row_of(record, fields, modified)
            stamp = row["hs_lastmodifieddate"]
            if stamp is None or tracker.is_new(row["hs_object_id"], stamp):
                rows.append(row)
        loaded[table] = loaded.get(table, 0) + len(rows)
        if rows:
            yield rows


@dlt.source(name="hubspot", max_table_nesting=0)
def customers_source(resources: list[DltResource]) -> Any:
    """The customers' resources in the snapshot's own dlt schema (``hubspot``)."""
    return resources

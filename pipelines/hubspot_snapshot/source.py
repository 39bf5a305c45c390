"""The dlt source for ``raw_hubspot.invoice_records``: what HubSpot holds for each record.

First run (or ``full_refresh``): list every record (the list endpoint has no result ceiling),
then the archived ones, so a record archived in HubSpot is marked ``archived``.
Later runs: search ``hs_lastmodifieddate >= cursor`` (truncated to the second, minus
:data:`HUBSPOT_OVERLAP` because search lags writes), windowed past the 10,000-result ceiling by
:class:`~pipelines.hubspot_snapshot.client.HubSpotReader`, and drop the versions the warehouse
already holds (:mod:`pipelines.cursor`). Search never returns archived records, so later runs
also list the archived ones (``GET /crm/v3/objects/{type}?archived=true`` answers only
archived records; HubSpot's objects reference: "Archive … Move an Object … to the recycling
bin") and load those the warehouse does not yet mark archived: dbt then treats them as
absent and the push sends their invoices again, complete, as INSERTs. When the custom object
does not exist yet the snapshot is empty, not an error: ``invoice-sync setup`` has simply not
run.

Values stay exactly as HubSpot returns them (text; null when unset), except the two timestamps
and ``archived``, typed so the push and dbt compare instants rather than strings.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import dlt
from dlt.extract.resource import DltResource

from pipelines.cursor import VersionTracker, parse_cursor, window_start
from pipelines.hubspot_snapshot.client import HubSpotReader, SearchWindowStuck, parse_hubspot_time
from reverse_etl.properties import PROPERTY_NAMES
from reverse_etl.settings import HubSpotSettings

HUBSPOT_OVERLAP = timedelta(seconds=30)

RECORD_COLUMNS: dict[str, dict[str, Any]] = {
    "hs_object_id": {"data_type": "text", "nullable": False},
    **{name: {"data_type": "text"} for name in PROPERTY_NAMES},
    "hs_createdate": {"data_type": "timestamp", "timezone": True},
    "hs_lastmodifieddate": {"data_type": "timestamp", "timezone": True},
    "archived": {"data_type": "bool"},
}
READ_PROPERTIES = (*PROPERTY_NAMES, "hs_createdate", "hs_lastmodifieddate")

KnownVersions = Callable[[datetime], set[tuple[str, str]]]
KnownArchived = Callable[[], set[str]]


@dataclass
class HubSpotSnapshotStats:
    loaded: int = 0
    unchanged: int = 0
    archived: int = 0
    mode: str = "none"  # none (no object yet) | full | incremental
    object_type_id: str | None = None


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
    known_versions: KnownVersions,
    full_refresh: bool = False,
    known_archived: KnownArchived | None = None,
) -> DltResource:
    @dlt.resource(
        name="invoice_records",
        write_disposition="merge",
        primary_key="hs_object_id",
        columns=RECORD_COLUMNS,
    )
    def invoice_records() -> Iterator[list[dict[str, Any]]]:
        state = dlt.current.resource_state()
        object_type = reader.object_type_id(settings.object_name)
        stats.object_type_id = object_type
        if object_type is None:
            return
        cursor = None if full_refresh else parse_cursor(state.get("cursor"))
        tracker = VersionTracker()
        start = window_start(cursor, HUBSPOT_OVERLAP)
        pages: Iterator[list[dict[str, Any]]]
        if start is None:
            stats.mode = "full"
            pages = _chain(
                reader.list_records(object_type, READ_PROPERTIES),
                reader.list_records(object_type, READ_PROPERTIES, archived=True),
            )
        else:
            stats.mode = "incremental"
            tracker.known = known_versions(start)
            pages = reader.search_modified_since(object_type, READ_PROPERTIES, start)
        try:
            yield from _new_rows(pages, tracker, stats)
        except SearchWindowStuck:
            stats.mode = "full (search window stuck)"
            yield from _new_rows(reader.list_records(object_type, READ_PROPERTIES), tracker, stats)
        if start is not None:
            already = known_archived() if known_archived is not None else set()
            archived = reader.list_records(object_type, READ_PROPERTIES, archived=True)
            yield from _newly_archived(archived, already, stats)
        new_cursor = tracker.next_cursor(cursor)
        if new_cursor is not None:
            state["cursor"] = new_cursor.isoformat()

    return invoice_records


def _chain(*iterators: Iterator[list[dict[str, Any]]]) -> Iterator[list[dict[str, Any]]]:
    for iterator in iterators:
        yield from iterator


def _new_rows(
    pages: Iterator[list[dict[str, Any]]], tracker: VersionTracker, stats: HubSpotSnapshotStats
) -> Iterator[list[dict[str, Any]]]:
    for page in pages:
        rows = []
        for record in page:
            row = record_row(record)
            stamp = row["hs_lastmodifieddate"]
            if stamp is None or tracker.is_new(row["hs_object_id"], stamp):
                rows.append(row)
        stats.loaded += len(rows)
        stats.unchanged += len(page) - len(rows)
        if rows:
            yield rows


def _newly_archived(
    pages: Iterator[list[dict[str, Any]]], already: set[str], stats: HubSpotSnapshotStats
) -> Iterator[list[dict[str, Any]]]:
    """Archived records the warehouse does not mark archived yet (the cursor is not moved:
    archiving need not change ``hs_lastmodifieddate``)."""
    for page in pages:
        rows = [row for row in map(record_row, page) if row["hs_object_id"] not in already]
        for row in rows:
            row["archived"] = True
        stats.loaded += len(rows)
        stats.archived += len(rows)
        stats.unchanged += len(page) - len(rows)
        if rows:
            yield rows


@dlt.source(name="hubspot", max_table_nesting=0)
def hubspot_snapshot_source(
    reader: HubSpotReader,
    stats: HubSpotSnapshotStats,
    known_versions: KnownVersions,
    full_refresh: bool = False,
    known_archived: KnownArchived | None = None,
) -> Any:
    return records_resource(
        reader, reader.settings, stats, known_versions, full_refresh, known_archived
    )

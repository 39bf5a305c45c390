"""The dlt source for ``raw_hubspot.invoice_records``: what HubSpot holds for each record.

First run (or ``full_refresh``): list every record (the list endpoint has no result ceiling),
then the archived ones, so a record archived in HubSpot is marked ``archived``.
Later runs read only what changed (:mod:`pipelines.hubspot_snapshot.changes`): one search,
newest change first, from :data:`SEARCH_LAG` before HubSpot's clock at the last read, leaving
out the seconds our own push wrote in (counted instead: their echoes are never read); its
``total`` is HubSpot's live count, and only when that is short of the warehouse's are the
archived records listed (``GET /crm/objects/{V}/{type}?archived=true`` answers only archived
records; HubSpot's objects reference: "Archive … Move an Object … to the recycling bin"),
until the missing ones are found. A quiet run costs one call: the objectTypeId is remembered
in the resource state. When the changes do not fit one query (more than 10,000) or the push's
seconds hold writes that are not ours, the read falls back to the windowed ascending search
since the same start (:class:`~pipelines.hubspot_snapshot.client.HubSpotReader`) and the full
archived listing. Versions the warehouse already holds — read before, or written back by the
push — are dropped (:mod:`pipelines.cursor`). An archived record is loaded ``archived``: dbt
then treats it as absent and the push sends its invoice again, complete, as an INSERT. When
the custom object does not exist yet the snapshot is empty, not an error: ``invoice-sync
setup`` has simply not run.

Values stay exactly as HubSpot returns them (text; null when unset), except the two timestamps
and ``archived``, typed so the push and dbt compare instants rather than strings.
"""

from __future__ import annotations

import logging
from collections.abc import Generator, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import dlt
from dlt.extract.resource import DltResource

from pipelines.cursor import VersionTracker, parse_cursor
from pipelines.hubspot_snapshot.changes import (
    EMPTY_READ_CURSOR,
    SEARCH_LAG,
    ChangeRead,
    Known,
    echo_windows,
    known_instants,
    read_changes,
    read_start,
    remember_settled,
)
from pipelines.hubspot_snapshot.client import HubSpotReader, SearchWindowStuck, parse_hubspot_time
from reverse_etl.core.settings import HubSpotSettings
from reverse_etl.hubspot.client import HubSpotRequestError
from reverse_etl.hubspot.properties import PROPERTY_NAMES

log = logging.getLogger(__name__)

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
_QUERY = (READ_PROPERTIES, MODIFIED)


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
    known: Known,
    full_refresh: bool = False,
) -> DltResource:
    @dlt.resource(
        name="invoice_records",
        write_disposition="merge",
        primary_key="hs_object_id",
        columns=RECORD_COLUMNS,
    )
    def invoice_records() -> Iterator[list[dict[str, Any]]]:
        state = dlt.current.resource_state()
        cursor = None if full_refresh else parse_cursor(state.get("cursor"))
        start = read_start(state, cursor)
        object_type = _object_type(reader, settings.object_name, state, fresh=start is None)
        stats.object_type_id = object_type
        if object_type is None:
            return
        tracker = VersionTracker()
        if start is None or cursor is None:
            stats.mode = "full"
            pages = _chain(
                reader.list_records(object_type, READ_PROPERTIES),
                reader.list_records(object_type, READ_PROPERTIES, archived=True),
            )
            yield from _new_rows(pages, tracker, stats)
        else:
            stats.mode = "incremental"
            tracker.known = known.versions(start)
            windows = echo_windows(known.written_after(cursor))
            known_at = known_instants(tracker.known)
            try:
                change = read_changes(reader, object_type, *_QUERY, start, windows, SCOPE, known_at)
            except HubSpotRequestError as error:  # a remembered objectTypeId gone from HubSpot?
                remembered = object_type
                object_type = _object_type(reader, settings.object_name, state, fresh=True)
                stats.object_type_id = object_type
                if object_type is None:
                    return
                if error.status not in (400, 404) or object_type == remembered:
                    raise
                change = read_changes(reader, object_type, *_QUERY, start, windows, SCOPE, known_at)
            remember_settled(state, start, change)
            yield from _changed(reader, object_type, start, change, tracker, stats, known)
        new_cursor = tracker.next_cursor(cursor)
        if new_cursor is None and start is None:
            new_cursor = EMPTY_READ_CURSOR
        if new_cursor is not None:
            state["cursor"] = new_cursor.isoformat()

    return invoice_records


def _changed(
    reader: HubSpotReader,
    object_type: str,
    start: datetime,
    change: ChangeRead,
    tracker: VersionTracker,
    stats: HubSpotSnapshotStats,
    known: Known,
) -> Iterator[list[dict[str, Any]]]:
    """The rows of a complete change read (and the records archived since), else the fallback."""
    if change.complete:
        yield from _new_rows(iter([change.records]), tracker, stats)
        if change.echoes_up_to is not None:
            tracker.saw(change.echoes_up_to)
        yield from _archived_since(reader, object_type, known, change, stats)
    else:
        log.info("HubSpot snapshot: reading every change since %s (%s)", start, change.reason)
        yield from _all_since(reader, object_type, start, tracker, stats, known)


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


def _all_since(
    reader: HubSpotReader,
    object_type: str,
    start: datetime,
    tracker: VersionTracker,
    stats: HubSpotSnapshotStats,
    known: Known,
) -> Iterator[list[dict[str, Any]]]:
    """The fallback: every record modified since ``start`` (windowed search, or a full list
    when a window is stuck), then every archived record the warehouse does not mark archived."""
    pages = reader.search_modified_since(object_type, READ_PROPERTIES, start)
    try:
        yield from _new_rows(pages, tracker, stats)
    except SearchWindowStuck:
        stats.mode = "full (search window stuck)"
        yield from _new_rows(reader.list_records(object_type, READ_PROPERTIES), tracker, stats)
    archived = reader.list_records(object_type, READ_PROPERTIES, archived=True)
    yield from _newly_archived(archived, known, stats)


def _archived_since(
    reader: HubSpotReader,
    object_type: str,
    known: Known,
    change: ChangeRead,
    stats: HubSpotSnapshotStats,
) -> Iterator[list[dict[str, Any]]]:
    """List the archived records only when HubSpot's live count says some record disappeared,
    and only until the missing ones are found (:mod:`pipelines.hubspot_snapshot.changes`)."""
    seen = {str(record["id"]) for record in change.records}
    expected = known.live_count() - change.deferred + len(seen - known.live_among(seen))
    missing = expected - (change.live_total or 0)
    if missing < 0 and not change.deferred:  # else: a write of ours not indexed yet
        log.warning(
            "HubSpot holds %d more live record(s) of %s than the warehouse knows; "
            "`invoice-sync extract --full-refresh` reads them all again",
            -missing,
            object_type,
        )
    if missing <= 0:
        return
    archived = reader.list_records(object_type, READ_PROPERTIES, archived=True)
    found = yield from _newly_archived(archived, known, stats, wanted=missing)
    if found < missing:
        log.warning(
            "HubSpot counts %d live record(s) of %s fewer than the warehouse, and its archived "
            "records explain %d: search lag (checked again next run) or records deleted "
            "permanently",
            missing,
            object_type,
            found,
        )


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
    pages: Iterator[list[dict[str, Any]]],
    known: Known,
    stats: HubSpotSnapshotStats,
    wanted: int | None = None,
) -> Generator[list[dict[str, Any]], None, int]:
    """Archived records the warehouse does not mark archived yet (the cursor is not moved:
    archiving need not change ``hs_lastmodifieddate``). With ``wanted``, stops paging once that
    many records the warehouse held as live are found; returns how many were."""
    already = known.archived()
    found = 0
    for page in pages:
        rows = [row for row in map(record_row, page) if row["hs_object_id"] not in already]
        for row in rows:
            row["archived"] = True
        found += len(known.live_among(row["hs_object_id"] for row in rows)) if rows else 0
        stats.loaded += len(rows)
        stats.archived += len(rows)
        stats.unchanged += len(page) - len(rows)
        if rows:
            yield rows
        if wanted is not None and found >= wanted:
            break
    return found


@dlt.source(name="hubspot", max_table_nesting=0)
def hubspot_snapshot_source(
    reader: HubSpotReader,
    stats: HubSpotSnapshotStats,
    known: Known,
    full_refresh: bool = False,
) -> Any:
    return records_resource(reader, reader.settings, stats, known, full_refresh)

"""One generic list-then-search dlt resource for a HubSpot CRM object type: the invoice records
(:mod:`pipelines.hubspot_snapshot.source`), companies and contacts
(:mod:`pipelines.hubspot_snapshot.customers`) are each this resource with a :class:`CrmObject`
saying what differs (table, properties, rows, how the object type is found, merges) — as dlt's
verified HubSpot source creates its one ``crm_objects`` resource once per object type.

First run (or ``full_refresh``): list every record (the list endpoint has no result ceiling),
then the archived ones (``GET /crm/objects/{V}/{type}?archived=true`` answers only archived
records; HubSpot's objects reference: "Archive … Move an Object … to the recycling bin").
Later runs read only what changed (:mod:`pipelines.hubspot_snapshot.changes`): one search,
newest change first, from ``SEARCH_LAG`` before HubSpot's clock at the last read, leaving out
the seconds our own push wrote in (counted instead: their echoes are never read); its ``total``
is HubSpot's live count, and only when that is short of the warehouse's are the archived
records listed, until the missing ones are found. A quiet run costs one call per object type.
When the changes do not fit one query (more than 10,000) or the push's seconds hold writes that
are not ours, the read falls back to the windowed ascending search since the same start
(:class:`~pipelines.hubspot_snapshot.client.HubSpotReader`), or a full list when a window is
stuck. Versions the warehouse already holds — read before, or written back by the push — are
dropped (:mod:`pipelines.cursor`).

Merges (companies and contacts, :attr:`CrmObject.merged_ids`): a record a merge made lists the
ids it folded in (``hs_merged_object_ids``, ``;``-separated). HubSpot archives those records
and answers their ids with the new one (changelog "Updated merge functionality for contacts
and companies"); incremental search never returns them, so the ids the warehouse still holds
as live are archived here at once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from itertools import chain
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
from pipelines.hubspot_snapshot.client import HubSpotReader, SearchWindowStuck
from reverse_etl.hubspot.client import HubSpotRequestError

log = logging.getLogger(__name__)

Page = list[dict[str, Any]]
# the object type to read, from the resource state; ``fresh``: look it up again (None: absent)
Locate = Callable[[dict[str, Any], bool], str | None]


@dataclass(frozen=True)
class CrmObject:
    """What one snapshotted object type is: everything else is read the same way."""

    table: str  # the dlt resource and ``raw_hubspot`` table
    columns: dict[str, dict[str, Any]]  # dlt column hints: hs_object_id, …, archived
    read: tuple[str, ...]  # the properties requested
    modified: str  # the last-modified property search filters and sorts on
    scope: str  # the private-app scope reading it needs
    row: Callable[[dict[str, Any]], dict[str, Any]]  # a HubSpot record as a table row
    locate: Locate
    merged_ids: str | None = None  # the property listing the ids a merge folded in
    # after the fallback read, list every archived record too (invoices: the push must resend
    # an archived record's invoice at once; companies and contacts wait for the next count)
    archived_after_fallback: bool = False


@dataclass
class HubSpotSnapshotStats:
    """What a resource read: rows loaded, versions already held, records found archived."""

    loaded: int = 0
    unchanged: int = 0
    archived: int = 0
    mode: str = "none"  # none (no object yet) | full | incremental | full (search window stuck)
    object_type_id: str | None = None
    loaded_by_table: dict[str, int] | None = None  # also count the loaded rows here, by table

    def count(self, table: str, loaded: int, unchanged: int = 0, archived: int = 0) -> None:
        self.loaded += loaded
        self.unchanged += unchanged
        self.archived += archived
        if self.loaded_by_table is not None:
            self.loaded_by_table[table] = self.loaded_by_table.get(table, 0) + loaded


def crm_resource(
    reader: HubSpotReader,
    crm: CrmObject,
    known: Known,
    full_refresh: bool,
    stats: HubSpotSnapshotStats,
) -> DltResource:
    """``raw_hubspot.<crm.table>``, merged on ``hs_object_id``; its cursor, HubSpot's clock at
    the last read (``settled``) and what :attr:`CrmObject.locate` remembers live in the
    resource state."""
    merged: set[str] = set()  # ids this read archived because a merge folded them away

    @dlt.resource(
        name=crm.table,
        write_disposition="merge",
        primary_key="hs_object_id",
        columns=crm.columns,
    )
    def records() -> Iterator[Page]:
        state = dlt.current.resource_state()
        cursor = None if full_refresh else parse_cursor(state.get("cursor"))
        start = read_start(state, cursor)
        stats.object_type_id = object_type = crm.locate(state, start is None)
        if object_type is None:
            return
        read = _Read(reader, crm, object_type, known, stats, VersionTracker(), merged)
        if start is None or cursor is None:
            stats.mode = "full"
            yield from read.everything()
        else:
            stats.mode = "incremental"
            change = read.changes(state, start, cursor)
            if change is None:
                return
            remember_settled(state, start, change)
            yield from read.changed(start, change)
        new_cursor = read.tracker.next_cursor(cursor)
        if new_cursor is None and start is None:
            new_cursor = EMPTY_READ_CURSOR
        if new_cursor is not None:
            state["cursor"] = new_cursor.isoformat()

    return records


@dataclass
class _Read:
    """One run's read of one object type."""

    reader: HubSpotReader
    crm: CrmObject
    object_type: str
    known: Known
    stats: HubSpotSnapshotStats
    tracker: VersionTracker
    merged: set[str] = field(default_factory=set)

    def everything(self) -> Iterator[Page]:
        """The full read: every live record, then every archived one."""
        read, scope = self.crm.read, self.crm.scope
        pages = chain(
            self.reader.list_records(self.object_type, read, scope=scope),
            self.reader.list_records(self.object_type, read, archived=True, scope=scope),
        )
        yield from self.rows(pages)

    def changes(
        self, state: dict[str, Any], start: datetime, cursor: datetime
    ) -> ChangeRead | None:
        """The change search (:func:`~pipelines.hubspot_snapshot.changes.read_changes`). When
        HubSpot refuses a remembered object type (400/404), it is looked up again and, if it
        changed, read once more; None: the object type is gone."""
        self.tracker.known = self.known.versions(start)
        windows = echo_windows(self.known.written_after(cursor))
        known_at = known_instants(self.tracker.known)
        query = (self.crm.read, self.crm.modified, start, windows, self.crm.scope, known_at)
        try:
            return read_changes(self.reader, self.object_type, *query)
        except HubSpotRequestError as error:
            remembered = self.object_type
            found = self.crm.locate(state, True)
            self.stats.object_type_id = found
            if found is None:
                return None
            if error.status not in (400, 404) or found == remembered:
                raise
            self.object_type = found
            return read_changes(self.reader, found, *query)

    def changed(self, start: datetime, change: ChangeRead) -> Iterator[Page]:
        """The rows of a complete change read (and the records archived since), else the
        fallback: every record modified since ``start``."""
        if change.complete:
            yield from self.rows(iter([change.records]))
            yield from self.merged_away(change.records)
            if change.echoes_up_to is not None:
                self.tracker.saw(change.echoes_up_to)
            yield from self.archived_since(change)
        else:
            log.info("HubSpot snapshot: reading every change since %s (%s)", start, change.reason)
            yield from self.all_since(start)

    def all_since(self, start: datetime) -> Iterator[Page]:
        """The fallback: the windowed search since ``start``, or a full list when a window is
        stuck (then the archived records, with :attr:`CrmObject.archived_after_fallback`)."""
        read, scope, merges = self.crm.read, self.crm.scope, []
        pages = self.reader.search_modified_since(self.object_type, read, start, scope=scope)
        try:
            yield from self.rows(self.noting_merges(pages, merges))
        except SearchWindowStuck:
            self.stats.mode = "full (search window stuck)"
            pages = self.reader.list_records(self.object_type, read, scope=scope)
            yield from self.rows(self.noting_merges(pages, merges))
        yield from self.merged_away(merges)
        if self.crm.archived_after_fallback:
            archived = self.reader.list_records(self.object_type, read, archived=True, scope=scope)
            yield from self.newly_archived(archived)

    def archived_since(self, change: ChangeRead) -> Iterator[Page]:
        """List the archived records only when HubSpot's live count says some record
        disappeared — once the merges' own ids are accounted for — and only until the missing
        ones are found (:mod:`pipelines.hubspot_snapshot.changes`)."""
        seen = {str(record["id"]) for record in change.records}
        expected = (
            self.known.live_count() - change.deferred + len(seen - self.known.live_among(seen))
        )
        missing = expected - len(self.merged) - (change.live_total or 0)
        if missing < 0 and not change.deferred:  # else: a write of ours not indexed yet
            log.warning(
                "HubSpot holds %d more live record(s) of %s than the warehouse knows; "
                "`invoice-sync extract --full-refresh` reads them all again",
                -missing,
                self.object_type,
            )
        if missing <= 0:
            return
        read, scope = self.crm.read, self.crm.scope
        archived = self.reader.list_records(self.object_type, read, archived=True, scope=scope)
        found = yield from self.newly_archived(archived, wanted=missing)
        if found < missing:
            log.warning(
                "HubSpot counts %d live record(s) of %s fewer than the warehouse, and its archived "
                "records explain %d: search lag (checked again next run) or records deleted "
                "permanently",
                missing,
                self.object_type,
                found,
            )

    def rows(self, pages: Iterator[Page]) -> Iterator[Page]:
        """The pages' records as rows, leaving out the versions the warehouse already holds."""
        for page in pages:
            rows = []
            for record in page:
                row = self.crm.row(record)
                stamp = row["hs_lastmodifieddate"]
                if stamp is None or self.tracker.is_new(row["hs_object_id"], stamp):
                    rows.append(row)
            self.stats.count(self.crm.table, len(rows), unchanged=len(page) - len(rows))
            if rows:
                yield rows

    def newly_archived(
        self, pages: Iterator[Page], wanted: int | None = None
    ) -> Generator[Page, None, int]:
        """Archived records the warehouse does not mark archived yet (the cursor is not moved:
        archiving need not change the last-modified date). With ``wanted``, stops paging once
        that many records the warehouse held as live are found; returns how many were."""
        already = self.known.archived()
        found = 0
        for page in pages:
            rows = [row for row in map(self.crm.row, page) if row["hs_object_id"] not in already]
            for row in rows:
                row["archived"] = True
            found += len(self.known.live_among(row["hs_object_id"] for row in rows)) if rows else 0
            unchanged = len(page) - len(rows)
            self.stats.count(self.crm.table, len(rows), unchanged=unchanged, archived=len(rows))
            if rows:
                yield rows
            if wanted is not None and found >= wanted:
                break
        return found

    def noting_merges(self, pages: Iterator[Page], merges: Page) -> Iterator[Page]:
        """The pages unchanged; the records a merge made are kept aside for
        :meth:`merged_away`."""
        for page in pages:
            if self.crm.merged_ids:
                merges.extend(
                    r for r in page if (r.get("properties") or {}).get(self.crm.merged_ids)
                )
            yield page

    def merged_away(self, records: Page) -> Iterator[Page]:
        """The ids the merges among ``records`` folded in that the warehouse still holds as
        live, archived at once, so no write is ever aimed at them and the customer matches the
        merged record on this very run."""
        if not self.crm.merged_ids:
            return
        folded = {
            merged_id.strip()
            for record in records
            if not record.get("archived")
            for merged_id in str(
                (record.get("properties") or {}).get(self.crm.merged_ids) or ""
            ).split(";")
            if merged_id.strip()
        }
        live = self.known.live_among(folded - {str(r["id"]) for r in records}) if folded else set()
        if not live:
            return
        rows = [
            {**dict.fromkeys(self.crm.columns), "hs_object_id": i, "archived": True}
            for i in sorted(live)
        ]
        self.merged.update(live)
        self.stats.count(self.crm.table, len(rows), archived=len(rows))
        log.info("HubSpot snapshot: %d %s merged away, archived", len(rows), self.crm.table)
        yield rows

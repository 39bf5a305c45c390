"""Read only what changed in HubSpot since the last snapshot, and prove nothing else did.

One search per object type answers two questions at once: *which records changed* (the page,
sorted by the last-modified property, newest first) and *how many records are live* (the
answer's ``total``; search never returns archived records). The read is complete as soon as a
page reaches a record modified before the window start, so a quiet hour costs one call.

HubSpot behaviour relied on (search guide, developers.hubspot.com/docs/api-reference/2026-03/
crm/search-the-crm, sections "Filter search results", "Sort search results", "Limitations";
the ``CollectionResponseWithTotalSimplePublicObject`` answer of ``POST /crm/objects/2026-09/
{objectType}/search`` in HubSpot/HubSpot-public-api-spec-collection, where ``total`` is
required and is "the total count of objects available"):

- filter groups are ORed, filters in a group ANDed (≤ 5 groups, ≤ 18 filters in all); one sort,
  ``DESCENDING`` allowed; ≤ 200 results a page and 10,000 a query;
- archived records are not searchable, so ``total`` of an unfiltered search is the number of
  live records; a record restored from the recycle bin gets a new modification date (HubSpot
  community, "Restoring recently deleted contacts": "the modification date is set"), so it is
  read as a change;
- results lag writes by a few seconds (:data:`SEARCH_LAG`). So a read remembers HubSpot's
  clock when it answered (the ``Date`` header) and the next read starts :data:`SEARCH_LAG`
  before it (``settled`` in the resource state): what was modified earlier was indexed when we
  read, what was modified later is read again. Starting from HubSpot's clock rather than from
  the newest change seen means the seconds before the newest change (e.g. our push's last
  batches) are not re-read every hour.

**Echoes of our own push.** The push writes back each record HubSpot confirmed, with the
``updatedAt`` of the upsert answer as ``hs_lastmodifieddate`` (:mod:`reverse_etl.core.sync_log`), so
the warehouse knows every version our push created after the snapshot cursor. Those versions
cluster in time (a push lasts seconds): :func:`echo_windows` groups them into at most
:data:`MAX_WINDOWS` intervals. The change search excludes the intervals (its filter groups are
the gaps between them), and one count search over the intervals proves they hold exactly the
records we wrote: HubSpot's count == the versions we wrote there ⇒ nobody else wrote a record in
those seconds. The echoes are then never read. When the count differs, the caller falls back
to reading everything since the window start, echoes included (page by page, as before).
What the count cannot see: a person editing, *inside the same seconds*, a record our push had
just written — the same race as a person editing a record while the push overwrites it.

**Archived records.** HubSpot's live count (the change search's ``total`` plus the echo
count) is compared with the records the warehouse holds as live (plus the ones this read found
new or restored). Equal ⇒ nothing was archived since the last read; fewer ⇒ the caller lists
the archived records until it has found the missing ones (``GET …?archived=true``, which answers
only archived records, has no date filter or sort). A live count that stays short after that
listing comes from search lag (checked again next run) or from records deleted permanently
(GDPR deletions skip the recycle bin; HubSpot knowledge base, "Restore deleted records"), which
no listing returns: the warning says so, and the archived listing is paid each run until the
counts agree again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from typing import Any

from pipelines.cursor import parse_cursor, window_start
from pipelines.hubspot_snapshot.client import HubSpotReader, epoch_ms, modified_at, next_after

log = logging.getLogger(__name__)

# how far HubSpot's search index may lag its writes ("a few seconds", search guide; the
# margin the snapshot has always re-read): what was written earlier than this before HubSpot's
# clock at a search is in that search's answer
SEARCH_LAG = timedelta(seconds=30)
# the cursor after a full read that found no record: later runs search (one call), not list
EMPTY_READ_CURSOR = datetime(1970, 1, 1, tzinfo=UTC)
MAX_WINDOWS = 4  # the gaps between 4 windows are 5 filter groups: HubSpot's maximum
WINDOW_GAP = timedelta(seconds=60)  # versions written further apart start a new window


@dataclass(frozen=True)
class Known:
    """What the warehouse holds for one object type, as the snapshot asks it."""

    versions: Callable[[datetime], set[tuple[str, str]]]  # (id, stamp) modified >= an instant
    live_count: Callable[[], int]  # records not marked archived
    written_after: Callable[[datetime], list[datetime]]  # live versions newer than the cursor
    live_among: Callable[[Iterable[str]], set[str]]  # which of these ids are live records
    archived: Callable[[], set[str]]  # ids already marked archived


@dataclass(frozen=True)
class EchoWindow:
    """An interval holding ``expected`` live record versions our push wrote (inclusive)."""

    low: datetime
    high: datetime
    expected: int


@dataclass
class ChangeRead:
    """What :func:`read_changes` found. ``complete`` False: the caller must read everything
    since the window start the old way (too many changes for one query, or an echo window
    holding writes that are not ours)."""

    records: list[dict[str, Any]] = field(default_factory=list)
    complete: bool = False
    live_total: int | None = None  # HubSpot's live records, those in deferred windows left out
    deferred: int = 0  # the live versions we wrote in deferred windows (left out of both counts)
    echoes_up_to: datetime | None = None  # the newest proven echo: the cursor may move there
    server_time: datetime | None = None  # HubSpot's clock at the first answer
    deferred_from: datetime | None = None  # first second of an echo window too young to prove
    reason: str = ""


def known_instants(versions: Iterable[tuple[str, str]]) -> dict[str, datetime]:
    """``(id, stamp_key)`` pairs (:func:`pipelines.cursor.known_versions`) as id → instant."""
    return {record_id: datetime.fromisoformat(key) for record_id, key in versions}


def read_start(state: dict[str, Any], cursor: datetime | None) -> datetime | None:
    """Where an incremental read starts: :data:`SEARCH_LAG` before HubSpot's clock at the last
    read, else (state from before that was kept) the cursor minus that lag; ``None``: read all."""
    if cursor is None:
        state.pop("settled", None)
        return None
    return parse_cursor(state.get("settled")) or window_start(cursor, SEARCH_LAG)


def remember_settled(state: dict[str, Any], start: datetime, read: ChangeRead) -> None:
    """Everything modified :data:`SEARCH_LAG` before HubSpot's clock at this read was read.

    A read that found nothing since ``start`` leaves the state as it is: starting there again
    costs nothing, and an unchanged state means dlt writes no load package for a quiet run."""
    quiet = not read.records and read.echoes_up_to is None and read.deferred_from is None
    if quiet and state.get("settled"):
        return
    if read.server_time is None:
        state.pop("settled", None)
        return
    settled = read.server_time - SEARCH_LAG
    if read.deferred_from is not None:
        settled = min(settled, read.deferred_from)
    state["settled"] = max(start, settled).isoformat()


def echo_windows(stamps: Sequence[datetime], gap: timedelta = WINDOW_GAP) -> list[EchoWindow]:
    """Group the instants of the versions our push wrote into at most :data:`MAX_WINDOWS`
    intervals, splitting where two consecutive instants are more than ``gap`` apart and
    merging the closest neighbours when there are more."""
    ordered = sorted(stamps)
    if not ordered:
        return []
    groups: list[list[datetime]] = [[ordered[0]]]
    for stamp in ordered[1:]:
        if stamp - groups[-1][-1] > gap:
            groups.append([stamp])
        else:
            groups[-1].append(stamp)
    while len(groups) > MAX_WINDOWS:
        closest = min(range(len(groups) - 1), key=lambda i: groups[i + 1][0] - groups[i][-1])
        groups[closest : closest + 2] = [groups[closest] + groups[closest + 1]]
    return [EchoWindow(g[0], g[-1], len(g)) for g in groups]


def read_changes(
    reader: HubSpotReader,
    object_type: str,
    properties: Sequence[str],
    modified: str,
    start: datetime,
    windows: Sequence[EchoWindow],
    scope: str,
    known_at: Mapping[str, datetime] | None = None,
) -> ChangeRead:
    """The records modified at or after ``start`` outside the echo ``windows``, newest first,
    with HubSpot's live count and clock; the windows are counted, not read. ``known_at``: the
    instant of the version the warehouse holds, by id (a record we wrote and a person edited
    since has left its window: it is read here, and the count expects one fewer).

    A window is proven only if it ended :data:`SEARCH_LAG` before HubSpot's clock (then every
    write inside it, ours or a person's, is indexed). A younger one (a snapshot that follows
    the push within seconds) is deferred: left out of the read and of both live counts
    (``deferred``), and the next read starts no later than its first second, so the next run
    proves it; a record archived inside it is found then."""
    read = ChangeRead()
    pages = _newest(reader, object_type, properties, modified, start, windows, scope, read)
    first_total = next(pages)
    for complete in pages:
        if not complete:
            read.reason = f"more than {reader.max_results:,} changes"
            return read
    settled = None if read.server_time is None else read.server_time - SEARCH_LAG
    proven = [w for w in windows if settled is not None and w.high <= settled]
    young = [w for w in windows if w not in proven]
    if young:
        read.deferred_from = min(w.low for w in young)
        read.deferred = sum(w.expected for w in young)
        log.info("HubSpot snapshot: our push wrote less than %s ago; counted next run", SEARCH_LAG)
    live: int | None = first_total
    if proven:
        counted = reader.count(object_type, modified, _inside(proven, modified), scope)
        expected = sum(w.expected for w in proven) - _left(read.records, proven, known_at or {})
        if counted != expected:
            read.reason = (
                f"the seconds our push wrote in hold {counted} record(s), not the {expected} "
                "we wrote"
            )
            return read
        live += counted
        read.echoes_up_to = max(w.high for w in proven)
    read.live_total = live
    read.complete = True
    read.records = [r for r in read.records if not _stale(r, modified, known_at or {})]
    return read


def _stale(record: dict[str, Any], modified: str, known_at: Mapping[str, datetime]) -> bool:
    """An older version than the one the warehouse holds: the search index has not caught up
    with a write of ours yet (loading it would put old values back)."""
    stamp, known = modified_at(record, modified), known_at.get(str(record["id"]))
    return stamp is not None and known is not None and stamp < known


def _newest(
    reader: HubSpotReader,
    object_type: str,
    properties: Sequence[str],
    modified: str,
    start: datetime,
    windows: Sequence[EchoWindow],
    scope: str,
    read: ChangeRead,
) -> Iterator[int | bool]:
    """Pages newest first into ``read.records`` until one reaches a record older than
    ``start``. Yields the first answer's ``total`` (after its page), then ``True`` when done or
    ``False`` when the query would pass HubSpot's result ceiling."""
    groups = _outside(windows, modified)
    after: str | None = None
    first = True
    while True:
        body, clock = reader.newest_page(object_type, properties, modified, groups, after, scope)
        reached = False
        for record in body.get("results") or []:
            stamp = modified_at(record, modified)
            if stamp is not None and stamp < start:
                reached = True
                break
            read.records.append(record)
        after = next_after(body)
        if first:
            read.server_time = clock
            first = False
            yield int(body.get("total") or 0)
        if reached or not after:
            yield True
            return
        if len(read.records) + reader.search_limit > reader.max_results:
            yield False
            return


def _left(
    records: Sequence[dict[str, Any]],
    windows: Sequence[EchoWindow],
    known_at: Mapping[str, datetime],
) -> int:
    """How many of the records read outside the windows had their known version inside one."""
    left = 0
    for record in records:
        stamp = known_at.get(str(record["id"]))
        if stamp is not None and any(w.low <= stamp <= w.high for w in windows):
            left += 1
    return left


def _outside(windows: Sequence[EchoWindow], modified: str) -> list[dict[str, Any]]:
    """Filter groups matching every record outside the windows (the gaps, ORed)."""
    if not windows:
        return []
    ordered = sorted(windows, key=lambda w: w.low)
    groups = [_filters(modified, ("LT", ordered[0].low))]
    for before, after in pairwise(ordered):
        groups.append(_filters(modified, ("GT", before.high), ("LT", after.low)))
    groups.append(_filters(modified, ("GT", ordered[-1].high)))
    return groups


def _inside(windows: Sequence[EchoWindow], modified: str) -> list[dict[str, Any]]:
    return [_filters(modified, ("GTE", w.low), ("LTE", w.high)) for w in windows]


def _filters(modified: str, *bounds: tuple[str, datetime]) -> dict[str, Any]:
    return {
        "filters": [
            {"propertyName": modified, "operator": op, "value": epoch_ms(moment)}
            for op, moment in bounds
        ]
    }

"""Overlapping incremental windows, shared by the Xero and HubSpot sources.

Both APIs filter by a modification timestamp (Xero ``If-Modified-Since`` on
``UpdatedDateUTC``; HubSpot search on ``hs_lastmodifieddate``) whose boundary behaviour we
should not trust: Xero takes the header to the second only and documents no inclusiveness,
HubSpot's search index lags writes by a few seconds. So each read starts a little *before* the
cursor (truncated to the second, minus a margin) and the rows it returns again are dropped when
the warehouse already holds that exact version ``(id, timestamp)``. The cursor never runs ahead
of the source's clock at the start of the read (``ceiling``): a record modified while we page
has a later timestamp than that and is read again next time.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta


def stamp_key(moment: datetime) -> str:
    """A canonical text form of an instant, to compare versions read from JSON and SQL."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def parse_cursor(value: object) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    return datetime.fromisoformat(value).astimezone(UTC)


def window_start(cursor: datetime | None, margin: timedelta) -> datetime | None:
    """Where the next read starts: the cursor truncated to the second, minus ``margin``."""
    if cursor is None:
        return None
    return cursor.astimezone(UTC).replace(microsecond=0) - margin


@dataclass
class VersionTracker:
    """Decides which rows of an overlapping read are new, and where the cursor moves.

    ``known`` holds the versions the warehouse already has (only the overlap window's: bounded
    by what changed since the cursor). The versions seen during this read are remembered in
    ``seen``; with ``recent_pages`` set, only those of the last that many pages (see
    :meth:`end_page`), so a backfill's memory does not grow with the number of records. A
    version repeated further apart than that is loaded twice in one package, where dlt's merge
    on the primary key keeps one copy (``dedup_sort``): the warehouse is the same, only the
    "loaded" count says one more.
    """

    known: set[tuple[str, str]] = field(default_factory=set)
    max_seen: datetime | None = None
    ceiling: datetime | None = None
    recent_pages: int | None = None
    seen: set[tuple[str, datetime]] = field(default_factory=set)
    _older: list[set[tuple[str, datetime]]] = field(default_factory=list, repr=False)

    def is_new(self, record_id: str, stamp: datetime) -> bool:
        """True once per unseen ``(id, stamp)``; tracks the newest stamp seen either way."""
        self.observe(stamp)
        key = (record_id, stamp)  # aware datetimes compare and hash by the instant
        if key in self.seen or any(key in page for page in self._older):
            return False
        if self.known and (record_id, stamp_key(stamp)) in self.known:
            return False
        self.seen.add(key)
        return True

    def observe(self, stamp: datetime) -> None:
        """Track the newest stamp only (a reader that lets the merge drop repeats)."""
        if self.max_seen is None or stamp > self.max_seen:
            self.max_seen = stamp

    def end_page(self) -> None:
        """With ``recent_pages``: forget the versions seen before the last that many pages."""
        if self.recent_pages is None:
            return
        self._older.append(self.seen)
        self.seen = set()
        del self._older[: max(0, len(self._older) - (self.recent_pages - 1))]

    def saw(self, stamp: datetime) -> None:
        """A version proven known without reading it (an echo of our own push)."""
        if self.max_seen is None or stamp > self.max_seen:
            self.max_seen = stamp

    def observe_ceiling(self, server_time: datetime | None) -> None:
        if server_time is not None and self.ceiling is None:
            self.ceiling = server_time

    def next_cursor(self, old: datetime | None) -> datetime | None:
        candidate = self.max_seen
        if candidate is not None and self.ceiling is not None:
            candidate = min(candidate, self.ceiling)
        if candidate is None:
            return old
        return candidate if old is None else max(old, candidate)


def known_versions(rows: Iterable[tuple[object, object]]) -> set[tuple[str, str]]:
    """``(id, stamp)`` pairs from SQL rows, in :func:`stamp_key` form."""
    out: set[tuple[str, str]] = set()
    for record_id, stamp in rows:
        if isinstance(stamp, datetime) and record_id is not None:
            if stamp.tzinfo is None:
                stamp = stamp.replace(tzinfo=UTC)
            out.add((str(record_id), stamp_key(stamp)))
    return out


@dataclass(frozen=True)
class ReadPosition:
    """Where a read that stopped at a rate limit resumes: the same window, the next page.

    A read pages one window (``If-Modified-Since`` = ``window``) in a fixed, immutable order
    (``InvoiceID``). It stops only at a page boundary, and the rows of every page it finished
    are committed in the same load package as this position (dlt resource state), so the
    next run asks for ``next_page`` and neither skips nor re-reads a page. Between the runs the
    window's result can only grow (Xero keeps deleted and voided invoices in modified-since
    answers, and a modification keeps an invoice inside a window it was already in); an
    invoice that enters it *before* the resume point shifts later ones by one place, so at most
    that many rows are read twice (and de-duplicated by the merge), never skipped.

    ``ceiling`` (Xero's clock when the read began) and ``max_seen`` carry over, so the cursor
    the finished read sets is the one a single uninterrupted read would have set: anything
    modified after the read began is read again by the next window.
    """

    window: datetime | None
    next_page: int
    ceiling: datetime | None = None
    max_seen: datetime | None = None
    ordered: bool = True
    pages_read: int = 0

    def to_state(self) -> dict[str, object]:
        return {
            "window": self.window.isoformat() if self.window else None,
            "next_page": self.next_page,
            "ceiling": self.ceiling.isoformat() if self.ceiling else None,
            "max_seen": self.max_seen.isoformat() if self.max_seen else None,
            "ordered": self.ordered,
            "pages_read": self.pages_read,
        }

    @classmethod
    def from_state(cls, value: object) -> ReadPosition | None:
        if not isinstance(value, dict) or not isinstance(value.get("next_page"), int):
            return None
        return cls(
            window=parse_cursor(value.get("window")),
            next_page=max(1, int(value["next_page"])),
            ceiling=parse_cursor(value.get("ceiling")),
            max_seen=parse_cursor(value.get("max_seen")),
            ordered=bool(value.get("ordered", True)),
            pages_read=int(value.get("pages_read") or 0),
        )

    def describe(self) -> str:
        since = f"invoices modified since {stamp_key(self.window)}" if self.window else "all"
        return f"page {self.next_page} of {since}"

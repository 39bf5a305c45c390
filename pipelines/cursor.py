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
    """Decides which rows of an overlapping read are new, and where the cursor moves."""

    known: set[tuple[str, str]] = field(default_factory=set)
    max_seen: datetime | None = None
    ceiling: datetime | None = None

    def is_new(self, record_id: str, stamp: datetime) -> bool:
        """True once per unseen ``(id, stamp)``; tracks the newest stamp seen either way."""
        if self.max_seen is None or stamp > self.max_seen:
            self.max_seen = stamp
        key = (record_id, stamp_key(stamp))
        if key in self.known:
            return False
        self.known.add(key)
        return True

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

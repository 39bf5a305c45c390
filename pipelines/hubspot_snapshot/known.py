"""What ``raw_hubspot`` already holds, as the snapshot asks it
(:class:`~pipelines.hubspot_snapshot.changes.Known`)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from pipelines.cursor import known_versions
from pipelines.dataset_session import DatasetSession
from pipelines.hubspot_snapshot.changes import Known


def _known(session: DatasetSession, table: str) -> Known:
    """What ``raw_hubspot.<table>`` holds, as the snapshot asks it (one query per question)."""
    live = "not coalesce(archived, false)"

    def versions(start: datetime) -> set[tuple[str, str]]:
        sql = (
            f"select hs_object_id, hs_lastmodifieddate from {table} where hs_lastmodifieddate >= ?"
        )
        return known_versions(session.query(sql, start))

    def live_count() -> int:
        rows = session.query(f"select count(*) from {table} where {live}")
        return int(rows[0][0]) if rows else 0

    def written_after(cursor: datetime) -> list[datetime]:
        sql = f"select hs_lastmodifieddate from {table} where {live} and hs_lastmodifieddate > ?"
        return [row[0] for row in session.query(sql, cursor) if isinstance(row[0], datetime)]

    def live_among(ids: Iterable[str]) -> set[str]:
        wanted = sorted(set(ids))
        if not wanted:
            return set()
        sql = (
            f"select hs_object_id from {table} where {live} and hs_object_id in (select unnest(?))"
        )
        return {str(row[0]) for row in session.query(sql, wanted)}

    def archived() -> set[str]:
        return {
            str(row[0]) for row in session.query(f"select hs_object_id from {table} where archived")
        }

    return Known(versions, live_count, written_after, live_among, archived)

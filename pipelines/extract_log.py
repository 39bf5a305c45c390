"""What the extract keeps beside dlt's own tables, and what it reports while it runs.

- ``<dataset>.extract_runs``: one row per successful extract run, even when nothing changed and
  dlt wrote no load package. dbt's source freshness measures it (a quiet night stays fresh; an
  extract that keeps failing goes stale), where dlt's ``_dlt_loads`` only moves when a package
  was loaded.
- dlt's merge staging schema ``<dataset>_staging`` is dropped after each load: dlt recreates it
  on the next merge, and between loads it is clutter in what analysts browse.
- :class:`ProgressStats`: the source's per-page counters, also reported as a progress line.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from pipelines.dataset_session import DatasetSession
from pipelines.xero.source import XeroExtractStats

ExtractProgress = Callable[[str], None]


class ProgressStats(XeroExtractStats):
    """The source's per-page counters, also reported to ``progress`` (one call per page)."""

    def __init__(self, progress: ExtractProgress) -> None:
        super().__init__()
        self._progress = progress
        self._pages: dict[str, int] = {}

    def add(self, bucket: dict[str, int], tenant_id: str, n: int) -> None:
        super().add(bucket, tenant_id, n)
        if bucket is self.unchanged:  # the last counter the source adds for each page
            self._pages[tenant_id] = self._pages.get(tenant_id, 0) + 1
            read = self.loaded.get(tenant_id, 0) + self.unchanged.get(tenant_id, 0)
            self._progress(
                f"Xero organisation {tenant_id}: page {self._pages[tenant_id]}, "
                f"{read:,} invoice(s) read, {self.loaded.get(tenant_id, 0):,} changed"
            )


def drop_staging_dataset(session: DatasetSession) -> None:
    """Drop dlt's merge staging schema (``<dataset>_staging``): dlt recreates it on the next
    merge, and between loads it is only clutter in what analysts browse."""
    session.execute(f'drop schema if exists "{session.dataset}_staging" cascade')


EXTRACT_RUNS_DDL = (
    "finished_at TIMESTAMP WITH TIME ZONE NOT NULL, pipeline VARCHAR NOT NULL, "
    "rows_loaded BIGINT NOT NULL, load_ids VARCHAR"
)


def record_extract(
    session: DatasetSession, pipeline_name: str, rows_loaded: int, load_ids: Sequence[str]
) -> None:
    """Append this successful extract to ``<dataset>.extract_runs`` (what freshness measures)."""
    schema = session.dataset
    session.execute(f'create table if not exists "{schema}"."extract_runs" ({EXTRACT_RUNS_DDL})')
    session.execute(
        f'insert into "{schema}"."extract_runs" values (current_timestamp, ?, ?, ?)',
        pipeline_name,
        rows_loaded,
        ",".join(load_ids) or None,
    )

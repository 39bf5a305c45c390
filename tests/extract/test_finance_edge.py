"""The finance resources' edge (the versions a next read's overlap returns again) holds what
it must and prunes in amortised constant time, also when thousands of records share a second."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from pipelines.xero.finance_source import _Edge

T0 = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)


class _CountingEdge(_Edge):
    def __init__(self) -> None:
        super().__init__(set())
        self.scanned = 0  # versions looked at by all prunes together

    def add(self, record_id: str, stamp: datetime, newest: datetime | None) -> None:
        before = self._prune_at
        held = len(self.near)
        super().add(record_id, stamp, newest)
        if self._prune_at != before or len(self.near) < held:
            self.scanned += held + 1


def test_dense_stamps_are_kept_and_pruned_in_linear_total_time() -> None:
    edge = _CountingEdge()
    n = 20_000
    for i in range(n):  # a dense backfill: every record within the same second
        edge.add(f"p{i}", T0, T0)
    assert len(edge.versions(T0)) == n
    # each prune scans what is held; with the threshold doubling their sum stays below 4 n
    # (pruning at a fixed 1,000 scanned ~n²/2 = 200 million here)
    assert edge.scanned < 4 * n

    later = T0 + timedelta(seconds=10)
    for i in range(2 * n + 2):  # newer stamps push the old ones out at the next prune
        edge.add(f"q{i}", later, later)
    assert edge.versions(T0) == edge.versions(later)
    assert all(key[0].startswith("q") for key in edge.versions(T0))
    assert len(edge.versions(later)) == 2 * n + 2


def test_few_versions_near_the_edge_stay_few() -> None:
    edge = _Edge(set())
    for i in range(5_000):  # one record a second: only the last seconds' are held
        stamp = T0 + timedelta(seconds=i)
        edge.add(f"p{i}", stamp, stamp)
    assert len(edge.near) <= _Edge.PRUNE_AT + 1
    assert [key[0] for key in edge.versions(T0 + timedelta(seconds=4_998))] == ["p4998", "p4999"]

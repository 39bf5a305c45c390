"""Python's collector during a dbt invocation (reverse_etl/core/dbt_invocation.py): what is
alive when dbt starts is frozen out of the collector's way and gen 0 is collected less often,
for the invocation only — also when it fails or when invocations overlap — and nothing frozen
meanwhile is leaked once the last one ends."""

from __future__ import annotations

import gc
import weakref
from typing import Any

import pytest

from reverse_etl.core import dbt_invocation
from reverse_etl.core.warehouse import PostgresWarehouse

WAREHOUSE = PostgresWarehouse("postgresql://sync:pw@db.example:5433/invoices")


class _Runner:
    """Stands in for ``dbtRunner``: records the collector's state while it "runs"."""

    def __init__(self, during: Any = None) -> None:
        self.during = during
        self.seen: list[tuple[int, int]] = []

    def invoke(self, args: list[str]) -> str:
        self.seen.append((gc.get_threshold()[0], gc.get_freeze_count()))
        if self.during is not None:
            self.during()
        return "done"


def test_the_collector_is_tuned_for_the_invocation_only() -> None:
    before = (gc.get_threshold(), gc.get_freeze_count())
    runner = _Runner()
    assert dbt_invocation.invoke(WAREHOUSE, runner, ["build"]) == "done"
    ((threshold, frozen),) = runner.seen
    assert threshold >= 20_000 and frozen > 1000  # the modules imported so far, at least
    assert (gc.get_threshold(), gc.get_freeze_count()) == before


def test_a_failed_invocation_restores_the_collector() -> None:
    before = (gc.get_threshold(), gc.get_freeze_count())

    def fail() -> None:
        raise RuntimeError("dbt blew up")

    with pytest.raises(RuntimeError, match="dbt blew up"):
        dbt_invocation.invoke(WAREHOUSE, _Runner(fail), ["build"])
    assert (gc.get_threshold(), gc.get_freeze_count()) == before


def test_overlapping_invocations_restore_it_when_the_last_ends() -> None:
    before = (gc.get_threshold(), gc.get_freeze_count())
    inner = _Runner()
    after_inner: list[int] = []

    def run_inner() -> None:
        dbt_invocation.invoke(WAREHOUSE, inner, ["parse"])
        after_inner.append(gc.get_threshold()[0])

    dbt_invocation.invoke(WAREHOUSE, _Runner(run_inner), ["build"])
    assert inner.seen[0][0] >= 20_000
    assert after_inner == [inner.seen[0][0]]  # the inner one ended: still tuned for the outer
    assert (gc.get_threshold(), gc.get_freeze_count()) == before


def test_a_cycle_dropped_during_the_invocation_is_freed_after_it() -> None:
    class Node:
        pass

    held: dict[str, Any] = {"a": Node()}
    held["a"].self = held["a"]  # a reference cycle, alive (and frozen) when dbt starts
    gone = weakref.ref(held["a"])

    def drop_it() -> None:
        del held["a"]
        gc.collect()
        assert gone() is not None  # frozen: the collector leaves it alone during the build

    dbt_invocation.invoke(WAREHOUSE, _Runner(drop_it), ["build"])
    gc.collect()
    assert gone() is None

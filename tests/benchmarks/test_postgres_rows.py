"""The PostgreSQL benchmark rows' plumbing (benchmarks/engines.py): no emulator, no stage and
no server is run; the benchmarks and the server are stand-ins."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks import goals
from benchmarks.engines import PostgresHarness, PostgresPass, bench_on_postgres, engine_filter
from benchmarks.harness import Harness, Sizes
from benchmarks.results import BenchResult
from benchmarks.run import GOAL_NAMES, selection


class FakeServer:
    def __init__(self) -> None:
        self.databases: list[str] = []
        self.stopped = False

    def new_database(self, label: str) -> str:
        self.databases.append(label)
        return f"postgresql://bench:secret@127.0.0.1:5999/db{len(self.databases)}"

    def stop(self) -> None:
        self.stopped = True


class FakeEmulator:
    url = "http://127.0.0.1:1"


@pytest.fixture
def harness(tmp_path: Path) -> Harness:
    return Harness(Sizes.quick(), tmp_path, log=lambda _text: None)


def test_make_bench_runs_both_engines_and_engine_picks_one() -> None:
    assert {"backfill-postgres", "hourly-postgres"} <= set(selection(None, False))
    assert selection(None, False) == list(GOAL_NAMES)
    both = selection(None, False)
    assert "hourly-postgres" not in engine_filter(both, "duckdb")
    assert "hourly" in engine_filter(both, "duckdb")
    assert engine_filter(both, "postgres") == ["backfill-postgres", "hourly-postgres"]
    assert engine_filter(both, "both") == both


def test_each_postgres_world_gets_its_own_database_and_no_inherited_url(
    harness: Harness, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("WAREHOUSE_URL", "postgresql://someone:else@prod:5432/invoices")
    duck = harness.env(FakeEmulator(), FakeEmulator(), tmp_path / "w0")
    assert "WAREHOUSE_URL" not in duck  # a DuckDB row never runs on a URL from the shell
    server = FakeServer()
    pg = PostgresHarness(harness, server)
    first = pg.env(FakeEmulator(), FakeEmulator(), tmp_path / "w1")
    second = pg.env(FakeEmulator(), FakeEmulator(), tmp_path / "w2")
    assert first["WAREHOUSE_URL"].endswith("/db1") and second["WAREHOUSE_URL"].endswith("/db2")
    assert server.databases == ["w1", "w2"]
    assert pg.root == harness.root / "postgres" and pg.sizes == harness.sizes


def test_rows_are_renamed_and_a_failed_run_is_skipped_with_its_reason(harness: Harness) -> None:
    server = FakeServer()
    seen: list[str] = []

    def backfill(pg, shared):
        seen.append(pg.env(FakeEmulator(), FakeEmulator(), pg.root / "x")["WAREHOUSE_URL"])
        result = BenchResult("backfill", "Backfill extract, 2,000 invoices")
        result.add("invoices_per_second", 1234.0, "Invoices extracted per second", "invoices/s")
        return result, BenchResult("transform", "Transform")

    def hourly(pg, shared):
        raise RuntimeError("stage sync exited 1: no PostgreSQL support yet")

    setup = PostgresPass(lambda: server, {"backfill": backfill, "hourly": hourly})
    out = bench_on_postgres(harness, None, ["backfill-postgres", "hourly-postgres"], setup)
    by_name = {r.name: r for r in out}
    assert set(by_name) == {"backfill-postgres", "hourly-postgres"}
    ok = by_name["backfill-postgres"]
    assert ok.status == "ok" and "PostgreSQL" in ok.title
    assert ok.metrics["invoices_per_second"].median == 1234.0
    assert seen and seen[0].startswith("postgresql://")
    skipped = by_name["hourly-postgres"]
    assert skipped.status == "skipped"
    assert (
        "the PostgreSQL run failed" in skipped.reason and "no PostgreSQL support" in skipped.reason
    )
    assert server.stopped


def test_no_server_skips_every_postgres_row_and_nothing_else(harness: Harness) -> None:
    def no_server():
        raise RuntimeError("PostgreSQL server binaries (initdb, pg_ctl) not found")

    def never(*_args):
        raise AssertionError("no benchmark runs without a server")

    setup = PostgresPass(no_server, {"backfill": never, "hourly": never})
    out = bench_on_postgres(harness, None, ["hourly", "hourly-postgres"], setup)
    assert [(r.name, r.status) for r in out] == [("hourly-postgres", "skipped")]
    assert "not found" in out[0].reason
    assert bench_on_postgres(harness, None, ["hourly"], setup) == ()


def test_goals_show_postgres_rows_beside_duckdb_and_why_one_is_missing() -> None:
    hourly = BenchResult("hourly", "Hourly")
    hourly.add("changed_seconds", 6.0, "changed", "s")
    on_pg = BenchResult("hourly-postgres", "Hourly — PostgreSQL")
    on_pg.add("changed_seconds", 8.0, "changed", "s")
    skipped = BenchResult(
        "backfill-postgres", "Backfill on PostgreSQL", status="skipped", reason="no server"
    )
    doc = {"benchmarks": {r.name: r.to_json() for r in (hourly, on_pg, skipped)}}
    rows = {row["key"]: row for row in goals.rows(doc)}
    assert rows["hourly_changed"]["after"] == 6.0
    assert rows["hourly_changed_postgres"]["after"] == 8.0
    assert rows["hourly_changed_postgres"]["met"] is True
    assert rows["backfill_rate_postgres"]["after_text"] == "skipped: no server"
    assert rows["hourly_unchanged_postgres"]["after_text"] == "n/a"

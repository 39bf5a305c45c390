"""The run's spine on both engines (issue 22): the run log, the build plan, the lock and the
orchestrator ask the warehouse seam, so the same calls work on a DuckDB file and on a real
PostgreSQL server (the suite's throwaway cluster, a fresh database per test).

Each test is parametrised over ``duckdb`` and ``postgres`` and asserts the same outcome on
both; the stages the orchestrator runs are stubbed where the test is about the layer around
them (the extract, the fast path and the push have their own tests)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from reverse_etl.app import webhook_batch
from reverse_etl.app.run_environment import run_environment
from reverse_etl.core import build_plan, sync_log
from reverse_etl.core.errors import LockBusyError
from reverse_etl.core.settings import Settings, load_settings
from reverse_etl.core.warehouse import Connection, Warehouse

ENGINES = ["duckdb", pytest.param("postgres", marks=pytest.mark.postgres)]


@pytest.fixture(params=ENGINES)
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    env = {"WAREHOUSE_PATH": str(tmp_path / "w.duckdb")}
    if request.param == "postgres":
        env["WAREHOUSE_URL"] = request.getfixturevalue("postgres_warehouse_url")
    return load_settings(env, dotenv_path=None)


@pytest.fixture
def warehouse(settings: Settings) -> Warehouse:
    return settings.warehouse


@pytest.fixture
def con(warehouse: Warehouse) -> Iterator[Connection]:
    with sync_log.open_warehouse(warehouse) as opened:
        yield opened


def test_run_log_rows_on_both_engines(warehouse: Warehouse, con: Connection) -> None:
    started = datetime(2024, 6, 3, 9, 0, tzinfo=UTC)
    sync_log.start_run(con, "run-1", started, command="sync", stage="extract")
    sync_log.update_run(con, "run-1", dlt_load_ids=["1717405200.1", "1717405201.2"])
    sync_log.update_run(con, "run-1", build_scope="skipped", build_reason="nothing changed")
    sync_log.finish_run(
        con, "run-1", status="success", inserted=2, updated=1, rejected=0, hubspot_calls=3
    )
    # a row left running (a killed process) is closed as failed by the next run's start
    sync_log.start_run(con, "run-2", started + timedelta(hours=1), command="sync")
    sync_log.update_run(con, "run-2", dlt_load_ids=[])
    sync_log.start_run(con, "run-3", started + timedelta(hours=2), command="webhook")
    rows = con.execute(
        "select run_id, status, command, dlt_load_ids, build_scope, inserted, hubspot_calls, "
        "error from sync_log.runs order by started_at"
    ).fetchall()
    assert [(r[0], r[1], r[2]) for r in rows] == [
        ("run-1", "success", "sync"),
        ("run-2", "failed", "sync"),
        ("run-3", "running", "webhook"),
    ]
    assert list(rows[0][3]) == ["1717405200.1", "1717405201.2"]
    assert list(rows[1][3]) == []
    assert (rows[0][4], rows[0][5], rows[0][6]) == ("skipped", 2, 3)
    assert rows[1][7].startswith("interrupted")
    with pytest.raises(ValueError):
        sync_log.update_run(con, "run-3", not_a_column=1)


def test_an_older_run_log_is_widened(warehouse: Warehouse) -> None:
    """A warehouse logged by an older release gains the columns added since; a complete one is
    left alone (no DDL: on PostgreSQL it would wait behind readers of the table)."""
    con = warehouse.connect()
    try:
        con.execute("create schema if not exists sync_log")
        con.execute(  # sync_log.runs as the first release created it
            "create table sync_log.runs (run_id varchar primary key, "
            "started_at timestamptz not null, finished_at timestamptz, status varchar not null, "
            "inserted integer not null default 0, updated integer not null default 0, "
            "rejected integer not null default 0, hubspot_calls integer not null default 0, "
            "error varchar)"
        )
        assert "build_scope" in sync_log.missing_columns(con)["runs"]
        sync_log.ensure_tables(con)
        assert sync_log.missing_columns(con) == {}
        columns = {
            r[0]
            for r in con.execute(
                "select column_name from information_schema.columns "
                "where table_schema = 'sync_log' and table_name = 'runs'"
            ).fetchall()
        }
        assert {"dlt_load_ids", "build_scope", "stage_seconds", "inserted"} <= columns
    finally:
        con.close()


def _raw_dataset(con: Connection, dataset: str) -> None:
    con.execute(f"create schema if not exists {dataset}")
    con.execute(f"create table if not exists {dataset}._dlt_loads (load_id varchar)")
    con.execute(f"create table if not exists {dataset}.invoices (id varchar, _dlt_load_id varchar)")


def _load(con: Connection, dataset: str, load_id: str, *, rows: int) -> None:
    con.execute(f"insert into {dataset}._dlt_loads values (?)", [load_id])
    for n in range(rows):
        con.execute(f"insert into {dataset}.invoices values (?, ?)", [f"inv-{n}", load_id])


def test_build_plan_skips_a_quiet_hour_on_both_engines(con: Connection) -> None:
    for dataset in build_plan.RAW_DATASETS:
        _raw_dataset(con, dataset)
        _load(con, dataset, "1717405200.5", rows=2)
    now = datetime(2024, 6, 3, 9, 0, tzinfo=UTC)

    def plan() -> build_plan.BuildPlan:
        return build_plan.plan_build(con, build_plan.read_inputs(con, "f1", now))

    assert plan().scope == build_plan.DAILY  # no build yet
    inputs = build_plan.read_inputs(con, "f1", now)
    assert inputs.load_marks == {"raw_xero": "1717405200.5", "raw_hubspot": "1717405200.5"}
    build_plan.record_build(
        con, scope=build_plan.DAILY, inputs=inputs, started_at=now, finished_at=now
    )
    assert plan() == build_plan.BuildPlan(
        build_plan.HOURLY, "the last build's writes were not all confirmed by HubSpot"
    )
    build_plan.mark_pushed(con)
    assert plan().skipped
    # a load that carries only a source's state (no row in any table): still nothing to build
    _load(con, "raw_xero", "1717405300.25", rows=0)
    assert plan().skipped
    # a numeric comparison of the marks, as dlt's load ids are seconds
    _load(con, "raw_hubspot", "1717405400.125", rows=1)
    assert plan() == build_plan.BuildPlan(
        build_plan.HOURLY, "new data in raw_hubspot since the last build"
    )
    # the next day in UTC (no organisation read): a daily build
    later = build_plan.read_inputs(con, "f1", now + timedelta(days=1))
    assert build_plan.plan_build(con, later).scope == build_plan.DAILY


def test_undelivered_alerts_ask_for_a_build(con: Connection) -> None:
    now = datetime(2024, 6, 3, 9, 0, tzinfo=UTC)
    inputs = build_plan.read_inputs(con, "f1", now)
    assert inputs.load_marks == {"raw_xero": None, "raw_hubspot": None}  # nothing loaded
    build_plan.record_build(
        con, scope=build_plan.DAILY, inputs=inputs, started_at=now, finished_at=now
    )
    build_plan.mark_pushed(con)
    assert build_plan.plan_build(con, inputs).skipped
    con.execute(
        "insert into sync_log.undelivered_status_changes (xero_invoice_id, new_status, "
        "recorded_at) values ('inv-1', 'PAID', ?)",
        [now],
    )
    assert build_plan.plan_build(con, inputs) == build_plan.BuildPlan(
        build_plan.HOURLY, "1 status-change alert(s) wait to be delivered"
    )


def test_runs_never_overlap_on_either_engine(settings: Settings) -> None:
    with run_environment(settings, "hourly sync", sandbox=False):
        with (
            pytest.raises(LockBusyError) as busy,
            run_environment(settings, "sync", sandbox=False),
        ):
            pytest.fail("a second run entered while the first held the lock")
        assert busy.value.exit_code == 4
        assert "hourly sync" in str(busy.value)
    with run_environment(settings, "sync", sandbox=False):
        pass  # freed when the first run ended


@dataclass
class _Extract:
    load_ids: list[str] = field(default_factory=lambda: ["1717405200.5"])


@dataclass
class _Build:
    invocation_id: str = "dbt-invocation-1"


@dataclass
class _Push:
    status: str = "success"
    rejected: int = 0

    def raise_for_rejections(self) -> None:
        return None


class _FastPath:
    def build(self, _settings: Settings, ids: list[str]) -> _Build:
        return _Build()


def test_webhook_batch_logs_its_run_on_both_engines(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The orchestrator around stubbed stages: the run's row, on the warehouse the settings
    name (on PostgreSQL with no connection kept open for the batch)."""
    monkeypatch.setattr(webhook_batch, "run_xero_extract", lambda _s, invoice_ids: _Extract())
    monkeypatch.setattr(webhook_batch, "run_push", lambda _s, run_id, actions_schema: _Push())
    report = webhook_batch.sync_invoices(settings, ["inv-2", "inv-1"], fast_path=_FastPath())
    with sync_log.open_warehouse(settings) as con:
        rows = con.execute(
            "select run_id, command, status, stage, build_scope, dlt_load_ids, "
            "dbt_invocation_id, stage_seconds, finished_at is not null from sync_log.runs"
        ).fetchall()
    assert len(rows) == 1
    run_id, command, status, stage, scope, loads, invocation, seconds, finished = rows[0]
    assert (run_id, command, status, stage, scope) == (
        report.run_id,
        "webhook",
        "success",
        "done",
        "webhook",
    )
    assert list(loads) == ["1717405200.5"] and invocation == "dbt-invocation-1" and finished
    assert set(json.loads(seconds)) == {"extract", "transform", "push"}
    if settings.warehouse_url:  # nothing of the run went to a DuckDB file
        assert not settings.warehouse_path.exists()


def test_each_run_start_checks_the_run_log_afresh(settings: Settings) -> None:
    """On a server the run log's tables are checked once per run (at its start), not at each
    write: a table dropped between two runs is back at the next run's start."""
    with (
        run_environment(settings, "sync", sandbox=False),
        sync_log.open_warehouse(settings) as con,
    ):
        sync_log.start_run(con, "run-1", sync_log.now())
    con = settings.warehouse.connect()
    try:
        con.execute("drop table sync_log.runs")
    finally:
        con.close()
    with (
        run_environment(settings, "sync", sandbox=False),
        sync_log.open_warehouse(settings) as con,
    ):
        sync_log.start_run(con, "run-2", sync_log.now())
        assert con.execute("select run_id from sync_log.runs").fetchall() == [("run-2",)]


def test_the_fast_path_ids_are_replaced_each_batch(settings: Settings) -> None:
    from reverse_etl.fast_path import IDS_TABLE, write_invoice_ids

    write_invoice_ids(settings, ["inv-1", "inv-2", "inv-1"])
    write_invoice_ids(settings, ["inv-3", "inv-2"])
    with sync_log.open_warehouse(settings) as con:
        rows = con.execute(f"select invoice_id from {IDS_TABLE} order by invoice_id").fetchall()
    assert rows == [("inv-2",), ("inv-3",)]

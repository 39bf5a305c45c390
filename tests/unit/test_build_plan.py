"""The build decision of reverse_etl/core/build_plan.py on a real DuckDB file, rule by rule."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pytest

from reverse_etl.core import build_plan
from reverse_etl.core.build_plan import (
    DAILY,
    HOURLY,
    SKIP,
    BuildInputs,
    plan_build,
    project_fingerprint,
    read_inputs,
    record_build,
)

NOON = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)


@pytest.fixture
def con(tmp_path: Path) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    con.execute("create schema raw_xero; create schema raw_hubspot")
    for dataset in ("raw_xero", "raw_hubspot"):
        con.execute(f"create table {dataset}._dlt_loads (load_id varchar)")
        con.execute(f"insert into {dataset}._dlt_loads values ('100.1')")
    con.execute("create table raw_xero.organisations (tenant_id varchar, timezone varchar)")
    con.execute("insert into raw_xero.organisations values ('nz', 'Pacific/Auckland')")
    return con


def build(con, inputs: BuildInputs, scope: str = DAILY, *, pushed: bool = True) -> None:
    record_build(con, scope=scope, inputs=inputs, started_at=NOON, finished_at=datetime.now(UTC))
    if pushed:
        build_plan.mark_pushed(con)


def test_the_first_run_builds_everything(con) -> None:
    plan = plan_build(con, read_inputs(con, "f1", NOON))
    assert (plan.scope, plan.reason) == (DAILY, "no earlier build in this warehouse")


def test_nothing_new_after_a_pushed_build_is_skipped(con) -> None:
    build(con, read_inputs(con, "f1", NOON))
    plan = plan_build(con, read_inputs(con, "f1", NOON + timedelta(minutes=59)))
    assert plan.skipped and plan.scope == SKIP
    assert plan.reason.startswith("nothing changed in Xero or HubSpot since the daily build")


def test_a_new_load_in_either_dataset_gets_the_hourly_build(con) -> None:
    build(con, read_inputs(con, "f1", NOON))
    con.execute("insert into raw_hubspot._dlt_loads values ('100.2')")
    # a package holding only the source's state (a moved cursor): no data, nothing to build
    con.execute("create table raw_hubspot._dlt_pipeline_state (_dlt_load_id varchar)")
    con.execute("insert into raw_hubspot._dlt_pipeline_state values ('100.2')")
    con.execute("create table raw_hubspot.companies (id varchar, _dlt_load_id varchar)")
    con.execute("insert into raw_hubspot.companies values ('c0', '100.1')")
    assert plan_build(con, read_inputs(con, "f1", NOON)).skipped
    con.execute("insert into raw_hubspot.companies values ('c1', '100.2')")
    plan = plan_build(con, read_inputs(con, "f1", NOON))
    assert (plan.scope, plan.reason) == (HOURLY, "new data in raw_hubspot since the last build")


def test_writes_not_all_confirmed_are_built_and_pushed_again(con) -> None:
    build(con, read_inputs(con, "f1", NOON), pushed=False)
    plan = plan_build(con, read_inputs(con, "f1", NOON))
    assert plan.scope == HOURLY and "not all confirmed" in plan.reason


def test_the_day_turning_in_the_organisations_time_zone_gets_the_daily_build(con) -> None:
    build(con, read_inputs(con, "f1", NOON))  # 01:00 on the 8th in Auckland
    # 10:59 UTC on the 8th is 23:59 in Auckland: still the 8th there → nothing to do
    assert plan_build(con, read_inputs(con, "f1", NOON + timedelta(hours=22, minutes=59))).skipped
    # 11:00 UTC is midnight in Auckland: the 9th begins, though it is still the 8th in UTC
    plan = plan_build(con, read_inputs(con, "f1", NOON + timedelta(hours=23)))
    assert (plan.scope, plan.reason) == (DAILY, "a new day (2026-12-09): ageing is rebuilt")


def test_an_hourly_build_does_not_count_as_the_days_build(con) -> None:
    build(con, read_inputs(con, "f1", NOON))
    con.execute("insert into raw_xero._dlt_loads values ('100.2')")
    build(con, read_inputs(con, "f1", NOON), scope=HOURLY)
    assert plan_build(con, read_inputs(con, "f1", NOON)).skipped
    assert plan_build(con, read_inputs(con, "f1", NOON + timedelta(days=1))).scope == DAILY


def test_another_fingerprint_or_a_forced_run_gets_the_daily_build(con) -> None:
    build(con, read_inputs(con, "f1", NOON))
    plan = plan_build(con, read_inputs(con, "f2", NOON))
    assert (plan.scope, plan.reason) == (DAILY, "the dbt project or the mirroring settings changed")
    forced = plan_build(con, read_inputs(con, "f1", NOON), force="--full-refresh")
    assert (forced.scope, forced.reason) == (DAILY, "--full-refresh")


def test_an_unknown_time_zone_counts_as_utc_and_no_organisation_as_utc(con) -> None:
    con.execute("update raw_xero.organisations set timezone = 'Mars/Olympus'")
    assert read_inputs(con, "f", NOON).local_dates == {"nz": "2026-12-07"}
    con.execute("delete from raw_xero.organisations")
    assert read_inputs(con, "f", NOON).local_dates == {"*": "2026-12-07"}


def test_the_fingerprint_follows_the_project_files_and_the_vars(tmp_path: Path) -> None:
    (tmp_path / "models").mkdir()
    model = tmp_path / "models" / "a.sql"
    model.write_text("select 1")
    (tmp_path / "dbt_project.yml").write_text("name: x")
    first = project_fingerprint(tmp_path, {"v": 1})
    assert project_fingerprint(tmp_path, {"v": 1}) == first
    assert project_fingerprint(tmp_path, {"v": 2}) != first
    (tmp_path / "target").mkdir()  # dbt's output is not an input
    (tmp_path / "target" / "manifest.json").write_text("{}")
    assert project_fingerprint(tmp_path, {"v": 1}) == first
    model.write_text("select 2")
    assert project_fingerprint(tmp_path, {"v": 1}) != first


def test_alerts_waiting_for_delivery_are_sent_by_a_run_that_does_not_skip(con) -> None:
    build(con, read_inputs(con, "f1", NOON))
    con.execute("create schema if not exists sync_log")
    con.execute("create table sync_log.undelivered_status_changes (xero_invoice_id varchar)")
    assert plan_build(con, read_inputs(con, "f1", NOON)).skipped
    con.execute("insert into sync_log.undelivered_status_changes values ('i1')")
    plan = plan_build(con, read_inputs(con, "f1", NOON))
    assert (plan.scope, plan.reason) == (HOURLY, "1 status-change alert(s) wait to be delivered")

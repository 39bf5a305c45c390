"""Pay only for what changed: a quiet run skips the build, new data gets the hourly build, a new
day the daily one — whole syncs over real HTTP, a real DuckDB file, real dbt
(reverse_etl/core/build_plan.py)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from typer.testing import CliRunner

from reverse_etl.app.cli import app
from reverse_etl.app.sync import run_sync_once
from reverse_etl.core.settings import load_settings
from reverse_etl.transform import run_transform
from tests.e2e.conftest import both_engines

runner = CliRunner()


def sync_json(*extra: str) -> dict:
    result = runner.invoke(app, ["sync", "--json", *extra])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def run_row(world, run_id: str) -> tuple[str, str, str, str]:
    (row,) = world.query(
        "select status, build_scope, build_reason, stage_seconds from sync_log.runs "
        "where run_id = ?",
        [run_id],
    )
    return row


@both_engines()
def test_a_quiet_run_skips_the_build_and_says_why_and_new_data_builds_again(world):
    first = sync_json()
    assert first["stages"]["transform"]["scope"] == "daily"
    assert run_row(world, first["run_id"])[1] == "daily"
    # the first run's push echoed in HubSpot: the snapshot may load it once (hourly build)
    sync_json()
    calls_before = world.hubspot.emulator.counters.snapshot()["total"]
    writes_before = world.hubspot_writes()

    result = runner.invoke(app, ["sync"])
    assert result.exit_code == 0, result.output
    assert "[transform] skipped: nothing changed in Xero or HubSpot" in result.output
    assert "Transform, push and publish skipped: nothing changed." in result.output
    (run_id,) = world.query("select run_id from sync_log.runs order by started_at desc limit 1")[0]
    status, scope, reason, stage_seconds = run_row(world, run_id)
    assert (status, scope) == ("success", "skipped")
    assert reason.startswith("nothing changed in Xero or HubSpot since the")
    assert set(json.loads(stage_seconds)) == {"extract", "freshness"}
    assert world.hubspot_writes() == writes_before  # nothing written
    quiet_calls = world.hubspot.emulator.counters.snapshot()["total"] - calls_before
    assert quiet_calls <= 10  # reads only; no write, no schema call

    # the skip was right: a full build now finds nothing to write
    run_transform(load_settings(), scope="daily")
    for table in ("hubspot_invoice_actions", "hubspot_company_actions"):
        assert world.query(f"select count(*) from reverse_etl.{table}") == [(0,)], table
    assert world.query("select count(*) from reverse_etl.hubspot_association_actions") == [(0,)]

    # one paid invoice in Xero: new data → the hourly build, and exactly that record written
    invoice_id = sorted(
        i.invoice_id
        for i in world.xero.emulator.invoices(world.tenant_id)
        if i.type == "ACCREC" and i.status == "AUTHORISED"
    )[0]
    world.xero.clock.advance(hours=1)
    world.xero.emulator.pay(invoice_id)
    after = sync_json()
    assert after["stages"]["transform"]["scope"] == "hourly"
    assert after["stages"]["transform"]["unit_tests"] == 0
    assert 0 < after["stages"]["transform"]["tests"] < 60  # the push path's tests only
    assert after["stages"]["push"]["updated"] == 1
    record = world.hubspot_by_invoice()[invoice_id]
    assert record["properties"]["status"] == "PAID"


@both_engines()
def test_a_hand_edit_in_hubspot_is_new_data_and_is_put_back(world):
    sync_json()
    sync_json()
    record = next(iter(world.hubspot_by_invoice().values()))
    world.hubspot.emulator.edit_by_hand("xero_invoice", record["id"], {"reference": "by hand"})
    summary = sync_json()
    assert summary["stages"]["transform"]["scope"] == "hourly"
    assert summary["stages"]["push"]["updated"] == 1
    fixed = world.hubspot_by_invoice()[record["properties"]["xero_invoice_id"]]
    assert fixed["properties"].get("reference") == record["properties"].get("reference")
    assert fixed["properties"].get("reference") != "by hand"


def test_a_new_day_rebuilds_the_ageing_with_no_new_data(world):
    """The clock is injected: the day after the last build, in the organisation's time zone,
    the run builds (daily: every data test) though nothing changed in Xero or HubSpot."""
    settings = load_settings()
    run_sync_once(settings, progress=False)
    run_sync_once(settings, progress=False)
    quiet = run_sync_once(settings, progress=False)
    assert quiet.plan is not None and quiet.plan.skipped

    tomorrow = datetime.now(UTC) + timedelta(days=1)
    report = run_sync_once(settings, progress=False, now=tomorrow)
    assert report.plan is not None and report.plan.scope == "daily"
    assert report.plan.reason.startswith("a new day (")
    assert report.transform is not None and report.transform.tests > 60
    (aging_built,) = world.query(
        "select count(*) from marts.fct_ar_aging"  # rebuilt, and still answers
    )[0]
    assert aging_built >= 0
    # the same "tomorrow" again: already built for that day, nothing new → skipped
    again = run_sync_once(settings, progress=False, now=tomorrow)
    assert again.plan is not None and again.plan.skipped


def test_a_changed_mirroring_setting_rebuilds_without_new_data(world, monkeypatch):
    sync_json()
    sync_json()
    assert sync_json()["stages"].get("transform") is None  # skipped
    monkeypatch.setenv("HUBSPOT_INCLUDE_DRAFTS", "true")
    summary = sync_json()
    assert summary["stages"]["transform"]["scope"] == "daily"
    (reason,) = world.query(
        "select build_reason from sync_log.runs where run_id = ?", [summary["run_id"]]
    )[0]
    assert reason == "the dbt project or the mirroring settings changed"
    assert summary["stages"]["push"]["inserted"] > 0  # the drafts now mirrored

"""What a monitor and an operator see: the `--json` summary, `sync_log.runs`, exit codes, dry
runs and the push's staleness guard — whole syncs over real HTTP, a real DuckDB file, real dbt.
"""

from __future__ import annotations

import json
from typing import Any

from typer.testing import CliRunner

from reverse_etl.app.cli import app
from tests.e2e.conftest import both_engines

runner = CliRunner()


def invoke(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.output


RUN_COLUMNS = (
    "run_id command status stage dry_run error stage_seconds dlt_load_ids dbt_invocation_id "
    "actions_invocation_id freshness inserted updated finished_at"
)


def run_row(world, run_id: str) -> dict[str, Any]:
    names = RUN_COLUMNS.split()
    rows = world.query(f"select {', '.join(names)} from sync_log.runs where run_id = ?", [run_id])
    assert len(rows) == 1, f"no sync_log.runs row for {run_id}"
    return dict(zip(names, rows[0], strict=True))


@both_engines()
def test_sync_json_summary_matches_the_run_log_and_a_repeat_push_writes_nothing(world):
    code, stdout, output = invoke("sync", "--json")
    assert code == 0, output
    summary = json.loads(stdout)  # stdout is exactly one JSON object
    assert summary["command"] == "sync" and summary["outcome"] == "success"
    assert summary["exit_code"] == 0 and summary["dry_run"] is False
    assert summary["errors"] == [] and summary["rejected"] == []
    stages = summary["stages"]
    assert list(stages) == ["extract", "transform", "freshness", "push"]
    mirrored = len(world.hubspot_records())
    assert stages["push"]["inserted"] == mirrored > 50
    assert stages["extract"]["invoices_loaded"] == 120
    assert stages["transform"]["models"] >= 10
    assert stages["freshness"]["status"] == "pass"
    assert all(stage["seconds"] >= 0 for stage in stages.values())

    row = run_row(world, summary["run_id"])
    assert (row["command"], row["status"], row["stage"], row["dry_run"]) == (
        "sync",
        "success",
        "done",
        False,
    )
    assert row["inserted"] == mirrored and row["finished_at"] is not None
    assert row["dlt_load_ids"] and row["dlt_load_ids"] == stages["extract"]["dlt_load_ids"]
    assert row["dbt_invocation_id"] == stages["transform"]["dbt_invocation_id"]
    assert row["actions_invocation_id"] == row["dbt_invocation_id"]
    assert set(json.loads(row["stage_seconds"])) == {
        "extract",
        "transform",
        "push",
        "publish",
        "freshness",
    }
    assert row["freshness"].startswith("Source freshness: pass")
    changed = world.query(
        "select changed_properties from sync_log.record_results where run_id = ? limit 1",
        [summary["run_id"]],
    )
    assert "invoice_number" in changed[0][0]  # what each written record got is kept

    # analysts' schemas: no dlt staging datasets, no test-failure views
    schemas = world.schema_names()
    assert not {s for s in schemas if s.endswith("_staging") or "test_failures" in s}

    # the action table is consumed: a dry run shows nothing to do, a push writes nothing
    world.hubspot.emulator.counters.reset()
    code, stdout, output = invoke("push", "--dry-run", "--json")
    assert code == 0, output
    dry = json.loads(stdout)
    assert dry["stages"]["push"]["planned"] == {} and dry["dry_run"] is True
    assert dry["stages"]["push"]["rebuilt_stale_actions"] is True
    code, stdout, output = invoke("push", "--json")
    assert code == 0, output
    again = json.loads(stdout)["stages"]["push"]
    assert again["inserted"] == again["updated"] == 0
    assert world.hubspot_writes() == 0
    runs = world.query("select count(*) from sync_log.record_results")[0][0]
    assert runs == mirrored  # not padded by the pushes after the sync


def test_push_twice_after_a_transform_writes_once(world):
    assert invoke("extract")[0] == 0
    assert invoke("transform")[0] == 0
    code, _, output = invoke("push")
    assert code == 0, output
    written = world.hubspot_writes()
    assert written >= 1
    code, _, output = invoke("push")
    assert code == 0, output
    assert world.hubspot_writes() == written


def test_failed_extract_is_logged_with_its_stage_and_error(world):
    world.xero.emulator.faults.add("status", status=401, path_prefix="/connect/token", times=20)
    code, stdout, output = invoke("sync", "--json")
    assert code == 1, output
    summary = json.loads(stdout)
    assert summary["outcome"] == "failed" and summary["exit_code"] == 1
    assert summary["errors"][0]["stage"] == "extract"
    assert "push" not in summary["stages"]
    row = run_row(world, summary["run_id"])
    assert (row["status"], row["stage"]) == ("failed", "extract")
    assert summary["errors"][0]["type"] in row["error"]
    assert row["freshness"].startswith("Source freshness:")  # measured even after a failure
    assert world.hubspot_writes() == 0


def test_dry_run_sync_writes_nothing_to_hubspot_and_is_flagged(world):
    code, stdout, output = invoke("sync", "--dry-run", "--json")
    assert code == 0, output
    summary = json.loads(stdout)
    assert summary["dry_run"] is True
    assert summary["stages"]["push"]["planned"]["INSERT"] > 50
    assert world.hubspot_writes() == 0  # nothing written, not even the object's schema
    row = run_row(world, summary["run_id"])
    assert row["dry_run"] is True and row["status"] == "success"
    code, _, output = invoke("sync", "-q")  # a real run after it still writes everything
    assert code == 0, output
    assert " mode: " not in output and "[push]" not in output  # -q after the command: quiet
    assert len(world.hubspot_records()) == summary["stages"]["push"]["planned"]["INSERT"]


@both_engines()
def test_rejections_exit_3_and_are_named_in_the_summary(world):
    victim = sorted(
        i.invoice_id
        for i in world.xero.emulator.invoices(world.tenant_id)
        if i.type == "ACCREC" and i.status in ("AUTHORISED", "PAID")
    )[0]
    number = world.xero.emulator.invoice(victim)["InvoiceNumber"]
    world.hubspot.emulator.reject_value("invoice_number", number, "Sandbox says no")
    code, stdout, output = invoke("sync", "--json")
    assert code == 3, output
    summary = json.loads(stdout)
    assert summary["outcome"] == "partial" and summary["exit_code"] == 3
    assert [r["xero_invoice_id"] for r in summary["rejected"]] == [victim]
    assert summary["rejected"][0]["invoice_number"] == number
    assert "Sandbox says no" in summary["rejected"][0]["message"]


@both_engines()
def test_busy_warehouse_exits_4_with_a_busy_summary(world):
    with world.hold_lock("hourly sync"):
        code, stdout, output = invoke("sync", "--json")
    assert code == 4, output
    summary = json.loads(stdout)
    assert summary["outcome"] == "busy" and "holds the lock" in summary["errors"][0]["message"]

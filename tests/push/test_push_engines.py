"""The invoice push on both warehouse engines (issue 22): the same run against the HubSpot
emulator over real HTTP, its warehouse a DuckDB file or a fresh database on the suite's
throwaway PostgreSQL cluster (``WAREHOUSE_URL``). The action table is created here with the
columns and types of its dbt contract (a dbt build on PostgreSQL is tested elsewhere)."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from reverse_etl.core.settings import Settings
from reverse_etl.push import records
from reverse_etl.push.actions import ActionTableMissingError, actions_consumed
from reverse_etl.push.invoices import run_push
from reverse_etl.push.schema import ensure_schema
from tests.fixtures.hubspot import HubSpotSandbox
from tests.push.conftest import inserts, invoice, make_client, warehouse_query, write_actions_to

OBJECT = "xero_invoice"


def _records(sandbox: HubSpotSandbox) -> dict[str, dict[str, Any]]:
    return {
        r["properties"]["xero_invoice_id"]: r
        for r in sandbox.emulator.records(OBJECT)
        if not r.get("archived")
    }


def _consumed(settings: Settings) -> bool:
    con = settings.warehouse.connect()
    try:
        return actions_consumed(con)
    finally:
        con.close()


def test_push_then_update_records_the_same_on_both_engines(
    hubspot_sandbox: HubSpotSandbox, engine_settings: Settings
) -> None:
    settings = engine_settings
    rows = inserts(range(1, 151))
    rows[0]["reference"] = "REF-1"
    write_actions_to(settings, rows, invocation_id="dbt-invocation-1")

    first = run_push(settings, client=make_client(settings))

    assert (first.inserted, first.updated, first.rejected, first.status) == (150, 0, 0, "success")
    assert first.actions_invocation_id == "dbt-invocation-1"  # the table comment, read back
    assert _consumed(settings)
    held = _records(hubspot_sandbox)
    snapshot = warehouse_query(
        settings,
        "select xero_invoice_id, hs_object_id, reference, archived, _dlt_load_id, "
        "hs_createdate is not null and hs_lastmodifieddate is not null "
        "from raw_hubspot.invoice_records order by xero_invoice_id",
    )
    assert [row[:2] for row in snapshot] == sorted((k, v["id"]) for k, v in held.items())
    assert snapshot[0][2] == "REF-1" and all(row[2] is None for row in snapshot[1:])
    assert {row[3:] for row in snapshot} == {(False, f"push:{first.run_id}", True)}
    assert warehouse_query(
        settings,
        "select run_id, status, inserted, actions_invocation_id from sync_log.runs",
    ) == [(first.run_id, "success", 150, "dbt-invocation-1")]
    assert warehouse_query(
        settings,
        "select outcome, action, count(*), count(distinct xero_invoice_id), "
        "count(hs_object_id) from sync_log.record_results group by outcome, action",
    ) == [("written", "INSERT", 150, 150, 150)]

    one = invoice(1, status="PAID", reference=None)
    created = warehouse_query(
        settings,
        "select hs_createdate from raw_hubspot.invoice_records where xero_invoice_id = ?",
        [one["xero_invoice_id"]],
    )
    update = {
        **one,
        "action": "UPDATE",
        "hs_object_id": held[one["xero_invoice_id"]]["id"],
        "changed_properties": ["status", "reference"],
    }
    write_actions_to(settings, [update], invocation_id="dbt-invocation-2")

    second = run_push(settings, client=make_client(settings))

    assert (second.inserted, second.updated, second.status) == (0, 1, "success")
    properties = _records(hubspot_sandbox)[one["xero_invoice_id"]]["properties"]
    assert properties["status"] == "PAID" and not properties.get("reference")  # "" clears it
    assert warehouse_query(
        settings,
        "select status, reference, hs_createdate from raw_hubspot.invoice_records "
        "where xero_invoice_id = ?",
        [one["xero_invoice_id"]],
    ) == [("PAID", None, created[0][0])]  # updated in place, its creation time kept
    assert warehouse_query(settings, "select count(*) from raw_hubspot.invoice_records") == [(150,)]
    assert warehouse_query(
        settings,
        "select changed_properties from sync_log.record_results where run_id = ?",
        [second.run_id],
    ) == [(["status", "reference"],)]


def test_one_refused_record_the_others_written_each_outcome_recorded_once(
    hubspot_sandbox: HubSpotSandbox, engine_settings: Settings
) -> None:
    settings = engine_settings
    rows = inserts(range(1, 11))
    rows[3]["reference"] = "BAD-REF"
    write_actions_to(settings, rows)
    hubspot_sandbox.emulator.reject_value("reference", "BAD-REF", "BAD-REF is not allowed")

    report = run_push(settings, client=make_client(settings))

    assert (report.inserted, report.rejected, report.status) == (9, 1, "partial")
    assert len(_records(hubspot_sandbox)) == 9
    bad = rows[3]["xero_invoice_id"]
    results = warehouse_query(
        settings,
        "select xero_invoice_id, outcome, error_category, error_message "
        "from sync_log.record_results order by xero_invoice_id",
    )
    assert sorted(row[0] for row in results) == sorted(r["xero_invoice_id"] for r in rows)
    (refused,) = [row for row in results if row[1] == "rejected"]
    assert refused[0] == bad and refused[2] == "VALIDATION_ERROR"
    assert "BAD-REF is not allowed" in refused[3]
    snapshot = warehouse_query(settings, "select xero_invoice_id from raw_hubspot.invoice_records")
    assert len(snapshot) == 9 and (bad,) not in snapshot
    assert warehouse_query(settings, "select status, inserted, rejected from sync_log.runs") == [
        ("partial", 9, 1)
    ]


def test_a_crash_while_recording_a_batch_loses_that_batch_whole_and_a_rerun_duplicates_nothing(
    hubspot_sandbox: HubSpotSandbox, engine_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Batches of 100, one at a time; the process fails while recording the third answer,
    after its snapshot upsert and before its outcome rows: that batch's transaction is rolled
    back whole (neither its snapshot rows nor its outcomes), the two before stay committed,
    and the rerun re-sends everything as upserts: no record twice in HubSpot or the
    snapshot."""
    settings = replace(engine_settings, hubspot=replace(engine_settings.hubspot, max_in_flight=1))
    ensure_schema(settings, client=make_client(settings))
    write_actions_to(settings, inserts(range(1, 501)))
    real_insert_rows = records.insert_rows
    recorded: list[int] = []

    def dies_on_the_third_batch(con: Any, table: str, *args: Any) -> None:
        recorded.append(1)
        if len(recorded) == 3:
            raise RuntimeError("simulated crash between the snapshot and the outcome rows")
        real_insert_rows(con, table, *args)

    monkeypatch.setattr(records, "insert_rows", dies_on_the_third_batch)
    with pytest.raises(RuntimeError, match="simulated crash"):
        run_push(settings, client=make_client(settings))
    monkeypatch.undo()

    assert len(_records(hubspot_sandbox)) == 300  # the third batch reached HubSpot
    assert warehouse_query(settings, "select count(*) from raw_hubspot.invoice_records") == [(200,)]
    assert warehouse_query(settings, "select count(*) from sync_log.record_results") == [(200,)]
    assert warehouse_query(settings, "select status, inserted from sync_log.runs") == [
        ("failed", 200)
    ]

    rerun = run_push(settings, client=make_client(settings))

    assert (rerun.inserted, rerun.updated, rerun.status) == (200, 300, "success")
    assert len(_records(hubspot_sandbox)) == 500
    assert warehouse_query(
        settings,
        "select count(*), count(distinct hs_object_id), count(distinct xero_invoice_id) "
        "from raw_hubspot.invoice_records",
    ) == [(500, 500, 500)]
    assert warehouse_query(
        settings,
        "select count(*), count(distinct xero_invoice_id) from sync_log.record_results "
        "where run_id = ?",
        [rerun.run_id],
    ) == [(500, 500)]


def test_no_action_table_is_named_with_the_warehouse_but_no_password(
    hubspot_sandbox: HubSpotSandbox, engine_settings: Settings
) -> None:
    settings = engine_settings
    with pytest.raises(ActionTableMissingError, match="run `invoice-sync transform`") as caught:
        run_push(settings, client=make_client(settings))
    message = str(caught.value)
    if settings.warehouse_url:
        database = settings.warehouse_url.rsplit("/", 1)[1]
        assert f"PostgreSQL database {database}" in message
        password = settings.warehouse_url.split("@")[0].rsplit(":", 1)[1]
        assert password not in message
    else:
        assert str(settings.warehouse_path) in message


KILLED_MIDWAY = """
import json, os, signal, sys
from reverse_etl.core.settings import load_settings
from reverse_etl.push import records
from reverse_etl.push.invoices import run_push

real_insert_rows = records.insert_rows
calls = []


def killed_on_the_third_batch(*args):
    calls.append(1)
    if len(calls) == 3:  # inside the third batch's transaction, its snapshot rows merged
        os.kill(os.getpid(), signal.SIGKILL)
    real_insert_rows(*args)


records.insert_rows = killed_on_the_third_batch
run_push(load_settings(json.loads(sys.argv[1]), dotenv_path=None))
"""


def test_kill_9_while_recording_a_batch_keeps_the_batches_before_and_duplicates_nothing(
    hubspot_sandbox: HubSpotSandbox, engine_settings: Settings, tmp_path: Path
) -> None:
    """A real ``kill -9`` of the push in the middle of recording its third batch (100 per
    batch, one at a time): the engine discards the open transaction (PostgreSQL ends the
    session; DuckDB replays only committed transactions from its WAL), the two batches before
    stay, and the rerun writes every record once."""
    settings = engine_settings
    ensure_schema(settings, client=make_client(settings))
    write_actions_to(settings, inserts(range(1, 501)))
    env = {
        "HUBSPOT_BASE_URL": hubspot_sandbox.url,
        "WAREHOUSE_PATH": str(settings.warehouse_path),
        "HUBSPOT_MAX_IN_FLIGHT": "1",
        **({"WAREHOUSE_URL": settings.warehouse_url} if settings.warehouse_url else {}),
    }

    killed = subprocess.run(
        [sys.executable, "-c", KILLED_MIDWAY, json.dumps(env)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]
    assert len(_records(hubspot_sandbox)) == 300  # the third batch reached HubSpot
    assert warehouse_query(settings, "select count(*) from raw_hubspot.invoice_records") == [(200,)]
    assert warehouse_query(
        settings, "select count(*), count(distinct xero_invoice_id) from sync_log.record_results"
    ) == [(200, 200)]

    rerun = run_push(settings, client=make_client(settings))

    assert (rerun.inserted, rerun.updated, rerun.status) == (200, 300, "success")
    assert len(_records(hubspot_sandbox)) == 500
    assert warehouse_query(
        settings,
        "select count(*), count(distinct hs_object_id) from raw_hubspot.invoice_records",
    ) == [(500, 500)]
    # the killed run's row is closed as failed by the next run, not left running
    assert warehouse_query(
        settings, "select status, count(*) from sync_log.runs group by status order by status"
    ) == [("failed", 1), ("success", 1)]


def test_a_dlt_made_snapshot_is_updated_in_place_keeping_its_columns(
    hubspot_sandbox: HubSpotSandbox, engine_settings: Settings
) -> None:
    """The snapshot table as dlt leaves it (NOT NULL ``_dlt`` columns, a column the push does
    not know) is merged into, not replaced."""
    settings = engine_settings
    write_actions_to(settings, inserts([1]))
    run_push(settings, client=make_client(settings))
    hs_id = next(iter(_records(hubspot_sandbox).values()))["id"]
    con = settings.warehouse.connect()
    try:
        con.execute("alter table raw_hubspot.invoice_records add column extra_col varchar")
        con.execute("update raw_hubspot.invoice_records set extra_col = 'kept', _dlt_load_id = 'd'")
    finally:
        con.close()
    update = {
        **invoice(1, status="PAID"),
        "action": "UPDATE",
        "hs_object_id": hs_id,
        "changed_properties": ["status"],
    }
    write_actions_to(settings, [update])

    run_push(settings, client=make_client(settings))

    assert warehouse_query(
        settings, "select status, extra_col, _dlt_load_id from raw_hubspot.invoice_records"
    ) == [("PAID", "kept", "d")]


def test_dry_run_logs_the_run_and_writes_nothing(
    hubspot_sandbox: HubSpotSandbox, engine_settings: Settings
) -> None:
    settings = engine_settings
    write_actions_to(settings, inserts(range(1, 31)), invocation_id="dbt-dry")

    report = run_push(settings, dry_run=True, console=Console(record=True, width=200))

    assert hubspot_sandbox.emulator.counters.total() == 0
    assert report.status == "success" and report.planned == {"INSERT": 30}
    assert warehouse_query(
        settings, "select status, dry_run, inserted, actions_invocation_id from sync_log.runs"
    ) == [("success", True, 0, "dbt-dry")]
    assert warehouse_query(settings, "select count(*) from sync_log.record_results") == [(0,)]
    assert not _consumed(settings)  # a dry run consumes nothing: the next push sends it all


def test_the_webhook_fast_paths_action_table_in_its_own_schema(
    hubspot_sandbox: HubSpotSandbox, engine_settings: Settings
) -> None:
    settings = engine_settings
    write_actions_to(
        settings, inserts([1, 2]), invocation_id="dbt-webhook", schema="webhook_reverse_etl"
    )

    report = run_push(settings, client=make_client(settings), actions_schema="webhook_reverse_etl")

    assert (report.inserted, report.actions_invocation_id) == (2, "dbt-webhook")
    assert len(_records(hubspot_sandbox)) == 2
    assert warehouse_query(settings, "select count(*) from raw_hubspot.invoice_records") == [(2,)]

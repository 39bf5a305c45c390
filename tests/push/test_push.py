"""`invoice-sync push` against the emulator over real HTTP, with a real DuckDB warehouse."""

from __future__ import annotations

import io
from dataclasses import replace
from typing import Any

import pytest
from rich.console import Console

from reverse_etl.core.errors import HubSpotAuthError, RejectedRecordsError
from reverse_etl.core.settings import Settings
from reverse_etl.push.invoices import run_push
from reverse_etl.push.schema import ensure_schema
from tests.fixtures.hubspot import HubSpotSandbox
from tests.push.conftest import SimClock, inserts, invoice, make_client, query, write_actions

OBJECT = "xero_invoice"


def _records(sandbox: HubSpotSandbox) -> dict[str, dict[str, Any]]:
    """HubSpot's records by xero_invoice_id (all properties)."""
    return {
        r["properties"]["xero_invoice_id"]: r
        for r in sandbox.emulator.records(OBJECT)
        if not r.get("archived")
    }


def _upserts(sandbox: HubSpotSandbox) -> int:
    return sandbox.emulator.counters.total("POST /crm/objects/2026-09/{objectType}/batch/upsert")


def test_inserts_create_records_with_the_right_values(
    hubspot_sandbox: HubSpotSandbox, settings: Settings
) -> None:
    write_actions(settings.warehouse_path, inserts(range(1, 251)))

    report = run_push(settings, client=make_client(settings))

    assert (report.inserted, report.updated, report.rejected) == (250, 0, 0)
    assert report.status == "success"
    records = _records(hubspot_sandbox)
    assert len(records) == 250
    one = records[invoice(7)["xero_invoice_id"]]["properties"]
    assert one["invoice_number"] == "INV-00007"
    assert one["status"] == "AUTHORISED"
    assert one["due_date"] == "2026-11-30"
    assert float(one["total"]) == 22.0
    assert "reference" not in one  # nulls are not sent on INSERT
    assert _upserts(hubspot_sandbox) == 3  # 100 + 100 + 50
    # schema created on the way: 2 reads + 1 create; the companies' and contacts' "Xero"
    # group and properties: 2 group reads + 2 creates, 2 property reads + 6 creates; 3 batches
    assert report.hubspot_calls == 3 + 12 + 3


def test_rerunning_the_same_actions_creates_no_duplicates(
    hubspot_sandbox: HubSpotSandbox, settings: Settings
) -> None:
    write_actions(settings.warehouse_path, inserts(range(1, 121)))
    run_push(settings, client=make_client(settings))

    again = run_push(settings, client=make_client(settings))

    assert (again.inserted, again.updated) == (0, 120)
    assert len(hubspot_sandbox.emulator.records(OBJECT)) == 120


def test_update_sends_only_changed_properties_and_clears_nulls(
    hubspot_sandbox: HubSpotSandbox, settings: Settings
) -> None:
    write_actions(settings.warehouse_path, inserts([1, 2], reference="PO-1"))
    run_push(settings, client=make_client(settings))
    ids = {k: v["id"] for k, v in _records(hubspot_sandbox).items()}
    first, second = invoice(1)["xero_invoice_id"], invoice(2)["xero_invoice_id"]
    hubspot_sandbox.emulator.edit_by_hand(OBJECT, ids[second], {"contact_name": "Edited by hand"})
    write_actions(
        settings.warehouse_path,
        [
            {
                **invoice(1, status="PAID", amount_due="0", reference=None),
                "action": "UPDATE",
                "hs_object_id": ids[first],
                "changed_properties": ["status", "amount_due", "reference"],
            },
            {
                **invoice(2, reference="PO-1"),
                "action": "UPDATE",
                "hs_object_id": ids[second],
                "changed_properties": ["contact_name"],
            },
        ],
    )

    report = run_push(settings, client=make_client(settings))

    assert (report.inserted, report.updated) == (0, 2)
    records = _records(hubspot_sandbox)
    assert records[first]["properties"]["status"] == "PAID"
    assert "reference" not in records[first]["properties"]  # cleared
    assert records[second]["properties"]["contact_name"] == "Customer 2"  # put back
    snapshot = query(
        settings.warehouse_path,
        "select xero_invoice_id, status, reference, contact_name "
        "from raw_hubspot.invoice_records order by xero_invoice_id",
    )
    assert snapshot == [
        (first, "PAID", None, "Customer 1"),
        (second, "AUTHORISED", "PO-1", "Customer 2"),
    ]


def test_dry_run_writes_nothing(hubspot_sandbox: HubSpotSandbox, settings: Settings) -> None:
    write_actions(settings.warehouse_path, inserts(range(1, 31)))
    console = Console(record=True, width=200)

    report = run_push(settings, dry_run=True, console=console)

    assert hubspot_sandbox.emulator.counters.total() == 0
    assert report.status == "success" and report.dry_run and report.planned == {"INSERT": 30}
    text = console.export_text()
    assert "30 invoice(s) to write: 30 INSERT" in text
    assert "INSERT INV-00001: invoice_number='INV-00001'" in text
    assert "… and 20 more" in text
    assert query(
        settings.warehouse_path, "select status, dry_run, command, inserted from sync_log.runs"
    ) == [("success", True, "push", 0)]
    assert query(settings.warehouse_path, "select count(*) from sync_log.record_results") == [(0,)]


def test_snapshot_and_run_log_after_a_push(
    hubspot_sandbox: HubSpotSandbox, settings: Settings
) -> None:
    write_actions(settings.warehouse_path, inserts(range(1, 6)))

    report = run_push(settings, client=make_client(settings))

    records = _records(hubspot_sandbox)
    snapshot = query(
        settings.warehouse_path,
        "select xero_invoice_id, hs_object_id, total, hs_lastmodifieddate is not null, archived, "
        "_dlt_load_id from raw_hubspot.invoice_records order by xero_invoice_id",
    )
    assert [row[:2] for row in snapshot] == sorted((k, v["id"]) for k, v in records.items())
    assert {row[2] for row in snapshot} == {records[k]["properties"]["total"] for k in records}
    assert all(row[3] is True and row[4] is False for row in snapshot)
    assert {row[5] for row in snapshot} == {f"push:{report.run_id}"}
    runs = query(
        settings.warehouse_path,
        "select run_id, status, inserted, updated, rejected, hubspot_calls, error, "
        "finished_at >= started_at from sync_log.runs",
    )
    assert runs == [(report.run_id, "success", 5, 0, 0, report.hubspot_calls, None, True)]
    results = query(
        settings.warehouse_path,
        "select outcome, action, count(*), count(hs_object_id) from sync_log.record_results "
        "group by all",
    )
    assert results == [("written", "INSERT", 5, 5)]


def test_snapshot_upsert_keeps_dlt_rows_and_columns(
    hubspot_sandbox: HubSpotSandbox, settings: Settings
) -> None:
    """A dlt-made snapshot table (NOT NULL _dlt columns, an extra column) is updated in place."""
    write_actions(settings.warehouse_path, inserts([1]))
    first = run_push(settings, client=make_client(settings))
    hs_id = next(iter(_records(hubspot_sandbox).values()))["id"]
    import duckdb

    con = duckdb.connect(str(settings.warehouse_path))
    con.execute("alter table raw_hubspot.invoice_records add column extra_col varchar")
    con.execute("update raw_hubspot.invoice_records set extra_col = 'kept', _dlt_load_id = 'dlt1'")
    con.close()
    write_actions(
        settings.warehouse_path,
        [
            {
                **invoice(1, status="PAID"),
                "action": "UPDATE",
                "hs_object_id": hs_id,
                "changed_properties": ["status"],
            }
        ],
    )

    run_push(settings, client=make_client(settings))

    rows = query(
        settings.warehouse_path,
        "select status, extra_col, _dlt_load_id from raw_hubspot.invoice_records",
    )
    assert rows == [("PAID", "kept", "dlt1")]
    assert first.status == "success"


def test_429_storm_and_5xx_are_retried_and_honoured(
    hubspot_sandbox: HubSpotSandbox, settings: Settings, sim_clock: SimClock
) -> None:
    settings = replace(settings, hubspot=replace(settings.hubspot, max_in_flight=1))
    ensure_schema(settings, client=make_client(settings))
    write_actions(settings.warehouse_path, inserts(range(1, 501)))
    faults = hubspot_sandbox.emulator.faults
    faults.add("status", status=429, path_prefix="/crm/objects/2026-09", times=4, retry_after=1)
    faults.add("status", status=503, path_prefix="/crm/objects/2026-09", times=2, every=2)
    faults.add("drop", path_prefix="/crm/objects/2026-09", times=1, every=3)
    client = make_client(settings, sim_clock)

    report = run_push(settings, client=client)

    assert report.status == "success" and report.inserted == 500
    assert len(_records(hubspot_sandbox)) == 500
    by_status = hubspot_sandbox.emulator.counters.snapshot()["by_status"]
    assert by_status["429"] == 4 and by_status["503"] == 2
    assert client.rate_limited == 4
    # every 429 said Retry-After: 1 and the client held all sends for it (serial here)
    assert sim_clock.slept.count(1.0) >= 4
    assert report.hubspot_calls == 5 + 4 + 2 + 1


def test_the_emulators_own_rate_limit_is_respected(
    hubspot_sandbox: HubSpotSandbox, settings: Settings, sim_clock: SimClock
) -> None:
    """Configured for 100/10 s against a portal allowing 10: the headers teach the client."""
    from sandbox.hubspot.limits import HubSpotLimits

    ensure_schema(settings, client=make_client(settings))
    hubspot_sandbox.emulator.limits = HubSpotLimits(requests_per_window=10)
    write_actions(settings.warehouse_path, inserts(range(1, 3001)))
    client = make_client(settings, sim_clock)

    report = run_push(settings, client=client)

    assert report.inserted == 3000
    assert len(_records(hubspot_sandbox)) == 3000
    assert client.limiter.limit == 10
    rejected_429 = hubspot_sandbox.emulator.counters.snapshot()["by_status"].get("429", 0)
    assert rejected_429 <= settings.hubspot.max_in_flight  # only the first burst can overshoot
    assert sim_clock.now - 1000.0 >= 20.0  # 30 batches at 10 per 10 s


def test_one_rejected_record_in_a_batch(
    hubspot_sandbox: HubSpotSandbox, settings: Settings
) -> None:
    rows = inserts(range(1, 11))
    rows[3]["reference"] = "BAD-REF"
    rows[6]["reference"] = "BAD-REF"
    write_actions(settings.warehouse_path, rows)
    hubspot_sandbox.emulator.reject_value("reference", "BAD-REF", "BAD-REF is not allowed")

    report = run_push(settings, client=make_client(settings))

    assert (report.inserted, report.rejected, report.status) == (8, 2, "partial")
    assert len(_records(hubspot_sandbox)) == 8
    bad = sorted([rows[3]["xero_invoice_id"], rows[6]["xero_invoice_id"]])
    logged = query(
        settings.warehouse_path,
        "select xero_invoice_id, error_category, error_message from sync_log.record_results "
        "where outcome = 'rejected' order by xero_invoice_id",
    )
    assert [row[0] for row in logged] == bad
    assert all(
        row[1] == "VALIDATION_ERROR" and "BAD-REF is not allowed" in row[2] for row in logged
    )
    with pytest.raises(RejectedRecordsError) as caught:
        report.raise_for_rejections()
    assert caught.value.exit_code == 3
    assert "INV-00004" in str(caught.value) and "INV-00007" in str(caught.value)
    assert query(settings.warehouse_path, "select status, rejected from sync_log.runs") == [
        ("partial", 2)
    ]


def test_wrong_token_is_an_auth_error_naming_the_variable(
    hubspot_sandbox: HubSpotSandbox, settings: Settings
) -> None:
    write_actions(settings.warehouse_path, inserts(range(1, 5)))
    wrong = replace(settings, hubspot=replace(settings.hubspot, access_token="pat-wrong"))

    with pytest.raises(HubSpotAuthError) as caught:
        run_push(wrong, client=make_client(wrong))

    assert "HUBSPOT_ACCESS_TOKEN" in str(caught.value) and "pat-wrong" not in str(caught.value)
    assert query(settings.warehouse_path, "select count(*) from sync_log.record_results") == [(0,)]
    runs = query(settings.warehouse_path, "select status, error from sync_log.runs")
    assert runs[0][0] == "failed" and "HubSpotAuthError" in runs[0][1]


def test_missing_scope_is_named(hubspot_sandbox: HubSpotSandbox, settings: Settings) -> None:
    ensure_schema(settings, client=make_client(settings))
    hubspot_sandbox.emulator.add_token("pat-read-only", ["crm.objects.custom.read"])
    limited = replace(settings, hubspot=replace(settings.hubspot, access_token="pat-read-only"))
    write_actions(settings.warehouse_path, inserts([1]))

    with pytest.raises(HubSpotAuthError, match=r"crm\.objects\.custom\.write"):
        run_push(limited, client=make_client(limited))


def test_no_actions_sets_the_object_up_once_then_makes_no_hubspot_call(
    hubspot_sandbox: HubSpotSandbox, settings: Settings
) -> None:
    write_actions(settings.warehouse_path, [])
    first = run_push(settings, client=make_client(settings))
    assert first.status == "success" and first.hubspot_calls > 0
    assert hubspot_sandbox.emulator.records(settings.hubspot.object_name) == []

    hubspot_sandbox.emulator.counters.reset()
    second = run_push(settings, client=make_client(settings))
    assert second.status == "success" and second.hubspot_calls == 0
    assert hubspot_sandbox.emulator.counters.total() == 0


def test_a_vanished_object_is_recreated_by_the_next_push(
    hubspot_sandbox: HubSpotSandbox, settings: Settings
) -> None:
    from reverse_etl.core.errors import HubSpotSchemaError

    ensure_schema(settings, client=make_client(settings))
    hubspot_sandbox.emulator.reset()  # someone deleted the object in HubSpot
    write_actions(settings.warehouse_path, inserts(range(1, 151)))

    with pytest.raises(HubSpotSchemaError, match="creates it again"):
        run_push(settings, client=make_client(settings))
    assert _upserts(hubspot_sandbox) <= settings.hubspot.max_in_flight  # no bisecting

    report = run_push(settings, client=make_client(settings))
    assert report.inserted == 150 and len(_records(hubspot_sandbox)) == 150


def test_a_push_that_dies_midway_keeps_what_landed_and_a_rerun_duplicates_nothing(
    hubspot_sandbox: HubSpotSandbox, settings: Settings, sim_clock: SimClock
) -> None:
    from reverse_etl.core.errors import HubSpotError

    settings = replace(settings, hubspot=replace(settings.hubspot, max_in_flight=1))
    ensure_schema(settings, client=make_client(settings))
    write_actions(settings.warehouse_path, inserts(range(1, 501)))
    client = make_client(settings, sim_clock, max_attempts=3)
    original = client.batch_upsert
    batches = []

    def then_hubspot_goes_down(object_type: str, inputs: list[dict[str, Any]]) -> Any:
        batches.append(len(inputs))
        if len(batches) == 3:  # from the third batch on: down for longer than the retries
            hubspot_sandbox.emulator.faults.add(
                "status", status=502, path_prefix="/crm/objects/2026-09", times=None
            )
        return original(object_type, inputs)

    client.batch_upsert = then_hubspot_goes_down  # type: ignore[method-assign]

    with pytest.raises(HubSpotError, match="did not answer"):
        run_push(settings, client=client)

    assert len(_records(hubspot_sandbox)) == 200
    assert query(settings.warehouse_path, "select count(*) from raw_hubspot.invoice_records") == [
        (200,)
    ]
    assert query(settings.warehouse_path, "select status, inserted from sync_log.runs") == [
        ("failed", 200)
    ]
    hubspot_sandbox.emulator.faults.clear()

    rerun = run_push(settings, client=make_client(settings))

    assert (rerun.inserted, rerun.updated) == (300, 200)  # the 200 again, as harmless updates
    assert len(_records(hubspot_sandbox)) == 500


def test_daily_limit_stops_without_retrying(
    hubspot_sandbox: HubSpotSandbox, settings: Settings
) -> None:
    from reverse_etl.hubspot.client import HubSpotRateLimitError
    from sandbox.hubspot.limits import HubSpotLimits

    ensure_schema(settings, client=make_client(settings))
    hubspot_sandbox.emulator.limits = HubSpotLimits(daily=1)
    write_actions(settings.warehouse_path, inserts(range(1, 301)))

    with pytest.raises(HubSpotRateLimitError, match="daily"):
        run_push(settings, client=make_client(settings))
    assert len(_records(hubspot_sandbox)) == 100


def test_a_run_left_running_by_a_killed_process_is_closed_as_failed(
    hubspot_sandbox: HubSpotSandbox, settings: Settings
) -> None:
    write_actions(settings.warehouse_path, inserts([1]))
    import duckdb

    from reverse_etl.core import sync_log

    con = duckdb.connect(str(settings.warehouse_path))
    sync_log.ensure_tables(con)
    sync_log.start_run(con, "killed-run", sync_log.now())
    con.close()

    report = run_push(settings, client=make_client(settings))

    runs = dict(query(settings.warehouse_path, "select run_id, status from sync_log.runs"))
    assert runs == {"killed-run": "failed", report.run_id: "success"}


def test_summary_is_printed_once_not_also_logged(
    hubspot_sandbox: HubSpotSandbox, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    rows = [
        {**row, "changed_properties": ["invoice_number", "total"]} for row in inserts(range(1, 6))
    ]
    write_actions(settings.warehouse_path, rows)
    console = Console(record=True, width=200)
    with caplog.at_level("INFO"):
        report = run_push(settings, client=make_client(settings), console=console)
    assert report.inserted == 5
    assert "created" in console.export_text()  # the summary table
    assert not [r for r in caplog.records if "Pushed to HubSpot" in r.getMessage()]
    changed = query(
        settings.warehouse_path, "select changed_properties from sync_log.record_results"
    )
    assert [row[0] for row in changed] == [["invoice_number", "total"]] * 5  # what was sent


def test_stage_progress_shows_only_on_a_terminal() -> None:
    from reverse_etl.app.stage_progress import StageProgress

    piped = StageProgress(Console(file=io.StringIO(), force_terminal=False))
    assert piped.extract_hook() is None and piped.transform_hook() is None
    terminal = StageProgress(Console(file=io.StringIO(), force_terminal=True))
    assert terminal.extract_hook() is not None
    terminal.extract("Xero organisation [bold]x[/bold]: page 1")  # never parsed as markup
    terminal.stop()
    assert StageProgress(None).transform_hook() is None

"""Xero → raw_xero over real HTTP against the emulator, into a real DuckDB file."""

from __future__ import annotations

import shutil
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import dlt

from pipelines.run import XERO_PIPELINE, run_extract, run_hubspot_snapshot, run_xero_extract
from tests.extract.conftest import ExtractEnv

INVOICE_COLUMNS = [
    "invoice_id", "tenant_id", "invoice_type", "invoice_number", "reference", "status",
    "line_amount_types", "contact_id", "contact_name", "invoice_date", "due_date",
    "expected_payment_date", "fully_paid_on_date", "currency_code", "currency_rate",
    "sub_total", "total_tax", "total", "total_discount", "amount_due", "amount_paid",
    "amount_credited", "has_attachments", "sent_to_contact", "is_discounted",
    "updated_date_utc", "url", "_dlt_load_id", "_dlt_id",
]  # fmt: skip
LINE_COLUMNS = [
    "line_item_id", "description", "quantity", "unit_amount", "item_code", "account_code",
    "tax_type", "tax_amount", "line_amount", "discount_rate", "_dlt_root_id", "_dlt_parent_id",
    "_dlt_list_idx", "_dlt_id",
]  # fmt: skip


def _columns(env: ExtractEnv, table: str) -> dict[str, str]:
    schema, name = table.split(".")
    rows = env.query(
        "select column_name, data_type from information_schema.columns "
        "where table_schema = ? and table_name = ? order by ordinal_position",
        schema,
        name,
    )
    return dict(rows)


def _open_invoices(env: ExtractEnv, status: str, n: int) -> list[str]:
    found = [
        inv.invoice_id
        for inv in env.xero.emulator.store.invoices.values()
        if inv.status == status and not inv.payments and not inv.credits and inv.type == "ACCREC"
    ]
    assert len(found) >= n, f"demo data has fewer than {n} {status} invoices"
    return sorted(found)[:n]


def test_backfill_no_change_and_mutations(extract_env: ExtractEnv) -> None:
    env = extract_env
    tenants = env.xero.emulator.seed_demo(3000, tenants=2)
    settings = env.settings(XERO_PAGE_SIZE="100")

    first = run_xero_extract(settings, client=env.xero_client(settings))

    assert first.invoices_loaded == 3000
    assert sorted(first.tenants) == sorted(tenants)
    assert first.xero_calls == 30  # 15 pages of 100 per tenant, stopped by pageCount
    assert first.connections_calls == 1 and first.token_calls == 1
    assert env.scalar("select count(*) from raw_xero.invoices") == 3000
    assert env.scalar("select count(*) from raw_xero.invoice_versions") == 3000
    per_tenant = dict(
        env.query("select tenant_id, count(*) from raw_xero.invoices group by tenant_id")
    )
    assert per_tenant == first.per_tenant == {t: 1500 for t in tenants}
    assert list(_columns(env, "raw_xero.invoices")) == INVOICE_COLUMNS
    assert list(_columns(env, "raw_xero.invoices__line_items")) == LINE_COLUMNS
    assert list(_columns(env, "raw_xero.invoice_versions")) == INVOICE_COLUMNS
    types = _columns(env, "raw_xero.invoices")
    assert types["total"] == "DECIMAL(38,9)" and types["invoice_date"] == "DATE"
    assert types["updated_date_utc"] == "TIMESTAMP WITH TIME ZONE"
    assert types["is_discounted"] == "BOOLEAN"

    # The warehouse holds Xero's exact values: amounts, dates, line items.
    some_id = _open_invoices(env, "AUTHORISED", 1)[0]
    api = env.xero.emulator.invoice(some_id)
    row = env.query(
        "select total, amount_due, invoice_date, updated_date_utc, contact_id, invoice_type "
        "from raw_xero.invoices where invoice_id = ?",
        some_id,
    )[0]
    assert row[0] == Decimal(str(api["Total"])) and row[1] == Decimal(str(api["AmountDue"]))
    assert row[2] == datetime.fromtimestamp(int(api["Date"][6:-7]) / 1000, UTC).date()
    assert row[4] == api["Contact"]["ContactID"] and row[5] == api["Type"]
    lines = env.scalar(
        "select count(*) from raw_xero.invoices__line_items l join raw_xero.invoices i "
        "on l._dlt_root_id = i._dlt_id where i.invoice_id = ?",
        some_id,
    )
    assert lines == len(api["LineItems"])

    # No change: exactly one Invoices call per organisation, nothing loaded.
    env.xero.emulator.counters.reset()
    second = run_xero_extract(settings, client=env.xero_client(settings))
    assert second.invoices_loaded == 0
    assert second.calls_per_tenant == {t: 1 for t in tenants}
    assert env.invoice_calls() == 2
    assert env.scalar("select count(*) from raw_xero.invoice_versions") == 3000

    # Pay, void, edit, delete, create: only those five load; old versions stay queryable.
    env.xero.clock.advance(minutes=5)
    to_pay, to_void = _open_invoices(env, "AUTHORISED", 2)
    to_edit, to_delete = _open_invoices(env, "DRAFT", 2)
    env.xero.emulator.pay(to_pay)
    env.xero.emulator.void(to_void)
    env.xero.emulator.edit(to_edit, reference="PO-7781")
    env.xero.emulator.delete(to_delete)
    created = env.xero.emulator.create_invoice(tenants[1], contact_name="New Customer Ltd")
    third = run_xero_extract(settings, client=env.xero_client(settings))

    assert third.invoices_loaded == 5
    assert third.per_tenant[tenants[1]] >= 1
    status = dict(
        env.query(
            "select invoice_id, status from raw_xero.invoices where invoice_id in (?, ?, ?, ?)",
            to_pay,
            to_void,
            to_edit,
            to_delete,
        )
    )
    assert status == {to_pay: "PAID", to_void: "VOIDED", to_edit: "DRAFT", to_delete: "DELETED"}
    history = env.query(
        "select status from raw_xero.invoice_versions where invoice_id = ? "
        "order by updated_date_utc",
        to_pay,
    )
    assert history == [("AUTHORISED",), ("PAID",)]
    assert (
        env.scalar("select reference from raw_xero.invoices where invoice_id = ?", to_edit)
        == "PO-7781"
    )
    assert (
        env.scalar(
            "select count(*) from raw_xero.invoices where invoice_id = ?", created["InvoiceID"]
        )
        == 1
    )
    assert env.scalar("select count(*) from raw_xero.invoices") == 3001
    assert env.scalar("select count(*) from raw_xero.invoice_versions") == 3005
    # line items were replaced with their parent, not duplicated
    assert (
        env.scalar(
            "select count(*) from raw_xero.invoices__line_items l "
            "left join raw_xero.invoices i on l._dlt_root_id = i._dlt_id where i.invoice_id is null"
        )
        == 0
    )


def test_two_invoices_in_the_cursor_second_are_both_loaded(extract_env: ExtractEnv) -> None:
    env = extract_env
    env.xero.emulator.seed_demo(40)
    settings = env.settings()
    run_xero_extract(settings, client=env.xero_client(settings))

    a, b, c = _open_invoices(env, "AUTHORISED", 3)
    env.xero.clock.set(datetime(2024, 6, 3, 10, 0, 0, 200_000, tzinfo=UTC))
    env.xero.emulator.edit(a, reference="first")
    run_xero_extract(settings, client=env.xero_client(settings))  # cursor = 10:00:00.200

    env.xero.clock.set(datetime(2024, 6, 3, 10, 0, 0, 700_000, tzinfo=UTC))
    env.xero.emulator.edit(b, reference="same second 1")
    env.xero.emulator.edit(c, reference="same second 2")
    report = run_xero_extract(settings, client=env.xero_client(settings))

    assert report.invoices_loaded == 2
    refs = dict(
        env.query(
            "select invoice_id, reference from raw_xero.invoices where invoice_id in (?, ?, ?)",
            a,
            b,
            c,
        )
    )
    assert refs == {a: "first", b: "same second 1", c: "same second 2"}


def test_full_refresh_since_and_named_ids(extract_env: ExtractEnv) -> None:
    env = extract_env
    env.xero.emulator.seed_demo(300)
    settings = env.settings()
    run_xero_extract(settings, client=env.xero_client(settings))

    again = run_xero_extract(settings, full_refresh=True, client=env.xero_client(settings))
    assert again.invoices_loaded == 300
    assert env.scalar("select count(*) from raw_xero.invoices") == 300
    assert env.scalar("select count(*) from raw_xero.invoice_versions") == 300

    window = run_xero_extract(settings, since=date(2024, 6, 1), client=env.xero_client(settings))
    recent = sum(
        1
        for inv in env.xero.emulator.store.invoices.values()
        if inv.updated_ms >= datetime(2024, 6, 1, tzinfo=UTC).timestamp() * 1000
    )
    assert window.invoices_loaded == 0 and window.unchanged == recent  # all already held

    # Webhook mode: exactly the named invoices, via the IDs filter; the cursor does not move.
    env.xero.clock.advance(minutes=1)
    x, y, z = _open_invoices(env, "AUTHORISED", 3)
    for invoice_id in (x, y, z):
        env.xero.emulator.edit(invoice_id, reference="webhook")
    env.xero.emulator.counters.reset()
    named = run_xero_extract(settings, invoice_ids=[x, y], client=env.xero_client(settings))
    assert named.invoices_loaded == 2 and named.xero_calls == 1
    assert run_xero_extract(settings, invoice_ids=[]).xero_calls == 0
    hourly = run_xero_extract(settings, client=env.xero_client(settings))
    assert hourly.invoices_loaded == 1  # z: the cursor had not moved past it
    assert env.scalar("select count(*) from raw_xero.invoices where reference = 'webhook'") == 3


def test_a_deleted_warehouse_is_reloaded_in_full(extract_env: ExtractEnv) -> None:
    env = extract_env
    env.xero.emulator.seed_demo(120)
    env.create_hubspot_object()
    env.hubspot.emulator.seed("xero_invoice", [{"xero_invoice_id": "x-1"}])
    settings = env.settings()
    run_xero_extract(settings, client=env.xero_client(settings))
    run_hubspot_snapshot(settings, reader=env.hubspot_reader(settings))
    env.warehouse_path.unlink()  # the dlt state under INVOICE_SYNC_STATE_DIR survives

    xero = run_xero_extract(settings, client=env.xero_client(settings))
    hubspot = run_hubspot_snapshot(settings, reader=env.hubspot_reader(settings))
    assert xero.invoices_loaded == 120 and hubspot.records_loaded == 1
    assert env.scalar("select count(*) from raw_xero.invoices") == 120


def test_several_tenants_and_tenant_filter(extract_env: ExtractEnv) -> None:
    env = extract_env
    tenants = env.xero.emulator.seed_demo(90, tenants=3)
    only = env.settings(XERO_TENANT_ID=tenants[1])
    report = run_xero_extract(only, client=env.xero_client(only))
    assert report.tenants == [tenants[1]] and report.connections_calls == 0
    assert env.query("select distinct tenant_id from raw_xero.invoices") == [(tenants[1],)]

    everything = env.settings()
    report = run_xero_extract(everything, client=env.xero_client(everything))
    assert set(report.per_tenant) == set(tenants)
    assert report.per_tenant[tenants[1]] == 0  # already loaded: its own cursor
    assert env.scalar("select count(distinct tenant_id) from raw_xero.invoices") == 3
    assert env.scalar("select count(*) from raw_xero.invoices") == 90


def test_empty_extract_creates_every_contract_table(extract_env: ExtractEnv) -> None:
    env = extract_env
    env.xero.emulator.seed_demo(0)
    settings = env.settings()
    xero = run_xero_extract(settings, client=env.xero_client(settings))
    hubspot = run_hubspot_snapshot(settings, reader=env.hubspot_reader(settings))
    assert xero.invoices_loaded == 0 and hubspot.records_loaded == 0
    assert {
        "raw_xero.invoices",
        "raw_xero.invoices__line_items",
        "raw_xero.invoice_versions",
        "raw_hubspot.invoice_records",
    } <= env.tables()
    assert list(_columns(env, "raw_xero.invoices")) == INVOICE_COLUMNS
    assert list(_columns(env, "raw_xero.invoices__line_items")) == LINE_COLUMNS
    # a later load into the pre-created tables works and keeps the types
    env.xero.emulator.create_invoice(contact_name="First Customer")
    later = run_xero_extract(settings, client=env.xero_client(settings))
    assert later.invoices_loaded == 1
    assert env.scalar("select count(*) from raw_xero.invoices__line_items") == 1
    assert _columns(env, "raw_xero.invoices")["total"] == "DECIMAL(38,9)"


def test_run_extract_summary(extract_env: ExtractEnv) -> None:
    env = extract_env
    env.xero.emulator.seed_demo(20)
    settings = env.settings()
    report = run_extract(settings)
    assert report.invoices_loaded == 20 and report.hubspot_records_loaded == 0
    assert report.xero_calls == 1
    line = report.summary()
    assert "\n" not in line
    assert "20 changed invoice(s) from 1 Xero organisation" in line
    assert "1 API call(s) + 1 token + 1 connections" in line
    assert settings.xero.client_secret not in line


def test_progress_extract_log_and_no_staging_schemas(extract_env: ExtractEnv) -> None:
    """A page-by-page progress line; one `extract_runs` row per successful run even when
    nothing changed (what source freshness measures); dlt's staging schemas dropped."""
    env = extract_env
    env.xero.emulator.seed_demo(20)
    settings = env.settings(XERO_PAGE_SIZE="5")
    lines: list[str] = []
    first = run_extract(settings, progress=lines.append)
    pages = [line for line in lines if line.startswith("Xero organisation")]
    assert len(pages) >= 4 and "20 invoice(s) read, 20 changed" in pages[-1]
    assert first.load_ids and first.as_dict()["dlt_load_ids"] == first.load_ids

    quiet = run_extract(settings)
    assert quiet.invoices_loaded == 0
    runs = env.query("select rows_loaded, load_ids from raw_xero.extract_runs order by finished_at")
    assert [row[0] for row in runs] == [20, 0]
    assert runs[0][1] and runs[0][1].split(",")[0] in first.load_ids
    assert env.scalar("select count(*) from raw_hubspot.extract_runs") == 2
    schemas = {row[0] for row in env.query("select schema_name from duckdb_schemas()")}
    assert not {schema for schema in schemas if schema.endswith("_staging")}


def test_a_quiet_extract_loads_no_package_and_a_wiped_state_is_restored(
    extract_env: ExtractEnv,
) -> None:
    """Nothing new: dlt's normalize and load are left out (no package, no ``_dlt_loads`` row,
    no pending data), yet the run is recorded for freshness. With the local dlt state wiped,
    the next run restores it from the warehouse and reads only what changed, as before."""
    env = extract_env
    env.xero.emulator.seed_demo(200)
    settings = env.settings()
    run_xero_extract(settings, client=env.xero_client(settings))
    run_xero_extract(settings, client=env.xero_client(settings))  # settles the read positions
    loads = env.scalar("select count(*) from raw_xero._dlt_loads")
    runs = env.scalar("select count(*) from raw_xero.extract_runs")

    quiet = run_xero_extract(settings, client=env.xero_client(settings))

    assert quiet.invoices_loaded == 0 and quiet.load_ids == []
    assert set(quiet.step_seconds) == {"extract", "extract_cpu"}  # no normalize, no load
    assert env.scalar("select count(*) from raw_xero._dlt_loads") == loads
    assert env.scalar("select count(*) from raw_xero.extract_runs") == runs + 1
    pipeline = dlt.attach(XERO_PIPELINE, pipelines_dir=str(Path(settings.state_dir) / "dlt"))
    assert not pipeline.has_pending_data and pipeline.list_extracted_load_packages() == []

    edited = _open_invoices(env, "AUTHORISED", 1)[0]
    env.xero.emulator.edit(edited, Reference="after the wipe")
    shutil.rmtree(Path(settings.state_dir) / "dlt")  # the warehouse keeps dlt's state
    after_wipe = run_xero_extract(settings, client=env.xero_client(settings))

    assert after_wipe.invoices_loaded == 1  # the restored cursor, not a full read
    assert env.scalar("select count(*) from raw_xero.invoices") == 200
    assert (
        env.scalar("select reference from raw_xero.invoices where invoice_id = ?", edited)
        == "after the wipe"
    )

"""Whole syncs: Xero emulator → dlt → DuckDB → dbt → push → HubSpot emulator, over real HTTP.

Each test drives `invoice-sync sync` as a user would and checks what HubSpot holds afterwards
against what Xero holds — not only what the APIs answered. The tests marked ``both_engines``
run on DuckDB and on PostgreSQL (issue 22) with the same assertions.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from typer.testing import CliRunner

from reverse_etl.app.cli import app
from tests.e2e.conftest import both_engines

runner = CliRunner()
MIRRORED_STATUSES = {"AUTHORISED", "PAID"}


def sync(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["sync", *args])
    return result.exit_code, result.output


def xero_invoices(world) -> list:
    return world.xero.emulator.invoices(world.tenant_id)


def expected_ids(world) -> set[str]:
    """What the default dbt variables mirror: sales invoices, approved (AUTHORISED or PAID)."""
    return {
        inv.invoice_id
        for inv in xero_invoices(world)
        if inv.type == "ACCREC" and inv.status in MIRRORED_STATUSES
    }


def assert_hubspot_matches_xero(world, ids: set[str] | None = None) -> None:
    records = world.hubspot_records()
    keys = [r["properties"]["xero_invoice_id"] for r in records]
    assert len(keys) == len(set(keys)), "duplicate HubSpot records for one invoice"
    by_id = world.hubspot_by_invoice()
    for invoice_id in ids if ids is not None else set(by_id):
        xero = world.xero.emulator.invoice(invoice_id)
        props = by_id[invoice_id]["properties"]
        assert props["status"] == xero["Status"], invoice_id
        assert Decimal(props["total"]) == Decimal(str(xero["Total"])), invoice_id
        assert Decimal(props["amount_due"]) == Decimal(str(xero["AmountDue"])), invoice_id
        assert Decimal(props["amount_paid"]) == Decimal(str(xero["AmountPaid"])), invoice_id
        assert props["invoice_number"] == xero["InvoiceNumber"]
        assert props["contact_name"] == xero["Contact"]["Name"]
        assert props["currency_code"] == xero["CurrencyCode"]
        assert props["due_date"] == xero["DueDateString"][:10]
        assert (props.get("reference") or "") == (xero.get("Reference") or "")


@both_engines()
def test_first_sync_mirrors_every_sales_invoice_and_a_second_writes_nothing(world):
    code, output = sync()
    assert code == 0, output
    assert output.splitlines()[0].startswith("Live mode")  # env points at the sandbox as live
    expected = expected_ids(world)
    assert len(expected) > 50
    assert set(world.hubspot_by_invoice()) == expected
    assert_hubspot_matches_xero(world, expected)
    foreign = [i for i in expected if world.xero.emulator.invoice(i)["CurrencyCode"] != "NZD"]
    assert foreign, "the demo data should include foreign-currency invoices"
    props = world.hubspot_by_invoice()[foreign[0]]["properties"]
    assert Decimal(props["currency_rate"]) == Decimal(
        str(world.xero.emulator.invoice(foreign[0])["CurrencyRate"])
    )

    assert world.hubspot_writes() >= 1  # the check below is not vacuous
    world.hubspot.emulator.counters.reset()
    world.xero.emulator.counters.reset()
    code, output = sync()
    assert code == 0, output
    assert world.hubspot_writes() == 0
    assert world.xero.emulator.counters.total("GET /api.xro/2.0/Invoices") == 1


@both_engines()
def test_changes_in_xero_write_exactly_those_records_and_alert_status_changes(
    world, alert_receiver
):
    assert sync()[0] == 0
    authorised = sorted(
        i.invoice_id
        for i in xero_invoices(world)
        if i.type == "ACCREC" and i.status == "AUTHORISED"
    )
    to_pay, to_void, to_edit = authorised[:3]
    world.xero.clock.advance(hours=1)
    world.xero.emulator.pay(to_pay)
    world.xero.emulator.void(to_void)
    world.xero.emulator.edit(to_edit, Reference="PO-4711 revised")
    new = world.xero.emulator.create_invoice(
        world.tenant_id,
        contact_name="Zoë Ångström AB",
        status="AUTHORISED",
        line_items=[{"Description": "Consulting", "Quantity": 3, "UnitAmount": 150}],
    )["InvoiceID"]
    alerts_before = len(alert_receiver.messages)

    code, output = sync()
    assert code == 0, output
    written = world.query(
        "select xero_invoice_id, action from sync_log.record_results "
        "where run_id = (select run_id from sync_log.runs order by started_at desc limit 1)"
    )
    assert dict(written) == {to_pay: "UPDATE", to_void: "UPDATE", to_edit: "UPDATE", new: "INSERT"}
    assert_hubspot_matches_xero(world, {to_pay, to_void, to_edit, new})
    assert world.hubspot_by_invoice()[to_edit]["properties"]["reference"] == "PO-4711 revised"

    text = " ".join(m["message"] + m["title"] for m in alert_receiver.messages[alerts_before:])
    paid_number = world.xero.emulator.invoice(to_pay)["InvoiceNumber"]
    void_number = world.xero.emulator.invoice(to_void)["InvoiceNumber"]
    assert paid_number in text and "AUTHORISED → PAID" in text
    assert void_number in text and "AUTHORISED → VOIDED" in text

    alerts_after = len(alert_receiver.messages)
    assert sync()[0] == 0
    later = " ".join(m["message"] for m in alert_receiver.messages[alerts_after:])
    assert paid_number not in later, "a status change was alerted twice"


@both_engines()
def test_hand_edit_in_hubspot_is_put_back(world):
    assert sync()[0] == 0
    invoice_id = sorted(expected_ids(world))[0]
    record = world.hubspot_by_invoice()[invoice_id]
    world.hubspot.emulator.edit_by_hand(
        "xero_invoice", record["id"], {"amount_due": "1.00", "status": "PAID"}
    )
    code, output = sync()
    assert code == 0, output
    assert_hubspot_matches_xero(world, {invoice_id})


@both_engines()
def test_rejected_record_is_reported_with_exit_3_and_retried_next_run(world):
    victim = sorted(expected_ids(world))[5]
    number = world.xero.emulator.invoice(victim)["InvoiceNumber"]
    world.hubspot.emulator.reject_value("invoice_number", number, "Sandbox says no to this one")
    code, output = sync()
    assert code == 3, output
    assert number in output or victim in output
    assert set(world.hubspot_by_invoice()) == expected_ids(world) - {victim}
    rejected = world.query(
        "select xero_invoice_id, error_message from sync_log.record_results "
        "where outcome = 'rejected'"
    )
    assert [r[0] for r in rejected] == [victim]
    assert "Sandbox says no" in rejected[0][1]

    world.hubspot.emulator.clear_rejections()
    code, output = sync()
    assert code == 0, output
    assert set(world.hubspot_by_invoice()) == expected_ids(world)


def test_rate_limit_storms_and_server_errors_still_converge(world):
    hub = world.hubspot.emulator.faults
    hub.add("status", status=429, path_prefix="/crm/objects/2026-09", times=6, every=2)
    hub.add("status", status=502, path_prefix="/crm/objects/2026-09", times=2)
    hub.add("drop", path_prefix="/crm/objects/2026-09", times=1)
    xero = world.xero.emulator.faults
    xero.add("status", status=503, path_prefix="/api.xro", times=2, retry_after=1)
    xero.add("drop", path_prefix="/api.xro", times=1)

    code, output = sync()
    assert code == 0, output
    assert set(world.hubspot_by_invoice()) == expected_ids(world)
    assert_hubspot_matches_xero(world)
    assert world.hubspot.emulator.counters.by_status[429] >= 1


@both_engines()
def test_overlapping_run_is_refused_without_touching_anything(world):
    with world.hold_lock("hourly sync"):
        code, output = sync()
    assert code == 4
    assert "holds the lock" in output
    assert world.hubspot.emulator.counters.total() == 0
    assert world.xero.emulator.counters.total() == 0


@pytest.mark.parametrize("invoices", [0])
def test_empty_organisation_syncs_cleanly(
    xero_sandbox, hubspot_sandbox, warehouse_path, monkeypatch, invoices
):
    xero_sandbox.emulator.seed_demo(invoices=invoices, seed=3, tenants=1)
    env = {**xero_sandbox.env(), **hubspot_sandbox.env(), "WAREHOUSE_PATH": str(warehouse_path)}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    code, output = sync()
    assert code == 0, output
    counters = hubspot_sandbox.emulator.counters
    assert counters.total("POST /crm/objects/2026-09/{objectType}/batch") == 0
    assert hubspot_sandbox.emulator.records("xero_invoice") == []  # the object exists, empty
    assert xero_sandbox.emulator.counters.total("GET /api.xro/2.0/Invoices") == 1

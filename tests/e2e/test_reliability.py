"""Issue 10 end to end: records archived in HubSpot (item 1), markup in Xero data (item 7),
hand edits that are not Xero changes (item 12). Real HTTP, real DuckDB, real dbt."""

from __future__ import annotations

import requests

from tests.e2e.test_sync import assert_hubspot_matches_xero as _assert_matches
from tests.e2e.test_sync import expected_ids, sync


def assert_hubspot_matches_xero(world, ids: set[str] | None = None) -> None:
    """The shared check, on the live records only (archived ones stay in HubSpot's bin)."""

    class LiveOnly:
        def __init__(self, inner) -> None:
            self._inner = inner

        def __getattr__(self, name: str):
            return getattr(self._inner, name)

        def hubspot_records(self) -> list[dict]:
            return [r for r in self._inner.hubspot_records() if not r.get("archived")]

        def hubspot_by_invoice(self) -> dict[str, dict]:
            return {r["properties"]["xero_invoice_id"]: r for r in self.hubspot_records()}

    _assert_matches(LiveOnly(world), ids)


def _archive(world, invoice_id: str) -> str:
    record = world.hubspot_by_invoice()[invoice_id]
    answer = requests.delete(
        f"{world.hubspot.url}/crm/objects/2026-09/xero_invoice/{record['id']}",
        headers=world.hubspot.headers,
        timeout=5,
    )
    assert answer.status_code == 204
    return record["id"]


def _live_by_invoice(world) -> dict[str, list[dict]]:
    found: dict[str, list[dict]] = {}
    for record in world.hubspot_records():
        if not record.get("archived"):
            found.setdefault(record["properties"]["xero_invoice_id"], []).append(record)
    return found


def test_archived_record_whose_invoice_is_paid_comes_back_complete(world):
    assert sync()[0] == 0
    assert sync()[0] == 0  # the second run reads HubSpot incrementally
    invoice_id = sorted(
        i.invoice_id
        for i in world.xero.emulator.invoices(world.tenant_id)
        if i.type == "ACCREC" and i.status == "AUTHORISED"
    )[0]
    old_id = _archive(world, invoice_id)
    world.xero.clock.advance(minutes=10)
    world.xero.emulator.pay(invoice_id)

    for _ in range(2):
        code, output = sync()
        assert code == 0, output

    live = _live_by_invoice(world)
    assert len(live[invoice_id]) == 1
    assert live[invoice_id][0]["id"] != old_id
    assert_hubspot_matches_xero(world, {invoice_id})  # number, status, total, customer, dates
    assert set(live) == expected_ids(world)


def test_a_record_archived_in_hubspot_is_recreated_by_the_next_incremental_sync(world):
    assert sync()[0] == 0
    assert sync()[0] == 0
    invoice_id = sorted(expected_ids(world))[3]
    _archive(world, invoice_id)

    code, output = sync()

    assert code == 0, output
    assert invoice_id in _live_by_invoice(world)
    assert_hubspot_matches_xero(world, {invoice_id})
    archived = world.query(
        "select count(*) from raw_hubspot.invoice_records where archived and xero_invoice_id = ?",
        [invoice_id],
    )
    assert archived == [(1,)]
    world.hubspot.emulator.counters.reset()
    assert sync()[0] == 0  # and then nothing more to do
    assert world.hubspot_writes() == 0


def test_markup_in_an_invoice_number_is_printed_as_text_and_exit_2_survives(world):
    number = "INV-[/x]"
    invoice_id = world.xero.emulator.create_invoice(
        world.tenant_id,
        invoice_number=number,
        contact_name="[bold]Bracket & Co[/bold]",
        status="AUTHORISED",
        line_items=[{"Description": "Consulting", "Quantity": 1, "UnitAmount": 10}],
    )["InvoiceID"]
    world.hubspot.emulator.reject_value("invoice_number", number, "Rejected: [/x] is odd")

    code, output = sync()

    assert code == 3, output  # finished with a rejected record
    assert "MarkupError" not in output
    assert number in output
    for stage in ("[extract]", "[transform]", "[push]"):
        assert stage in output
    assert invoice_id not in _live_by_invoice(world)
    world.hubspot.emulator.clear_rejections()
    code, output = sync()
    assert code == 0, output
    assert _live_by_invoice(world)[invoice_id][0]["properties"]["invoice_number"] == number


def test_a_hand_edit_in_hubspot_raises_no_status_alert(world, alert_receiver):
    assert sync()[0] == 0
    invoice_id = sorted(expected_ids(world))[0]
    record = world.hubspot_by_invoice()[invoice_id]
    number = record["properties"]["invoice_number"]
    world.hubspot.emulator.edit_by_hand("xero_invoice", record["id"], {"status": "DRAFT"})
    before = len(alert_receiver.messages)

    code, output = sync()

    assert code == 0, output
    assert_hubspot_matches_xero(world, {invoice_id})  # the hand edit is put back
    text = " ".join(m["message"] for m in alert_receiver.messages[before:])
    assert number not in text and "DRAFT" not in text

    # A real change in Xero after the hand edit is still alerted, from Xero's old status.
    other = sorted(
        i.invoice_id
        for i in world.xero.emulator.invoices(world.tenant_id)
        if i.type == "ACCREC" and i.status == "AUTHORISED" and i.invoice_id != invoice_id
    )[0]
    other_record = world.hubspot_by_invoice()[other]
    world.hubspot.emulator.edit_by_hand("xero_invoice", other_record["id"], {"status": "DRAFT"})
    world.xero.clock.advance(minutes=10)
    world.xero.emulator.pay(other)
    before = len(alert_receiver.messages)
    assert sync()[0] == 0
    text = " ".join(m["message"] for m in alert_receiver.messages[before:])
    assert "AUTHORISED → PAID" in text and "DRAFT" not in text

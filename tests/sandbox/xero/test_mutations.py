"""Changing Xero: each mutation follows Xero's rules and bumps UpdatedDateUTC."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
import requests

from sandbox.xero.store import XeroValidationError
from tests.fixtures.xero import XeroSandbox


def updated(invoice: dict) -> int:
    return int(invoice["UpdatedDateUTC"][6:-7])


def now_ms(sandbox: XeroSandbox) -> int:
    return int(sandbox.clock().timestamp() * 1000)


@pytest.fixture
def sandbox(xero_sandbox: XeroSandbox) -> XeroSandbox:
    xero_sandbox.emulator.seed_demo(20, seed=2)
    return xero_sandbox


def test_create_invoice_adds_up(sandbox: XeroSandbox) -> None:
    created = sandbox.emulator.create_invoice(
        contact_name="Søren Ærø ApS",
        line_items=[
            {"Description": "Widgets", "Quantity": 3, "UnitAmount": "19.99"},
            {"Description": "Delivery", "Quantity": 1, "UnitAmount": "10.00", "TaxType": "NONE"},
        ],
        reference="PO-1",
    )
    assert created["Status"] == "AUTHORISED"
    assert created["Contact"]["Name"] == "Søren Ærø ApS"
    assert created["SubTotal"] == 69.97 and created["TotalTax"] == 9.0
    assert created["Total"] == 78.97 and created["AmountDue"] == 78.97
    assert updated(created) == now_ms(sandbox)
    assert sandbox.emulator.invoice(created["InvoiceID"]) == created
    with pytest.raises(XeroValidationError):
        sandbox.emulator.create_invoice(status="PAID")


def test_every_mutation_bumps_updated_date(sandbox: XeroSandbox) -> None:
    emu, clock = sandbox.emulator, sandbox.clock
    inv = emu.create_invoice(status="DRAFT")["InvoiceID"]
    steps = [
        lambda: emu.submit(inv),
        lambda: emu.authorise(inv),
        lambda: emu.edit(inv, reference="PO-2", due_date="2024-07-31"),
        lambda: emu.pay(inv, Decimal("50.00")),
        lambda: emu.remove_payments(inv),
        lambda: emu.credit(inv, Decimal("15.00")),
        lambda: emu.pay(inv),
        lambda: emu.corrupt_invoice(inv, "Date", "/Date(not-a-date)/"),
    ]
    for step in steps:
        before = updated(emu.invoice(inv))
        clock.advance(seconds=61)
        after = updated(step())
        assert after == now_ms(sandbox) and after > before


def test_pay_partly_then_fully(sandbox: XeroSandbox) -> None:
    emu = sandbox.emulator
    inv = emu.create_invoice(line_items=[{"Description": "x", "UnitAmount": "100.00"}])
    part = emu.pay(inv["InvoiceID"], Decimal("40.00"))
    assert (part["Status"], part["AmountPaid"], part["AmountDue"]) == ("AUTHORISED", 40.0, 75.0)
    assert "FullyPaidOnDate" not in part
    with pytest.raises(XeroValidationError, match="exceeds"):
        emu.pay(inv["InvoiceID"], Decimal("75.01"))
    paid = emu.pay(inv["InvoiceID"])
    assert (paid["Status"], paid["AmountDue"], paid["AmountPaid"]) == ("PAID", 0.0, 115.0)
    assert len(paid["Payments"]) == 2
    midnight = datetime(2024, 6, 3, tzinfo=UTC)
    assert paid["FullyPaidOnDate"] == f"/Date({int(midnight.timestamp() * 1000)}+0000)/"
    with pytest.raises(XeroValidationError):
        emu.void(inv["InvoiceID"])
    back = emu.remove_payments(inv["InvoiceID"])
    assert (back["Status"], back["AmountDue"], back.get("FullyPaidOnDate")) == (
        "AUTHORISED", 115.0, None,
    )  # fmt: skip


def test_credit_note_allocation(sandbox: XeroSandbox) -> None:
    emu = sandbox.emulator
    inv = emu.create_invoice(line_items=[{"Description": "x", "UnitAmount": "100.00"}])
    credited = emu.credit(inv["InvoiceID"], Decimal("15.00"))
    assert credited["AmountCredited"] == 15.0 and credited["AmountDue"] == 100.0
    assert credited["CreditNotes"][0]["AppliedAmount"] == 15.0
    assert emu.credit(inv["InvoiceID"], Decimal("100.00"))["Status"] == "PAID"


def test_delete_only_drafts_void_only_authorised(sandbox: XeroSandbox) -> None:
    emu = sandbox.emulator
    approved = emu.create_invoice()["InvoiceID"]
    with pytest.raises(XeroValidationError, match="void it instead"):
        emu.delete(approved)
    assert emu.void(approved)["Status"] == "VOIDED"
    with pytest.raises(XeroValidationError):
        emu.edit(approved, reference="too late")
    draft = emu.create_invoice(status="SUBMITTED")["InvoiceID"]
    with pytest.raises(XeroValidationError):
        emu.void(draft)
    assert emu.delete(draft)["Status"] == "DELETED"


def test_edit_lines_recomputes_totals(sandbox: XeroSandbox) -> None:
    emu = sandbox.emulator
    inv = emu.create_invoice()["InvoiceID"]
    edited = emu.edit(inv, line_items=[{"Description": "Bigger", "Quantity": 2, "UnitAmount": 50}])
    assert edited["Total"] == 115.0 and len(edited["LineItems"]) == 1
    with pytest.raises(XeroValidationError):
        emu.edit(inv, colour="red")


def test_corrupt_invoice_serves_bad_values(sandbox: XeroSandbox) -> None:
    emu = sandbox.emulator
    inv = emu.create_invoice()["InvoiceID"]
    emu.corrupt_invoice(inv, "Total", "12,50")
    emu.corrupt_invoice(inv, "DueDate", "/Date(banana)/")
    emu.corrupt_invoice(inv, "LineItems.0.LineAmount", None)
    emu.corrupt_invoice(inv, "Payments.3.Amount", 1)  # no such payment: ignored
    served = emu.invoice(inv)
    assert served["Total"] == "12,50" and served["DueDate"] == "/Date(banana)/"
    assert served["LineItems"][0]["LineAmount"] is None
    assert served["Payments"] == []


def test_activity_changes_about_half_a_percent_per_hour(xero_sandbox: XeroSandbox) -> None:
    emu, clock = xero_sandbox.emulator, xero_sandbox.clock
    emu.seed_demo(4000, seed=9)
    clock.advance(seconds=3600)
    counts = emu.activity(hours=1, seed=1)
    assert 12 <= sum(counts.values()) <= 20
    assert counts["created"] > 0 and counts["paid"] > 0
    changed = [i for i in emu.store.invoices.values() if i.updated_ms == now_ms(xero_sandbox)]
    assert len(changed) == sum(counts.values())
    assert emu.activity(hours=2, seed=1) != {}


def test_control_routes_drive_the_emulator(xero_sandbox: XeroSandbox) -> None:
    url = f"{xero_sandbox.url}/_sandbox"
    seeded = requests.post(f"{url}/seed", json={"invoices": 30, "seed": 4, "tenants": 2}).json()
    assert len(seeded["tenant_ids"]) == 2 and seeded["invoices"] == 30
    created = requests.post(
        f"{url}/invoices",
        json={"tenant_id": seeded["tenant_ids"][1], "ContactName": "Müller GmbH",
              "LineItems": [{"Description": "Beratung", "UnitAmount": "200.00"}]},
    )  # fmt: skip
    assert created.status_code == 201
    invoice_id = created.json()["InvoiceID"]
    paid = requests.post(f"{url}/invoices/{invoice_id}/pay", json={"amount": "30.00"}).json()
    assert paid["AmountPaid"] == 30.0
    refused = requests.post(f"{url}/invoices/{invoice_id}/delete")
    assert refused.status_code == 400
    assert refused.json()["Type"] == "ValidationException"
    assert requests.post(f"{url}/invoices/{invoice_id}/remove_payments").status_code == 200
    assert requests.post(f"{url}/invoices/{invoice_id}/void").json()["Status"] == "VOIDED"
    edited = requests.post(f"{url}/invoices/{invoice_id}/edit", json={"Reference": "x"})
    assert edited.status_code == 400
    assert requests.post(f"{url}/invoices/nope/pay").status_code == 404
    counts = requests.post(f"{url}/activity", json={"hours": 1, "seed": 3}).json()
    assert sum(counts.values()) >= 1
    assert requests.get(f"{url}/invoices/{invoice_id}").json()["Status"] == "VOIDED"
    tenants = requests.get(f"{url}/tenants").json()["tenants"]
    assert [t["tenant_id"] for t in tenants] == seeded["tenant_ids"]
    assert xero_sandbox.emulator.counters.total() == 0  # control routes are never counted


def test_versions_never_share_an_updated_date(sandbox: XeroSandbox) -> None:
    emu = sandbox.emulator
    inv = emu.create_invoice(status="DRAFT")
    first = updated(inv)
    second = updated(emu.edit(inv["InvoiceID"], reference="a"))  # same frozen instant
    third = updated(emu.authorise(inv["InvoiceID"]))
    assert (second, third) == (first + 1, first + 2)

"""Removing a credit allocation and voiding the credit note, over HTTP, as Xero does it: the
removal answers ``IsDeleted: true``, later reads list the allocation no more (on the credit
note and on the invoice), the invoice is due again, and only then can the note be voided."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from sandbox.xero import XeroEmulator
from tests.sandbox.xero.conftest import XeroHttp

API = "/api.xro/2.0/"


def _post(xero_http: XeroHttp, path: str) -> tuple[int, dict]:
    response = xero_http.session.post(f"{xero_http.sandbox.url}/_sandbox/{path}", timeout=10)
    return response.status_code, response.json()


def _note(xero_http: XeroHttp, note_id: str, since: str) -> dict:
    notes = xero_http.get(API + "CreditNotes", {"page": 1}, If_Modified_Since=since).json()
    return next(n for n in notes["CreditNotes"] if n["CreditNoteID"] == note_id)


def test_a_removed_allocation_is_listed_no_more_and_the_note_can_then_be_voided(
    xero_http: XeroHttp,
) -> None:
    emu, clock = xero_http.sandbox.emulator, xero_http.sandbox.clock
    target = next(i for i in emu.invoices(xero_http.tenant_id) if i.status == "AUTHORISED")
    clock.advance(60)
    emu.credit(target.invoice_id, Decimal("3.00"))
    note = next(
        d
        for d in emu.credit_docs("CREDITNOTE", xero_http.tenant_id)
        if any(a.invoice_id == target.invoice_id for a in d.allocations)
    )
    (allocation,) = note.allocations
    since = clock().strftime("%Y-%m-%dT%H:%M:%S")
    due_before = emu.invoice(target.invoice_id)["AmountDue"]

    status, body = _post(xero_http, f"credit-notes/{note.doc_id}/void")
    assert status == 400 and "allocations" in str(body)  # not while an allocation is left

    clock.advance(60)
    status, removed = _post(
        xero_http, f"credit-notes/{note.doc_id}/allocations/{allocation.allocation_id}/remove"
    )
    assert status == 200 and removed["is_deleted"] is True
    listed = _note(xero_http, note.doc_id, since)
    assert listed["Allocations"] == [] and listed["RemainingCredit"] == 3.0
    invoice = emu.invoice(target.invoice_id)
    assert invoice["CreditNotes"] == [] and invoice["AmountDue"] == due_before + 3.0
    status, _ = _post(
        xero_http, f"credit-notes/{note.doc_id}/allocations/{allocation.allocation_id}/remove"
    )
    assert status == 400  # already removed

    clock.advance(60)
    status, voided = _post(xero_http, f"credit-notes/{note.doc_id}/void")
    assert status == 200 and voided["status"] == "VOIDED"
    listed = _note(xero_http, note.doc_id, since)
    assert listed["Status"] == "VOIDED" and listed["RemainingCredit"] == listed["Total"] == 3.0
    # the emulator's own history keeps the removed allocation, marked
    (kept,) = [a for a in emu.allocations(xero_http.tenant_id) if a["source_id"] == note.doc_id]
    assert kept["is_deleted"] is True and kept["amount"] == Decimal("3.00")


def test_a_removed_allocation_and_a_voided_note_survive_save_and_load(
    xero_http: XeroHttp, tmp_path: Path
) -> None:

    emu = xero_http.sandbox.emulator
    target = next(i for i in emu.invoices(xero_http.tenant_id) if i.status == "AUTHORISED")
    emu.credit(target.invoice_id, Decimal("2.00"))
    note = next(
        d
        for d in emu.credit_docs("CREDITNOTE", xero_http.tenant_id)
        if any(a.invoice_id == target.invoice_id for a in d.allocations)
    )
    emu.remove_allocation(note.doc_id, note.allocations[0].allocation_id)
    emu.void_credit(note.doc_id)
    loaded = XeroEmulator.load(emu.save(tmp_path / "state.json"), clock=xero_http.sandbox.clock)
    (again,) = [
        d for d in loaded.credit_docs("CREDITNOTE", xero_http.tenant_id) if d.doc_id == note.doc_id
    ]
    assert again.status == "VOIDED" and again.remaining == again.total == 200
    assert [a.deleted for a in again.allocations] == [True]
    assert (
        loaded.invoice(target.invoice_id)["AmountDue"]
        == emu.invoice(target.invoice_id)["AmountDue"]
    )

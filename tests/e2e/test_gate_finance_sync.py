"""Issue 20 for the finance records: a bad contact, payment or credit note is quarantined,
named with its field, and never holds back the invoices; corrected, it is released.

One record per check the gate runs on payments and credit notes (generated from
``pipelines/xero/contract.py`` CHECKS, as in test_gate_sync.py), and one contact. The emulator
serves the bad value through a patched renderer (as tests/extract/test_xero_finance.py does);
"Xero corrects it" is the renderer restored and the record's ``UpdatedDateUTC`` moved. Left
out: a record without its own id (``PaymentID``, ``CreditNoteID``): it has no key to be
released by (pipelines/quarantine.py ``record_key``), so only the unit tests cover it.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from typer.testing import CliRunner

from reverse_etl.app.cli import app
from reverse_etl.core.errors import EXIT_OK, EXIT_REJECTED
from sandbox.xero import finance_render
from sandbox.xero.render import datetime_ms
from tests.e2e.test_sync import assert_hubspot_matches_xero, expected_ids, xero_invoices
from tests.extract.gate_cases import bad_value, corrupted, gate_checks

runner = CliRunner()


def _run(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.output


def _wire(value: Any) -> Any:
    return float(value) if isinstance(value, Decimal) else value


def _checks(resource: str, id_field: str) -> list[Any]:
    return [c for c in gate_checks(resource) if c.path != (id_field,)]


def test_bad_finance_records_are_quarantined_and_released(world, monkeypatch) -> None:
    code, output = _run("sync")
    assert code == EXIT_OK, output
    emu = world.xero.emulator
    open_invoices = [
        i.invoice_id
        for i in xero_invoices(world)
        if i.type == "ACCREC"
        and i.status == "AUTHORISED"
        and not emu.invoice(i.invoice_id)["Payments"]
    ]
    payment_checks = _checks("payment", "PaymentID")
    note_checks = _checks("credit note", "CreditNoteID")
    assert len(open_invoices) >= len(payment_checks) + len(note_checks)
    paid = dict(zip(open_invoices, payment_checks, strict=False))
    credited_invoices = open_invoices[len(paid) : len(paid) + len(note_checks)]

    world.xero.clock.advance(hours=1)
    for invoice_id in paid:
        emu.pay(invoice_id)
    notes: dict[str, Any] = {}
    for invoice_id, check in zip(credited_invoices, note_checks, strict=True):
        before = {d.doc_id for d in emu.credit_docs("CREDITNOTE")}
        emu.credit(invoice_id, Decimal("1.00"))
        (doc_id,) = {d.doc_id for d in emu.credit_docs("CREDITNOTE")} - before
        notes[doc_id] = check
    contact = emu.invoice(open_invoices[-1])["Contact"]
    contact_check = next(c for c in gate_checks("contact") if c.rule == "required")

    original_payment, original_doc = finance_render.payment, finance_render.credit_doc
    original_contact = finance_render.contact

    def bad_payment(store, inv, p, amount):  # type: ignore[no-untyped-def]
        out = original_payment(store, inv, p, amount)
        check = paid.get(inv.invoice_id)
        if check is None:
            return out
        return corrupted(out, ".".join(check.path), _wire(bad_value(check, out)))

    def bad_doc(store, doc, line_items):  # type: ignore[no-untyped-def]
        out = original_doc(store, doc, line_items)
        check = notes.get(doc.doc_id)
        if check is None:
            return out
        return corrupted(out, ".".join(check.path), _wire(bad_value(check, out)))

    def bad_contact(store, index, balances, roles):  # type: ignore[no-untyped-def]
        out = original_contact(store, index, balances, roles)
        if out.get("ContactID") == contact["ContactID"]:
            return corrupted(out, contact_check.field, None)
        return out

    with monkeypatch.context() as patched:
        patched.setattr(finance_render, "payment", bad_payment)
        patched.setattr(finance_render, "credit_doc", bad_doc)
        patched.setattr(finance_render, "contact", bad_contact)
        emu.rename_contact(contact["ContactID"], contact["Name"])  # read again, now bad
        code, output = _run("sync")

    assert code == EXIT_REJECTED, output
    lines = [line for line in output.splitlines() if line.startswith("Quarantined: ")]
    assert len(lines) == len(paid) + len(notes) + 1, output
    logged = world.query("select resource, record_id, record_name, field from raw_xero.quarantine")
    by_resource: dict[str, list[tuple[Any, ...]]] = {}
    for row in logged:
        by_resource.setdefault(row[0], []).append(row)
    assert sorted(r[3] for r in by_resource["payments"]) == sorted(c.field for c in paid.values())
    assert sorted((r[1], r[3]) for r in by_resource["credit_notes"]) == sorted(
        (doc_id, c.field) for doc_id, c in notes.items()
    )
    assert by_resource["contacts"] == [("contacts", None, contact["Name"], "ContactID")]
    for field in {c.field for c in [*paid.values(), *notes.values(), contact_check]}:
        assert f"field {field}:" in output
    assert_hubspot_matches_xero(world, expected_ids(world))  # every invoice went through
    assert {world.hubspot_by_invoice()[i]["properties"]["status"] for i in paid} == {"PAID"}

    # Xero corrects them: each record's UpdatedDateUTC moves and it is served as stored.
    world.xero.clock.advance(hours=1)
    now_ms = datetime_ms(emu.now())
    for inv in emu.store.invoices.values():
        if inv.invoice_id in paid:
            emu.store.touch(inv, now_ms)
            for payment in inv.payments:
                payment.updated_ms = inv.updated_ms
    for doc in emu.store.credit_docs.values():
        if doc.doc_id in notes:
            doc.updated_ms = now_ms
    emu.store.sequence += 1
    emu.rename_contact(contact["ContactID"], contact["Name"])
    code, output = _run("sync")
    assert code == EXIT_OK, output
    assert "Quarantined" not in output
    assert world.query("select count(*) from raw_xero.quarantine") == [(0,)]
    assert_hubspot_matches_xero(world, expected_ids(world))
    loaded = world.query("select count(*) from raw_xero.credit_notes where credit_note_id in "
                         f"({', '.join('?' for _ in notes)})", list(notes))  # fmt: skip
    assert loaded == [(len(notes),)]

"""A re-read parent is the truth about its children (DESIGN.md): after an allocation is removed
in Xero and its credit note voided, a payment deleted and a line item removed from an invoice,
the balances on every date equal those computed from the emulator's own records; a
``LineItemID`` Xero repeats on two invoices keeps both lines.

Expected values come from the emulator (:func:`owed_by_emulator`: a removed allocation and a
deleted payment count for nothing on any date, as Xero's AmountCredited/AmountPaid say), never
from the marts.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from sandbox.xero.model import derived_id
from tests.e2e.test_finance_marts import owed_by_emulator, owed_by_marts, sync

LINES = [
    {"Description": "Design", "Quantity": 1, "UnitAmount": "120.00"},
    {"Description": "Build", "Quantity": 2, "UnitAmount": "75.50"},
]


def _credit_pair(emulator, tenant_id: str, today: date):
    """A credit note with credit left, and a new invoice of its contact and currency dated
    40 days ago."""
    note = next(
        d
        for d in sorted(emulator.credit_docs("CREDITNOTE", tenant_id), key=lambda d: d.doc_id)
        if d.remaining >= 500 and d.status == "AUTHORISED"
    )
    invoice = emulator.create_invoice(
        tenant_id,
        ContactName=emulator.store.contacts[note.contact][1],
        CurrencyCode=note.currency,
        CurrencyRate=str(note.rate_micros / 1_000_000),
        Date=(today - timedelta(40)).isoformat(),
        DueDate=(today - timedelta(10)).isoformat(),
    )
    return note, invoice["InvoiceID"]


def test_removed_children_stop_counting_and_every_past_balance_stays_exact(world):
    emulator, clock, tenant = world.xero.emulator, world.xero.clock, world.tenant_id
    sync()
    today = emulator.now().date()
    clock.advance(hours=1)
    # (a) an allocation dated 30 days ago, (b) a payment dated 20 days ago, (c) two lines
    note, credited = _credit_pair(emulator, tenant, today)
    emulator.allocate_credit(note.doc_id, credited, Decimal("4.00"), today - timedelta(30))
    paid = emulator.create_invoice(
        tenant, ContactName="Children Ltd", Date=(today - timedelta(35)).isoformat()
    )["InvoiceID"]
    emulator.pay(paid, Decimal("50.00"), on=today - timedelta(20))
    edited = emulator.create_invoice(
        tenant,
        ContactName="Children Ltd",
        Date=(today - timedelta(25)).isoformat(),
        LineItems=LINES,
    )["InvoiceID"]
    sync()
    (allocation,) = [a for a in note.allocations if a.invoice_id == credited]
    assert world.query(
        "select is_deleted from marts.fct_credit_note_allocations where allocation_key = ?",
        [allocation.allocation_id],
    ) == [(False,)]
    window = sorted(today - timedelta(n) for n in range(-1, 42))
    for day in window:  # exact before the removals too
        assert owed_by_marts(world, day) == owed_by_emulator(emulator, tenant, day), day
    before = owed_by_marts(world, today - timedelta(5))
    assert before[credited] == Decimal(str(emulator.invoice(credited)["Total"])) - 4

    clock.advance(hours=1)
    removed = [a.allocation_id for a in note.allocations if not a.deleted]
    for allocation_id in removed:  # Xero lists them no more; then the note can be voided
        emulator.remove_allocation(note.doc_id, allocation_id)
    emulator.void_credit(note.doc_id)
    (payment,) = [p for p in emulator.payments(tenant) if p["invoice_id"] == paid]
    emulator.delete_payment(payment["payment_id"])
    emulator.edit(edited, LineItems=LINES[:1])
    # Xero repeats one invoice's LineItemID on another invoice
    kept_line = derived_id(edited, "line", emulator.store.get(edited).lines[0].salt)
    other = next(
        i.invoice_id
        for i in sorted(emulator.invoices(tenant), key=lambda i: i.invoice_id)
        if i.status == "AUTHORISED" and i.invoice_id not in (credited, paid, edited)
    )
    emulator.corrupt_invoice(other, "LineItems.0.LineItemID", kept_line)
    sync()

    # every date from before the first of these events to today, and around the dates of
    # the note's earlier allocations (removed too)
    days = set(window)
    days |= {
        date.fromordinal(a.date) + timedelta(offset)
        for a in note.allocations
        for offset in (-1, 0, 1)
    }
    for day in sorted(days):
        assert owed_by_marts(world, day) == owed_by_emulator(emulator, tenant, day), day
    assert owed_by_marts(world, today - timedelta(5))[credited] == Decimal(
        str(emulator.invoice(credited)["Total"])
    )
    assert world.query(
        "select count(*) from intermediate.int_invoice_balance_events "
        "where event_type = 'UNEXPLAINED'"
    ) == [(0,)]
    # the removed allocations are kept, marked, with the time Xero was seen without them
    rows = world.query(
        "select allocation_key, is_deleted, epoch_ms(removed_seen_at) "
        "from marts.fct_credit_note_allocations where source_id = ?",
        [note.doc_id],
    )  # the first version of the note read without them: the voided one
    assert sorted(rows) == sorted((key, True, note.updated_ms) for key in removed)
    assert len(removed) > 1  # the note's earlier allocations too, loaded by the first sync
    # line items: the removed one is gone, the repeated LineItemID kept on both invoices
    lines = world.query(
        "select invoice_id, description from intermediate.int_invoice_line_items "
        "where line_item_id = ? order by invoice_id",
        [kept_line],
    )
    assert sorted(invoice_id for invoice_id, _ in lines) == sorted([edited, other])
    assert world.query(
        "select description from intermediate.int_invoice_line_items where invoice_id = ?",
        [edited],
    ) == [("Design",)]
    for invoice_id in (other, credited):
        count = world.query(
            "select count(*) from intermediate.int_invoice_line_items where invoice_id = ?",
            [invoice_id],
        )
        assert count == [(len(emulator.store.get(invoice_id).lines),)], invoice_id

"""A credit re-read without an allocation, over real HTTP into DuckDB: the allocation's row
stays as last listed (older than its credit now), and every version of the credit read is in
``raw_xero.credit_versions``, once, with how many allocations it listed."""

from __future__ import annotations

from decimal import Decimal

from pipelines.run import run_xero_extract
from tests.extract.conftest import ExtractEnv


def test_a_removed_allocation_stays_as_last_listed_and_each_credit_version_is_kept(
    extract_env: ExtractEnv,
) -> None:
    env = extract_env
    emu = env.xero.emulator
    (tenant,) = emu.seed_demo(300, tenants=1)
    settings = env.settings(XERO_PAGE_SIZE="100")
    note = next(
        d
        for d in sorted(emu.credit_docs("CREDITNOTE", tenant), key=lambda d: d.doc_id)
        if d.status == "AUTHORISED" and d.remaining >= 200
    )
    for _ in range(2):  # two more allocations to new invoices of its contact
        invoice = emu.create_invoice(
            tenant,
            ContactName=emu.store.contacts[note.contact][1],
            CurrencyCode=note.currency,
            CurrencyRate=str(note.rate_micros / 1_000_000),
        )
        emu.allocate_credit(note.doc_id, invoice["InvoiceID"], Decimal("1.00"))
    run_xero_extract(settings, client=env.xero_client(settings))
    listed = [a for a in note.allocations if not a.deleted]
    gone, kept = listed[0], listed[1:]
    (first_stamp,) = env.query(
        "select updated_date_utc from raw_xero.credit_notes where credit_note_id = ?",
        note.doc_id,
    )[0]
    env.xero.clock.advance(60)
    emu.remove_allocation(note.doc_id, gone.allocation_id)
    env.xero.clock.advance(60)

    run_xero_extract(settings, client=env.xero_client(settings))
    env.xero.clock.advance(3600)
    run_xero_extract(settings, client=env.xero_client(settings))  # a quiet hour: nothing new

    (now_stamp,) = env.query(
        "select updated_date_utc from raw_xero.credit_notes where credit_note_id = ?",
        note.doc_id,
    )[0]
    assert now_stamp > first_stamp
    stamps = dict(
        env.query(
            "select allocation_key, source_updated_date_utc from raw_xero.allocations "
            "where source_id = ?",
            note.doc_id,
        )
    )
    assert stamps[gone.allocation_id] == first_stamp  # as last listed, not marked by Xero
    assert all(stamps[a.allocation_id] == now_stamp for a in kept)
    assert env.query(
        "select source_updated_date_utc, status, allocations_listed from raw_xero.credit_versions "
        "where source_id = ? order by 1",
        note.doc_id,
    ) == [(first_stamp, "AUTHORISED", len(listed)), (now_stamp, "AUTHORISED", len(kept))]

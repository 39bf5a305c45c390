"""Incremental marts (dbt_project/macros/incremental_marts.sql): after a sequence of Xero and
HubSpot changes, each synced hourly, the marts and action tables the incremental hourly builds
(dbt_project/macros/incremental_marts.sql, incremental_reverse_etl.sql) leave equal
those of a ``--full-refresh`` build, row for row — real HTTP to both emulators, a
real DuckDB file, real dlt and dbt runs. Deletions and removals are there on purpose: a row an
incremental model forgets to delete is the failure this guards against."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

from typer.testing import CliRunner

from reverse_etl.app.cli import app
from reverse_etl.app.sync import run_sync_once
from reverse_etl.core.settings import load_settings
from reverse_etl.transform import run_transform

runner = CliRunner()

INCREMENTAL = (
    "intermediate.int_invoice_line_items",
    "intermediate.int_invoice_balance_events",
    "marts.fct_invoices",
    "marts.fct_payments",
    "marts.fct_invoice_balances",
    "marts.fct_invoice_status_history",
    "marts.fct_credit_note_allocations",
    # macros/incremental_reverse_etl.sql
    "reverse_etl.hubspot_invoices_desired",
    "reverse_etl.hubspot_invoice_actions",
    "reverse_etl.invoice_status_changes",
)
COMPARED = (
    *INCREMENTAL,
    "marts.dim_customers",
    "marts.fct_ar_aging",
    "marts.fct_ar_aging_by_customer",
    "reverse_etl.hubspot_association_actions",
    "reverse_etl.hubspot_company_actions",
    "reverse_etl.hubspot_unexplained_invoices",
)


def snapshot(world) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every compared table, in a stable order."""
    return {table: world.query(f"select * from {table} order by all") for table in COMPARED}


def hourly_sync(world) -> None:
    report = run_sync_once(load_settings(dotenv_path=None), progress=False)
    assert report.plan is not None and report.plan.scope == "hourly", report.plan
    assert report.push is not None and report.push.rejected == 0


def changed_ids(world) -> set[str]:
    rows = world.query("select invoice_id from intermediate.int_changed_invoices")
    return {row[0] for row in rows}


def compared_again(world) -> set[str]:
    """The invoices the hourly build compared again in the incremental reverse_etl models."""
    rows = world.query("select xero_invoice_id from reverse_etl.int_hubspot_changed_invoices")
    return {row[0] for row in rows}


def written_since_last_build(world) -> set[str]:
    """The invoices the push recorded as written after the newest build started."""
    rows = world.query(
        "select xero_invoice_id from sync_log.record_results where outcome = 'written' "
        "and recorded_at >= (select max(started_at) from sync_log.builds)"
    )
    return {row[0] for row in rows}


def sales(world, status: str) -> list[str]:
    return sorted(
        i.invoice_id
        for i in world.xero.emulator.invoices(world.tenant_id)
        if i.type == "ACCREC" and i.status == status
    )


def credit_note_with_credit(emulator, tenant_id: str):
    return next(
        d
        for d in sorted(emulator.credit_docs("CREDITNOTE", tenant_id), key=lambda d: d.doc_id)
        if d.remaining >= 500 and d.status == "AUTHORISED"
    )


def test_incremental_hourly_builds_equal_a_full_refresh_row_for_row(world):
    xero, hubspot, clock, tenant = (
        world.xero.emulator,
        world.hubspot.emulator,
        world.xero.clock,
        world.tenant_id,
    )
    assert runner.invoke(app, ["sync"]).exit_code == 0  # the first build: daily, whole
    (total,) = world.query("select count(*) from marts.fct_invoices")[0]
    today = xero.now().date()
    note = credit_note_with_credit(xero, tenant)
    draft = xero.create_invoice(tenant, contact_name="Draft Co", status="DRAFT")["InvoiceID"]
    credited = xero.create_invoice(
        tenant,
        ContactName=xero.store.contacts[note.contact][1],
        CurrencyCode=note.currency,
        CurrencyRate=str(note.rate_micros / 1_000_000),
        Date=(today - timedelta(40)).isoformat(),
        DueDate=(today - timedelta(10)).isoformat(),
    )["InvoiceID"]

    # hour 1: new, paid, part-paid, voided, edited, contact renamed, credit allocated,
    # a record archived in HubSpot
    clock.advance(hours=1)
    authorised = [i for i in sales(world, "AUTHORISED") if i != credited]
    paid, part_paid, voided, edited, archived = authorised[:5]
    xero.pay(paid)
    xero.pay(part_paid, Decimal("10.00"), on=today - timedelta(3))
    xero.void(voided)
    xero.edit(edited, Reference="PO-4711 revised")
    renamed = xero.invoice(authorised[6])["Contact"]["ContactID"]
    xero.rename_contact(renamed, "Zoë Renamed Ltd")
    xero.allocate_credit(note.doc_id, credited, Decimal("4.00"), today - timedelta(30))
    new = xero.create_invoice(
        tenant,
        contact_name="Zoë Ångström AB",
        status="AUTHORISED",
        line_items=[{"Description": "Consulting", "Quantity": 3, "UnitAmount": 150}],
    )["InvoiceID"]
    hubspot.delete_by_hand("xero_invoice", world.hubspot_by_invoice()[archived]["id"])
    hourly_sync(world)
    listed = changed_ids(world)
    assert {paid, part_paid, voided, edited, credited, new} <= listed
    assert len(listed) < total / 2  # incremental: not everything rebuilt
    # the renamed contact's invoices, and the archived record's invoice, compared again (all
    # of them, in fact: the first push wrote every record back, and the archive made the
    # snapshot read HubSpot's whole list again)
    assert {authorised[6], archived, paid, new} <= compared_again(world)

    # hour 2: the draft deleted, the part payment deleted, the allocation removed and its
    # credit note voided, the voided invoice's remaining rows must go
    clock.advance(hours=1)
    xero.delete(draft)
    payment = [
        p
        for p in xero.payments(tenant)
        if p["invoice_id"] == part_paid and p["status"] != "DELETED"
    ][-1]
    xero.delete_payment(payment["payment_id"])
    for allocation in [a for a in note.allocations if not a.deleted]:
        xero.remove_allocation(note.doc_id, allocation.allocation_id)
    xero.void_credit(note.doc_id)
    pushed = {
        row[0]
        for row in world.query("select xero_invoice_id from reverse_etl.hubspot_invoice_actions")
    }
    hourly_sync(world)
    assert {draft, part_paid, credited} <= changed_ids(world)
    # hour 1's push wrote its actions back into raw_hubspot without a dlt load: listed from
    # sync_log.record_results, not from the whole previous action table
    assert pushed and pushed <= compared_again(world)
    assert len(compared_again(world)) < total / 2
    # hour 1's writes that nothing else lists: compared again in the actions, not in desired
    only_written = dict(
        world.query(
            "select xero_invoice_id, written_back_only "
            "from reverse_etl.int_hubspot_changed_invoices"
        )
    )
    flagged = {i for i, flag in only_written.items() if flag}
    assert flagged and flagged <= pushed and not flagged & changed_ids(world)
    written_in_hour_2 = written_since_last_build(world)
    assert world.query(
        "select count(*) from marts.fct_credit_note_allocations "
        "where source_id = ? and not is_deleted",
        [note.doc_id],
    ) == [(0,)]

    # hour 3: a random hour of business, and in HubSpot a property edited by hand and a
    # record's xero_invoice_id retyped (its invoice no longer has a record: the merge on
    # hs_object_id forgets the old id), then what HubSpot should hold is built, not pushed,
    # so the action tables are compared before any push
    clock.advance(hours=1)
    xero.activity(hours=1, seed=5)
    xero.edit(paid, Reference="after payment")
    records = world.hubspot_by_invoice()
    hand_edited, retyped = authorised[7], authorised[8]
    hubspot.edit_by_hand("xero_invoice", records[hand_edited]["id"], {"reference": "by hand"})
    hubspot.edit_by_hand(
        "xero_invoice", records[retyped]["id"], {"xero_invoice_id": "typed-by-hand-0001"}
    )
    assert runner.invoke(app, ["extract"]).exit_code == 0
    settings = load_settings(dotenv_path=None)
    hourly = run_transform(settings, scope="hourly")
    assert hourly.scope == "hourly"
    assert paid in changed_ids(world) and len(changed_ids(world)) < total / 2
    assert {paid, hand_edited, retyped} <= compared_again(world)
    # what hour 2's push wrote back is compared again (its action rows must go)
    assert written_in_hour_2 and written_in_hour_2 <= compared_again(world)
    assert len(compared_again(world)) < total / 2
    actions = dict(
        world.query("select xero_invoice_id, action from reverse_etl.hubspot_invoice_actions")
    )
    assert actions[hand_edited] == "UPDATE" and actions[retyped] == "INSERT"
    incremental = snapshot(world)

    run_transform(settings, scope="daily")  # --full-refresh: every mart rebuilt whole
    assert changed_ids(world) == set() and compared_again(world) == set()
    full = snapshot(world)
    for table in COMPARED:
        assert incremental[table] == full[table], table
    assert world.query(
        "select count(*) from marts.fct_invoice_balances where invoice_id = ?", [voided]
    ) == [(0,)]
    # the record archived in HubSpot was created again by hour 1's push
    assert world.hubspot_by_invoice()[archived]["properties"]["status"] == "AUTHORISED"

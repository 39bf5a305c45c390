"""The finance marts after real syncs: Xero emulator → dlt → DuckDB → dbt → HubSpot emulator.

Expected values are computed here from the emulator's own records (its invoices, payments and
allocations), never from the marts or the API answers.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal

from typer.testing import CliRunner

from reverse_etl.app.cli import app

runner = CliRunner()
POSTED = ("AUTHORISED", "PAID")


def sync() -> None:
    result = runner.invoke(app, ["sync"])
    assert result.exit_code == 0, result.output


def owed_by_emulator(emulator, tenant_id: str, day: date) -> dict[str, Decimal]:
    """What each posted invoice owed at the end of ``day``: its total from its invoice date,
    less every non-deleted payment and allocation dated on or before ``day``."""
    reductions: dict[str, Decimal] = defaultdict(Decimal)
    for p in emulator.payments(tenant_id):
        if p["status"] != "DELETED" and p["payment_date"] <= day:
            reductions[p["invoice_id"]] += p["amount"]
    for a in emulator.allocations(tenant_id):
        if not a["is_deleted"] and a["allocation_date"] <= day:
            reductions[a["invoice_id"]] += a["amount"]
    owed = {}
    for inv in emulator.invoices(tenant_id):
        if inv.status in POSTED and date.fromordinal(inv.date) <= day:
            amount = Decimal(inv.totals().total) / 100 - reductions[inv.invoice_id]
            if amount:
                owed[inv.invoice_id] = amount
    return owed


def owed_by_marts(world, day: date) -> dict[str, Decimal]:
    rows = world.query(
        "select invoice_id, amount_due from marts.fct_invoice_balances "
        "where valid_from <= ? and (valid_to is null or ? < valid_to)",
        [day, day],
    )
    return {invoice_id: Decimal(amount) for invoice_id, amount in rows}


def test_as_of_balances_match_the_emulator_to_the_cent_for_any_date(world):
    emulator = world.xero.emulator
    sync()
    # Invoices the sync first saw already part-paid: their history must start before that.
    part_paid_at_first_sight = {
        invoice_id: (total, first_paid)
        for invoice_id, total, first_paid in world.query(
            "select v.invoice_id, v.total, min(p.payment_date) "
            "from raw_xero.invoice_versions v join raw_xero.payments p using (invoice_id) "
            "where v.status = 'AUTHORISED' and v.amount_paid > 0 and v.amount_due > 0 "
            "group by v.invoice_id, v.total"
        )
    }
    assert part_paid_at_first_sight, "the demo data should hold part-paid invoices"

    # Business after the first sync: a part payment dated in the past, a credit note, a
    # deleted payment.
    authorised = sorted(
        (i for i in emulator.invoices(world.tenant_id) if i.status == "AUTHORISED"),
        key=lambda i: i.invoice_id,
    )
    target = next(i for i in authorised if i.invoice_id not in part_paid_at_first_sight)
    world.xero.clock.advance(hours=1)
    emulator.pay(
        target.invoice_id, Decimal("10.01"), on=date.fromordinal(target.date) + timedelta(3)
    )
    emulator.credit(authorised[-1].invoice_id, Decimal("5.00"))
    deleted = next(p for p in emulator.payments(world.tenant_id) if p["status"] != "DELETED")
    emulator.delete_payment(deleted["payment_id"])
    sync()

    event_days = sorted(
        {p["payment_date"] for p in emulator.payments(world.tenant_id)}
        | {a["allocation_date"] for a in emulator.allocations(world.tenant_id)}
    )
    step = max(len(event_days) // 6, 1)
    days = {d + offset for d in event_days[::step] for offset in (timedelta(-1), timedelta(0))}
    days |= {first_paid - timedelta(1) for _total, first_paid in part_paid_at_first_sight.values()}
    days.add(emulator.now().date())
    for day in sorted(days):
        assert owed_by_marts(world, day) == owed_by_emulator(emulator, world.tenant_id, day), day

    # Invoices first seen part-paid owed their whole total the day before their first payment.
    for invoice_id, (total, first_paid) in part_paid_at_first_sight.items():
        assert owed_by_marts(world, first_paid - timedelta(1))[invoice_id] == total
    # Nothing the loaded events could not explain.
    assert world.query(
        "select count(*) from intermediate.int_invoice_balance_events "
        "where event_type = 'UNEXPLAINED'"
    ) == [(0,)]


def test_status_history_counts_real_payments_not_first_sightings(world):
    emulator = world.xero.emulator
    sync()
    paid = {
        i.invoice_id: date.fromordinal(i.fully_paid_on)
        for i in emulator.invoices(world.tenant_id)
        if i.status == "PAID" and i.totals().total != 0
    }
    rows = world.query(
        "select invoice_id, changed_on, change_source from marts.fct_invoice_status_history "
        "where to_status = 'PAID' and not is_first_status"
    )
    # Every invoice the first sync saw already PAID has exactly one → PAID transition, dated
    # the day of the payment or credit that cleared it (not the sync's day).
    assert {invoice_id: day for invoice_id, day, _ in rows} == paid
    assert len(rows) == len(paid)
    sources = {source for _, _, source in rows}
    assert sources <= {"PAYMENT", "CREDITNOTE", "OVERPAYMENT", "PREPAYMENT"} | {
        s for s in sources if "+" in s
    }
    first = world.query(
        "select count(*) from marts.fct_invoice_status_history "
        "where is_first_status and to_status = 'PAID'"
    )
    assert first == [(0,)], "a paid invoice's first known status is AUTHORISED (inferred)"


def test_contact_rename_reaches_hubspot_writing_only_that_contacts_invoices(world):
    emulator = world.xero.emulator
    sync()
    mirrored = {
        inv_id: props["properties"]["xero_contact_id"]
        for inv_id, props in world.hubspot_by_invoice().items()
    }
    counts: dict[str, int] = defaultdict(int)
    for contact_id in mirrored.values():
        counts[contact_id] += 1
    contact_id = max(counts, key=lambda c: (counts[c] > 1, c))
    theirs = {inv_id for inv_id, c in mirrored.items() if c == contact_id}
    before = {i: emulator.invoice(i)["UpdatedDateUTC"] for i in theirs}

    world.xero.clock.advance(hours=1)
    emulator.rename_contact(contact_id, "Renamed Holdings Ltd")
    assert {i: emulator.invoice(i)["UpdatedDateUTC"] for i in theirs} == before
    sync()

    written = world.query(
        "select xero_invoice_id, action from sync_log.record_results "
        "where run_id = (select run_id from sync_log.runs order by started_at desc limit 1)"
    )
    assert dict(written) == {i: "UPDATE" for i in theirs}
    by_invoice = world.hubspot_by_invoice()
    for inv_id in theirs:
        assert by_invoice[inv_id]["properties"]["contact_name"] == "Renamed Holdings Ltd"
    others = set(mirrored) - theirs
    assert all(
        by_invoice[i]["properties"]["contact_name"] != "Renamed Holdings Ltd" for i in others
    )

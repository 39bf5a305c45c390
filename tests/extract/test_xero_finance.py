"""Xero contacts, payments, credit and organisation → raw_xero, over real HTTP into DuckDB.

Expected values come from the emulator's own records (``XeroEmulator.payments()`` …), not from
the API answers the extract read.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from pipelines.run import run_xero_extract
from pipelines.xero.finance_tables import FINANCE_TABLE_COLUMNS, FINANCE_TABLES
from tests.extract.conftest import ExtractEnv

FINANCE_PATHS = [f"GET /api.xro/2.0/{t.endpoint.path}" for t in FINANCE_TABLES] + [
    "GET /api.xro/2.0/Organisation"
]


@pytest.fixture
def env_seeded(extract_env: ExtractEnv) -> tuple[ExtractEnv, list[str], Any]:
    tenants = extract_env.xero.emulator.seed_demo(1200, tenants=2)
    return extract_env, tenants, extract_env.settings(XERO_PAGE_SIZE="100")


def _calls(env: ExtractEnv) -> dict[str, int]:
    counters = env.xero.emulator.counters
    return {path: counters.total(path) for path in ["GET /api.xro/2.0/Invoices", *FINANCE_PATHS]}


def test_backfill_loads_every_finance_table_as_the_emulator_holds_it(env_seeded) -> None:  # type: ignore[no-untyped-def]
    env, tenants, settings = env_seeded
    emu = env.xero.emulator
    report = run_xero_extract(settings, client=env.xero_client(settings))

    for tenant in tenants:
        expected = {p["payment_id"]: p for p in emu.payments(tenant)}
        rows = env.query(
            "select payment_id, invoice_id, amount, status, payment_date, payment_type "
            "from raw_xero.payments where tenant_id = ?",
            tenant,
        )
        assert len(rows) == len(expected) > 0
        for payment_id, invoice_id, amount, status, day, kind in rows:
            want = expected[payment_id]
            assert (invoice_id, amount, status, day, kind) == (
                want["invoice_id"],
                want["amount"],
                want["status"],
                want["payment_date"],
                want["payment_type"],
            )
        allocations = {a["allocation_id"]: a for a in emu.allocations(tenant)}
        loaded = env.query(
            "select allocation_key, source_type, source_id, invoice_id, amount, is_deleted "
            "from raw_xero.allocations where tenant_id = ?",
            tenant,
        )
        assert {row[0] for row in loaded} == set(allocations)
        for key, source_type, source_id, invoice_id, amount, deleted in loaded:
            a = allocations[key]
            assert (source_type, source_id, invoice_id, amount, deleted) == (
                a["source_type"],
                a["source_id"],
                a["invoice_id"],
                a["amount"],
                a["is_deleted"],
            )
        contacts = emu.contacts(tenant)
        assert env.scalar(
            "select count(*) from raw_xero.contacts where tenant_id = ?", tenant
        ) == len(contacts)
        persons = sum(len(c["persons"]) for c in contacts)
        assert (
            env.scalar("select count(*) from raw_xero.contact_persons where tenant_id = ?", tenant)
            == persons
        )
        ar = env.scalar(
            "select sum(ar_outstanding) from raw_xero.contacts where tenant_id = ?", tenant
        )
        assert ar == sum(c["ar_outstanding"] for c in contacts)
        org = emu.organisation(tenant)
        row = env.query(
            "select base_currency, xero_timezone, timezone, financial_year_end_month, short_code "
            "from raw_xero.organisations where tenant_id = ?",
            tenant,
        )
        assert row == [
            (
                org["base_currency"],
                org["xero_timezone"],
                {"NZD": "Pacific/Auckland", "EUR": "Europe/Berlin"}[org["base_currency"]],
                org["financial_year_end_month"],
                org["short_code"],
            )
        ]
    # every allocation's invoice agrees with the invoice's AmountCredited
    mismatched = env.scalar(
        """
        select count(*) from raw_xero.invoices i
        left join (select invoice_id, sum(amount) as credited from raw_xero.allocations
                   where not is_deleted group by invoice_id) a using (invoice_id)
        left join (select invoice_id, sum(amount) as paid from raw_xero.payments
                   where status = 'AUTHORISED' group by invoice_id) p using (invoice_id)
        where i.amount_credited <> coalesce(a.credited, 0) or i.amount_paid <> coalesce(p.paid, 0)
        """
    )
    assert mismatched == 0
    assert report.finance_calls > 0


def test_an_unchanged_hour_costs_one_call_per_endpoint_and_organisation(env_seeded) -> None:  # type: ignore[no-untyped-def]
    env, tenants, settings = env_seeded
    run_xero_extract(settings, client=env.xero_client(settings))
    env.xero.clock.advance(3600)
    before = _calls(env)

    again = run_xero_extract(settings, client=env.xero_client(settings))

    after = _calls(env)
    spent = {path: after[path] - before[path] for path in after}
    assert spent == {path: len(tenants) for path in spent}  # 7 endpoints × 2 organisations
    assert again.xero_calls + again.finance_calls == 7 * len(tenants)


def test_changes_are_read_incrementally_deleted_payments_included(env_seeded) -> None:  # type: ignore[no-untyped-def]
    env, tenants, settings = env_seeded
    emu = env.xero.emulator
    run_xero_extract(settings, client=env.xero_client(settings))
    overlap: set[str] = set()  # payments the next read sees again: the cursor's second − 1 s
    for t in tenants:
        stamps = {p["payment_id"]: p["updated_ms"] for p in emu.payments(t)}
        start = max(stamps.values()) // 1000 * 1000 - 1000
        overlap |= {pid for pid, ms in stamps.items() if ms >= start}
    env.xero.clock.advance(60)
    tenant = tenants[0]
    live = [p for p in emu.payments(tenant) if p["status"] == "AUTHORISED"]
    gone = live[0]
    invoice = emu.delete_payment(gone["payment_id"])
    assert invoice["Status"] == "AUTHORISED"
    open_invoice = next(
        i for i in emu.invoices(tenant) if i.status == "AUTHORISED" and i.type == "ACCREC"
    )
    emu.pay(open_invoice.invoice_id, Decimal("1.00"))
    contact = next(c for c in emu.contacts(tenant) if len(c["persons"]) >= 2)
    emu.rename_contact(contact["contact_id"], "Renamed Holdings Ltd")
    emu.set_contact_email(contact["contact_id"], "ap@renamed.example")
    env.xero.clock.advance(60)

    second = run_xero_extract(settings, client=env.xero_client(settings))

    # only the changes (the new and the deleted payment) and the overlap are read again
    assert second.finance_rows["payments"] == len(overlap | {gone["payment_id"]}) + 1
    assert second.finance_rows["payments"] < len(emu.payments(tenant)) // 4
    assert 1 <= second.finance_rows["contacts"] <= 4
    assert second.finance_calls == 6 * len(tenants)
    status = env.scalar(
        "select status from raw_xero.payments where payment_id = ?", gone["payment_id"]
    )
    assert status == "DELETED"
    paid = env.scalar(
        "select coalesce(sum(amount), 0) from raw_xero.payments "
        "where invoice_id = ? and status = 'AUTHORISED'",
        gone["invoice_id"],
    )
    assert paid == env.scalar(
        "select amount_paid from raw_xero.invoices where invoice_id = ?", gone["invoice_id"]
    )
    assert paid == sum(
        p["amount"]
        for p in emu.payments(tenant)
        if p["invoice_id"] == gone["invoice_id"] and p["status"] == "AUTHORISED"
    )
    assert (
        env.scalar(
            "select count(*) from raw_xero.payments where invoice_id = ? and amount = 1.00",
            open_invoice.invoice_id,
        )
        == 1
    )
    assert env.query(
        "select name, email_address from raw_xero.contacts where contact_id = ?",
        contact["contact_id"],
    ) == [("Renamed Holdings Ltd", "ap@renamed.example")]
    persons = env.query(
        "select person_index, email_address from raw_xero.contact_persons "
        "where contact_id = ? order by person_index",
        contact["contact_id"],
    )  # replaced with the contact, not appended to
    assert persons == [(i, p["email_address"]) for i, p in enumerate(contact["persons"])]


def test_a_bad_record_is_quarantined_and_the_others_load(env_seeded, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    env, _tenants, settings = env_seeded
    from sandbox.xero import finance_render

    original = finance_render.payment
    bad_ids: list[str] = []

    def corrupt(store, inv, p, amount):  # type: ignore[no-untyped-def]
        out = original(store, inv, p, amount)
        if not bad_ids:
            bad_ids.append(out["PaymentID"])
        if out["PaymentID"] in bad_ids:
            out["Amount"] = "12,50"
        return out

    monkeypatch.setattr(finance_render, "payment", corrupt)
    report = run_xero_extract(settings, client=env.xero_client(settings))

    assert report.finance_rows.get("rejected") == 1
    rows = env.query("select resource, record_id, field, fix from raw_xero.quarantine")
    assert [row[:3] for row in rows] == [("payments", bad_ids[0], "Amount")] and rows[0][3]
    total = sum(len(env.xero.emulator.payments(t)) for t in _tenants)
    assert env.scalar("select count(*) from raw_xero.payments") == total - 1
    assert env.scalar("select count(*) from raw_xero.finance_rejects") == 0


def test_finance_tables_exist_even_when_empty(extract_env: ExtractEnv) -> None:
    env = extract_env
    env.xero.emulator.seed_demo(0, tenants=1)
    settings = env.settings()
    run_xero_extract(settings, client=env.xero_client(settings))
    tables = env.tables()
    for table in FINANCE_TABLE_COLUMNS:
        assert f"raw_xero.{table}" in tables
    assert env.scalar("select count(*) from raw_xero.overpayments") == 0


def test_an_unknown_organisation_time_zone_is_quarantined_naming_it(
    extract_env: ExtractEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Never a silent UTC: the organisation is set aside with the value named, the invoices
    load, and once Xero sends a zone we map it is loaded and released."""
    from sandbox.xero import finance_render

    env = extract_env
    (tenant,) = env.xero.emulator.seed_demo(20, tenants=1)
    settings = env.settings()
    original = finance_render.organisation

    def on_mars(t):  # type: ignore[no-untyped-def]
        return {**original(t), "Timezone": "MARSSTANDARDTIME"}

    monkeypatch.setattr(finance_render, "organisation", on_mars)
    report = run_xero_extract(settings, client=env.xero_client(settings))
    assert report.invoices_loaded == 20
    rows = env.query("select resource, tenant_id, field, error, fix from raw_xero.quarantine")
    assert [r[:3] for r in rows] == [("organisations", tenant, "Timezone")]
    assert "MARSSTANDARDTIME" in rows[0][3] and "xero_timezones.csv" in rows[0][4]
    assert env.scalar("select count(*) from raw_xero.organisations") == 0

    monkeypatch.setattr(finance_render, "organisation", original)
    run_xero_extract(settings, client=env.xero_client(settings))
    assert env.scalar("select count(*) from raw_xero.quarantine") == 0
    assert env.scalar("select timezone from raw_xero.organisations") is not None

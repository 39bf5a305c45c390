"""Alerts name the customer's HubSpot company when one is matched (issue 13)."""

from __future__ import annotations

import duckdb

from reverse_etl.core import sync_log
from reverse_etl.push import alerts


def _warehouse(tmp_path, *, with_customers: bool) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    sync_log.ensure_tables(con)
    con.execute("create schema reverse_etl; create schema staging")
    con.execute(
        "create table reverse_etl.invoice_status_changes as select 'inv-1' as xero_invoice_id, "
        "'7' as hs_object_id, 'INV-0001' as invoice_number, 'Acme Ltd' as contact_name, "
        "'NZD' as currency_code, 100.00::decimal(18,2) as total, 0::decimal(18,2) as amount_due, "
        "'AUTHORISED' as previous_status, 'PAID' as new_status, now() as xero_updated_at"
    )
    if with_customers:
        con.execute(
            "create table reverse_etl.hubspot_invoices_desired as "
            "select 'inv-1' as xero_invoice_id, 'c-1' as xero_contact_id;"
            "create table reverse_etl.customer_matches as select 'c-1' as contact_id, "
            "'2' as match_rule, '55' as hs_company_id, '66' as hs_contact_id;"
            "create table staging.stg_hubspot__companies as select '55' as hs_company_id, "
            "'Acme Widgets (NZ)' as company_name"
        )
    return con


def test_the_alert_line_names_the_matched_company(tmp_path):
    con = _warehouse(tmp_path, with_customers=True)
    (change,) = alerts.read_status_changes(con)
    assert change.company_name == "Acme Widgets (NZ)"
    assert "Acme Ltd, HubSpot company Acme Widgets (NZ)" in change.line()


def test_without_customer_models_the_alert_is_unchanged(tmp_path):
    con = _warehouse(tmp_path, with_customers=False)
    (change,) = alerts.read_status_changes(con)
    assert change.company_name is None
    assert change.line().startswith("INV-0001 (Acme Ltd, 100.00 NZD)")

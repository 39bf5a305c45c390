"""The customers push against the emulator: company CREATE/UPDATE with the stamp log, and
associations with a refused input that does not block the others."""

from __future__ import annotations

import duckdb

from benchmarks.suite_associations import DDL
from reverse_etl.customers_push import push_customers
from reverse_etl.schema import ensure_schema
from reverse_etl.settings import Settings
from tests.fixtures.hubspot import HubSpotSandbox
from tests.push.conftest import make_client

OBJECT = "xero_invoice"


def _warehouse(settings: Settings) -> duckdb.DuckDBPyConnection:
    settings.warehouse_path.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(settings.warehouse_path))
    con.execute(DDL)
    return con


def test_companies_created_and_updated_are_stamped_and_written_back(
    hubspot_sandbox: HubSpotSandbox, settings: Settings
) -> None:
    hub = make_client(settings)
    object_type = ensure_schema(settings, client=hub).object_type_id
    (existing,) = hubspot_sandbox.emulator.seed("companies", [{"name": "Existing"}])
    con = _warehouse(settings)
    con.execute(
        "create table reverse_etl.hubspot_company_actions as select * from (values "
        "('UPDATE', ?, 'c-1', ['xero_contact_id', 'xero_amount_outstanding']::varchar[], "
        " null, null, 'c-1', '12.5', null, null, null), "
        "('CREATE', null, 'c-2', ['name', 'domain', 'xero_contact_id']::varchar[], "
        " 'New Co', 'new.example', 'c-2', null, null, null, null)) "
        "t(action, hs_company_id, contact_id, changed_properties, name, domain, "
        "xero_contact_id, xero_amount_outstanding, xero_amount_overdue, xero_open_invoices, "
        "xero_last_payment_date)",
        [existing],
    )
    report = push_customers(con, hub, object_type, "run-1")
    assert (report.companies_updated, report.companies_created) == (1, 1)
    companies = {r["properties"]["name"]: r for r in hubspot_sandbox.emulator.records("companies")}
    assert companies["Existing"]["properties"]["xero_amount_outstanding"] == "12.5"
    assert companies["New Co"]["properties"]["domain"] == "new.example"
    stamps = dict(
        con.execute(
            "select xero_contact_id, hs_company_id from raw_hubspot.company_stamps"
        ).fetchall()
    )
    assert stamps == {"c-1": existing, "c-2": companies["New Co"]["id"]}
    snapshot = dict(
        con.execute("select hs_object_id, xero_contact_id from raw_hubspot.companies").fetchall()
    )
    assert snapshot[existing] == "c-1"


def test_a_refused_association_does_not_block_the_others_and_none_is_remembered(
    hubspot_sandbox: HubSpotSandbox, settings: Settings
) -> None:
    hub = make_client(settings)
    object_type = ensure_schema(settings, client=hub).object_type_id
    records = hubspot_sandbox.emulator.seed(
        object_type, [{"xero_invoice_id": f"inv-{n}"} for n in range(3)]
    )
    (company,) = hubspot_sandbox.emulator.seed("companies", [{"name": "Acme"}])
    con = _warehouse(settings)
    con.execute(
        "create table reverse_etl.hubspot_association_actions as select 'CREATE' as action, "
        "x as xero_invoice_id, r as invoice_hs_object_id, 'companies' as to_object_type, "
        "o as to_object_id, null::varchar as xero_contact_id, '2' as match_rule from "
        "(select unnest($x) as x, unnest($r) as r, unnest($o) as o)",
        {"x": ["inv-0", "inv-1", "inv-2"], "r": records, "o": [company, "404404", company]},
    )
    report = push_customers(con, hub, object_type, "run-1")
    assert report.associations_created == 2 and len(report.rejected) == 1
    assert "404404" in report.rejected[0]
    remembered = con.execute(
        "select invoice_hs_object_id from raw_hubspot.invoice_associations"
    ).fetchall()
    assert sorted(r for (r,) in remembered) == sorted([records[0], records[2]])
    assert hubspot_sandbox.emulator.associated(OBJECT, records[0], "companies") == {company}

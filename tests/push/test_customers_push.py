"""The customers push against the emulator: company CREATE/UPDATE with the stamp log, and
associations with a refused input that does not block the others."""

from __future__ import annotations

from datetime import datetime

import duckdb

from benchmarks.suite_associations import DDL
from reverse_etl.core.settings import Settings
from reverse_etl.push.customers import push_customers
from reverse_etl.push.schema import ensure_schema
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
    con.execute(
        "insert into raw_hubspot.companies (hs_object_id, name, hs_lastmodifieddate, archived) "
        "values (?, 'Existing', '2020-01-01T00:00:00Z', false)",
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
    # HubSpot's updatedAt is written back, so the next snapshot knows these versions as ours
    modified = dict(
        con.execute(
            "select hs_object_id, hs_lastmodifieddate from raw_hubspot.companies"
        ).fetchall()
    )
    for record in companies.values():
        assert modified[record["id"]] == datetime.fromisoformat(record["updatedAt"])


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
    assert report.associations_created == 2 and len(report.refused_lines) == 1
    assert "404404" in report.refused_lines[0]
    remembered = con.execute(
        "select invoice_hs_object_id from raw_hubspot.invoice_associations"
    ).fetchall()
    assert sorted(r for (r,) in remembered) == sorted([records[0], records[2]])
    assert hubspot_sandbox.emulator.associated(OBJECT, records[0], "companies") == {company}


def _results(con: duckdb.DuckDBPyConnection) -> list[tuple]:
    return con.execute(
        "select kind, action, outcome, to_object_id, hs_company_id, error_category "
        "from sync_log.customer_results order by kind, outcome, to_object_id"
    ).fetchall()


def test_every_outcome_is_logged_and_a_deleted_company_is_forgotten_not_retried_forever(
    hubspot_sandbox: HubSpotSandbox, settings: Settings
) -> None:
    """A person deleted a matched company in HubSpot after the snapshot: its balance update
    and its association are refused (named, logged), the other writes land, and the snapshot
    marks the company archived and drops its associations so the next transform re-matches."""
    emulator = hubspot_sandbox.emulator
    hub = make_client(settings)
    object_type = ensure_schema(settings, client=hub).object_type_id
    records = emulator.seed(object_type, [{"xero_invoice_id": f"inv-{n}"} for n in range(2)])
    kept, deleted = emulator.seed("companies", [{"name": "Kept"}, {"name": "Deleted"}])
    con = _warehouse(settings)
    con.execute(
        "insert into raw_hubspot.companies (hs_object_id, name, archived, _dlt_load_id, _dlt_id) "
        "values (?, 'Kept', false, 'l', 'a'), (?, 'Deleted', false, 'l', 'b')",
        [kept, deleted],
    )
    con.execute(
        "insert into raw_hubspot.invoice_associations values (?, ?, 'companies', ?, 'l', 'c')",
        [f"{records[1]}:companies:{deleted}", records[1], deleted],
    )
    emulator.delete_by_hand("companies", deleted)
    con.execute(
        "create table reverse_etl.hubspot_company_actions as select * from (values "
        "('UPDATE', ?, 'c-kept', ['xero_amount_outstanding']::varchar[], null, null, 'c-kept', "
        " '1.00', null, null, null), "
        "('UPDATE', ?, 'c-gone', ['xero_amount_outstanding']::varchar[], null, null, 'c-gone', "
        " '2.00', null, null, null)) "
        "t(action, hs_company_id, contact_id, changed_properties, name, domain, "
        "xero_contact_id, xero_amount_outstanding, xero_amount_overdue, xero_open_invoices, "
        "xero_last_payment_date)",
        [kept, deleted],
    )
    con.execute(
        "create table reverse_etl.hubspot_association_actions as select 'CREATE' as action, "
        "x as xero_invoice_id, r as invoice_hs_object_id, 'companies' as to_object_type, "
        "o as to_object_id, c as xero_contact_id, '4' as match_rule from "
        "(select unnest($x) as x, unnest($r) as r, unnest($o) as o, unnest($c) as c)",
        {"x": ["inv-0", "inv-1"], "r": records, "o": [kept, deleted], "c": ["c-kept", "c-gone"]},
    )

    report = push_customers(con, hub, object_type, "run-1")

    assert (report.companies_updated, report.associations_created) == (1, 1)
    assert len(report.refused) == 2
    association_line, company_line = sorted(report.refused_lines)
    assert company_line.startswith(f"update of company {deleted} for Xero contact c-gone: ")
    assert association_line.startswith(f"associating invoice inv-1 with company {deleted}: ")
    assert all("deleted or merged in HubSpot" in line for line in report.refused_lines)
    assert _results(con) == [
        ("association", "CREATE", "refused", deleted, None, "OBJECT_NOT_FOUND"),
        ("association", "CREATE", "written", kept, None, None),
        ("company", "UPDATE", "refused", None, deleted, "OBJECT_NOT_FOUND"),
        ("company", "UPDATE", "written", None, kept, None),
    ]
    archived = dict(
        con.execute("select hs_object_id, archived from raw_hubspot.companies").fetchall()
    )
    assert archived == {kept: False, deleted: True}
    assert con.execute(
        "select to_object_id from raw_hubspot.invoice_associations order by 1"
    ).fetchall() == [(kept,)]
    assert emulator.associated(OBJECT, records[0], "companies") == {kept}


def test_a_refused_customer_write_ends_the_push_with_exit_3_naming_it() -> None:
    from reverse_etl.core.errors import EXIT_REJECTED, RejectedRecordsError
    from reverse_etl.push.report import CustomerOutcome, PushReport

    refused = CustomerOutcome(
        kind="association",
        action="CREATE",
        outcome="refused",
        xero_invoice_id="x-1",
        invoice_number="INV-[/b]7",
        to_object_type="contacts",
        to_object_id="55",
        category="VALIDATION_ERROR",
        message="Association limit of 10000 reached.",
    )
    report = PushReport(run_id="r", customers_pushed=True, refused=[refused])
    assert report.rejected == 0 and report.customers_refused == 1
    assert report.as_dict()["customers_refused"][0]["invoice_number"] == "INV-[/b]7"
    try:
        report.raise_for_rejections()
    except RejectedRecordsError as exc:
        assert exc.exit_code == EXIT_REJECTED
        assert "associating invoice INV-[/b]7 with contact 55: VALIDATION_ERROR" in str(exc)
        assert "sync_log.customer_results" in str(exc)
    else:
        raise AssertionError("a refused customer write must not exit 0")
    assert PushReport(run_id="r", customers_pushed=True).raise_for_rejections() is None

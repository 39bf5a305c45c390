"""The customers push (company balances, associations) on both warehouse engines (issue 22):
what HubSpot confirmed is written back into the snapshot and every outcome logged, the same on
the DuckDB file and on a real PostgreSQL server."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest

from benchmarks.suite_associations import DDL
from reverse_etl.core.settings import Settings
from reverse_etl.core.warehouse import Connection
from reverse_etl.push.customers import push_customers
from reverse_etl.push.schema import ensure_schema
from tests.fixtures.hubspot import HubSpotSandbox
from tests.push.conftest import make_client

OBJECT = "xero_invoice"
COMPANY_ACTION_COLUMNS = (
    "action",
    "hs_company_id",
    "contact_id",
    "changed_properties",
    "name",
    "domain",
    "xero_contact_id",
    "xero_amount_outstanding",
    "xero_amount_overdue",
    "xero_open_invoices",
    "xero_last_payment_date",
)
ASSOCIATION_ACTION_COLUMNS = (
    "action",
    "xero_invoice_id",
    "invoice_hs_object_id",
    "to_object_type",
    "to_object_id",
    "xero_contact_id",
    "match_rule",
)


@pytest.fixture
def con(engine_settings: Settings) -> Iterator[Connection]:
    """The warehouse (either engine) with the raw HubSpot tables the push writes back into."""
    engine_settings.warehouse_path.parent.mkdir(parents=True, exist_ok=True)
    connection = engine_settings.warehouse.connect()
    connection.execute(DDL)
    yield connection
    connection.close()


def _table(con: Connection, name: str, columns: tuple[str, ...], rows: list[dict[str, Any]]):
    types = {"changed_properties": "varchar[]"}
    con.execute(
        f"create table reverse_etl.{name} ("
        + ", ".join(f"{c} {types.get(c, 'varchar')}" for c in columns)
        + ")"
    )
    con.executemany(
        f"insert into reverse_etl.{name} values ({', '.join('?' for _ in columns)})",
        [[row.get(c) for c in columns] for row in rows],
    )


def test_companies_updated_and_created_are_written_back_and_stamped(
    hubspot_sandbox: HubSpotSandbox, engine_settings: Settings, con: Connection
) -> None:
    hub = make_client(engine_settings)
    object_type = ensure_schema(engine_settings, client=hub).object_type_id
    (existing,) = hubspot_sandbox.emulator.seed("companies", [{"name": "Existing"}])
    con.execute(
        "insert into raw_hubspot.companies (hs_object_id, name, hs_lastmodifieddate, archived) "
        "values (?, 'Existing', '2020-01-01T00:00:00Z', false)",
        [existing],
    )
    _table(
        con,
        "hubspot_company_actions",
        COMPANY_ACTION_COLUMNS,
        [
            {
                "action": "UPDATE",
                "hs_company_id": existing,
                "contact_id": "c-1",
                "changed_properties": ["xero_contact_id", "xero_amount_outstanding"],
                "xero_contact_id": "c-1",
                "xero_amount_outstanding": "12.5",
            },
            {
                "action": "CREATE",
                "contact_id": "c-2",
                "changed_properties": ["name", "domain", "xero_contact_id"],
                "name": "New Co",
                "domain": "new.example",
                "xero_contact_id": "c-2",
            },
        ],
    )

    report = push_customers(con, hub, object_type, "run-1")

    assert (report.companies_updated, report.companies_created) == (1, 1)
    companies = {r["properties"]["name"]: r for r in hubspot_sandbox.emulator.records("companies")}
    assert companies["Existing"]["properties"]["xero_amount_outstanding"] == "12.5"
    created = companies["New Co"]["id"]
    stamps = con.execute(
        "select xero_contact_id, hs_company_id, stamped_at is not null, _dlt_load_id "
        "from raw_hubspot.company_stamps order by xero_contact_id"
    ).fetchall()
    assert stamps == [("c-1", existing, True, "push:run-1"), ("c-2", created, True, "push:run-1")]
    snapshot = {
        row[0]: row[1:]
        for row in con.execute(
            "select hs_object_id, name, domain, xero_contact_id, xero_amount_outstanding, "
            "hs_lastmodifieddate, archived from raw_hubspot.companies"
        ).fetchall()
    }
    assert snapshot[existing][:4] == ("Existing", None, "c-1", "12.5")
    assert snapshot[created][:4] == ("New Co", "new.example", "c-2", None)
    for record in companies.values():  # HubSpot's updatedAt, so the next snapshot knows ours
        assert snapshot[record["id"]][4] == datetime.fromisoformat(record["updatedAt"])
    assert snapshot[created][5] is False
    assert con.execute(
        "select kind, action, outcome, count(*) from sync_log.customer_results "
        "group by kind, action, outcome order by action"
    ).fetchall() == [("company", "CREATE", "written", 1), ("company", "UPDATE", "written", 1)]


def test_refusals_logged_once_and_a_deleted_company_archived_on_both_engines(
    hubspot_sandbox: HubSpotSandbox, engine_settings: Settings, con: Connection
) -> None:
    emulator = hubspot_sandbox.emulator
    hub = make_client(engine_settings)
    object_type = ensure_schema(engine_settings, client=hub).object_type_id
    records = emulator.seed(object_type, [{"xero_invoice_id": f"inv-{n}"} for n in range(3)])
    kept, deleted = emulator.seed("companies", [{"name": "Kept"}, {"name": "Deleted"}])
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
    _table(
        con,
        "hubspot_company_actions",
        COMPANY_ACTION_COLUMNS,
        [
            {
                "action": "UPDATE",
                "hs_company_id": company,
                "contact_id": contact,
                "changed_properties": ["xero_amount_outstanding"],
                "xero_contact_id": contact,
                "xero_amount_outstanding": amount,
            }
            for company, contact, amount in ((kept, "c-kept", "1.00"), (deleted, "c-gone", "2"))
        ],
    )
    _table(
        con,
        "hubspot_association_actions",
        ASSOCIATION_ACTION_COLUMNS,
        [
            {
                "action": "CREATE",
                "xero_invoice_id": f"inv-{n}",
                "invoice_hs_object_id": records[n],
                "to_object_type": "companies",
                "to_object_id": to,
                "xero_contact_id": contact,
                "match_rule": "4",
            }
            for n, to, contact in ((0, kept, "c-kept"), (1, deleted, "c-gone"), (2, "404404", None))
        ],
    )

    report = push_customers(con, hub, object_type, "run-1")

    assert (report.companies_updated, report.associations_created) == (1, 1)
    assert len(report.refused) == 3
    logged = con.execute(
        "select kind, action, outcome, to_object_id, hs_company_id, error_category "
        "from sync_log.customer_results"
    ).fetchall()
    assert sorted(logged, key=str) == sorted(
        [
            ("association", "CREATE", "refused", "404404", None, "OBJECT_NOT_FOUND"),
            ("association", "CREATE", "refused", deleted, None, "OBJECT_NOT_FOUND"),
            ("association", "CREATE", "written", kept, None, None),
            ("company", "UPDATE", "refused", None, deleted, "OBJECT_NOT_FOUND"),
            ("company", "UPDATE", "written", None, kept, None),
        ],
        key=str,
    )
    archived = dict(
        con.execute("select hs_object_id, archived from raw_hubspot.companies").fetchall()
    )
    assert archived == {kept: False, deleted: True}
    remembered = con.execute(
        "select invoice_hs_object_id, to_object_id, _dlt_load_id "
        "from raw_hubspot.invoice_associations order by 1"
    ).fetchall()
    assert remembered == [(records[0], kept, "push:run-1")]
    assert emulator.associated(OBJECT, records[0], "companies") == {kept}

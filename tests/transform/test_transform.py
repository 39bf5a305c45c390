"""`run_transform` on a real DuckDB file with real dbt: the actions HubSpot will receive.

One warehouse holds every case a sync meets (unchanged records echoed in other spellings, a
hand edit in HubSpot, a new invoice, a payment, a void, a draft, a bill, an archived record);
it is built once per module and each test asserts one outcome a user would notice.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pytest

from reverse_etl.core.build_plan import FULL
from reverse_etl.core.errors import TransformError
from reverse_etl.core.settings import Settings, load_settings
from reverse_etl.hubspot.properties import INVOICE_PROPERTIES, PROPERTY_NAMES
from reverse_etl.transform import DBT_PROJECT_DIR, TransformReport, run_transform
from tests.fixtures.raw_finance import payment
from tests.fixtures.raw_warehouse import RawWarehouse, hubspot_echo, invoice, line_item

UNCHANGED = "a0000000-0000-4000-8000-000000000001"
UNCHANGED_OTHER_SPELLING = "a0000000-0000-4000-8000-000000000002"
DRIFTED = "b0000000-0000-4000-8000-000000000003"
NEW = "c0000000-0000-4000-8000-000000000004"
PAID = "d0000000-0000-4000-8000-000000000005"
VOIDED = "e0000000-0000-4000-8000-000000000006"
DRAFT = "f0000000-0000-4000-8000-000000000007"
VOIDED_NEVER_SYNCED = "f0000000-0000-4000-8000-000000000008"
BILL = "f0000000-0000-4000-8000-000000000009"
FOREIGN_INCLUSIVE = "c0000000-0000-4000-8000-000000000010"
ARCHIVED_IN_HUBSPOT = "c0000000-0000-4000-8000-000000000011"
GLOBEX = "c0000000-0000-4000-8000-0000000000ee"


def _settings(path: Path) -> Settings:
    return load_settings({"WAREHOUSE_PATH": str(path)}, dotenv_path=None)


def _at(day: int, hour: int = 9, month: int = 11) -> datetime:
    return datetime(2026, month, day, hour, 0, tzinfo=UTC)


def _load_scenario(warehouse: RawWarehouse) -> None:
    unchanged = invoice(UNCHANGED)
    warehouse.add_invoice(unchanged)
    warehouse.add_hubspot_record("101", **hubspot_echo(unchanged))

    other = invoice(UNCHANGED_OTHER_SPELLING, reference="PO-7")
    warehouse.add_invoice(other)
    echo = hubspot_echo(other)
    echo.update(
        total="110",  # "110" for 110.00
        sub_total="100.0",
        amount_paid="0.00",
        invoice_date="2026-11-01",  # ISO where the other record has epoch ms
        due_date="1794700800000",  # 2026-11-15 as epoch ms
        xero_updated_at=str(int(other["updated_date_utc"].timestamp() * 1000)),  # epoch ms
        fully_paid_on_date="",  # '' = null
    )
    warehouse.add_hubspot_record("102", **echo)

    drifted = invoice(DRIFTED)
    warehouse.add_invoice(drifted)
    warehouse.add_hubspot_record("103", **{**hubspot_echo(drifted), "contact_name": "ACME (typo)"})

    warehouse.add_invoice(invoice(NEW, invoice_number="INV-NEW"))

    authorised = invoice(PAID, contact_id=GLOBEX, contact_name="Globex", updated_date_utc=_at(1))
    paid = dict(
        authorised,
        status="PAID",
        amount_due=Decimal("0"),
        amount_paid=Decimal("110.00"),
        fully_paid_on_date=date(2026, 11, 10),
        updated_date_utc=_at(10, 14),
    )
    unpaid = {
        "amount_due": Decimal("110.00"),
        "amount_paid": Decimal("0"),
        "fully_paid_on_date": None,
    }
    warehouse.add_invoice(
        paid,
        versions=[
            {**unpaid, "status": "DRAFT", "updated_date_utc": _at(30, month=10)},
            {**unpaid, "status": "AUTHORISED", "updated_date_utc": _at(1)},
            {**unpaid, "status": "AUTHORISED", "reference": "late", "updated_date_utc": _at(2)},
            {
                **unpaid,
                "status": "AUTHORISED",
                "amount_due": Decimal("50.00"),
                "amount_paid": Decimal("60.00"),
                "updated_date_utc": _at(5),
            },
        ],
    )
    warehouse.add_hubspot_record("105", **hubspot_echo(authorised))
    # The payments behind those amounts: 60.00 on 5 November, the rest on the 10th.
    warehouse.add_finance_row("payments", payment("p-1", PAID, date(2026, 11, 5), "60.00"))
    warehouse.add_finance_row("payments", payment("p-2", PAID, date(2026, 11, 10), "50.00"))

    active = invoice(VOIDED)
    voided = dict(active, status="VOIDED", amount_due=Decimal("0"), updated_date_utc=_at(12))
    warehouse.add_invoice(voided, versions=[{"status": "AUTHORISED"}])
    warehouse.add_hubspot_record("106", **hubspot_echo(active))

    warehouse.add_invoice(invoice(DRAFT, status="DRAFT"))
    warehouse.add_invoice(invoice(VOIDED_NEVER_SYNCED, status="VOIDED", amount_due=Decimal("0")))
    warehouse.add_invoice(invoice(BILL, invoice_type="ACCPAY"))

    # Tax-inclusive lines in US dollars: 0.1 + 0.2 style amounts that a float would spoil.
    warehouse.add_invoice(
        invoice(
            FOREIGN_INCLUSIVE,
            line_amount_types="Inclusive",
            currency_code="USD",
            currency_rate=Decimal("1.250000"),
            sub_total=Decimal("1000.30"),
            total_tax=Decimal("200.06"),
            total=Decimal("1200.36"),
            amount_due=Decimal("1200.36"),
        ),
        line_items=[
            line_item(line_amount=Decimal("600.12"), tax_amount=Decimal("100.02")),
            line_item(line_amount=Decimal("600.24"), tax_amount=Decimal("100.04")),
        ],
    )

    archived = invoice(ARCHIVED_IN_HUBSPOT)
    warehouse.add_invoice(archived)
    warehouse.add_hubspot_record("107", archived=True, **hubspot_echo(archived))


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, TransformReport]]:
    path = tmp_path_factory.mktemp("transform") / "warehouse" / "invoices.duckdb"
    with RawWarehouse(path) as warehouse:
        _load_scenario(warehouse)
    # the full scope: CI runs dbt's unit tests here (a sync's builds leave them out)
    report = run_transform(
        _settings(path), scope=FULL, progress=lambda *event: PROGRESS.append(event)
    )
    yield path, report


PROGRESS: list[tuple[str, int, int]] = []


def _query(path: Path, sql: str) -> list[dict[str, Any]]:
    with duckdb.connect(str(path), read_only=True) as con:
        cursor = con.execute(sql)
        names = [column[0] for column in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def _actions(path: Path) -> dict[str, dict[str, Any]]:
    rows = _query(path, "select * from reverse_etl.hubspot_invoice_actions")
    return {row["xero_invoice_id"]: row for row in rows}


def test_report_counts_models_and_tests(built: tuple[Path, TransformReport]) -> None:
    _, report = built
    assert report.models == 39  # 25 + the customers models (issue 13): 4 staging, 5 reverse_etl;
    # + stg_xero__credit_versions, int_credit_allocations, hubspot_unexplained_invoices (issue 20)
    # + int_changed_invoices (issue 19: what the incremental marts rebuild)
    # + int_hubspot_changed_invoices (issue 19: what the incremental reverse_etl models compare)
    assert report.tests > 50 and report.unit_tests >= 5
    assert report.warnings == 0
    assert re.match(
        r"dbt build \(full\): 39 models built, \d+ data tests and \d+ unit tests",
        report.summary(),
    )


def test_progress_reports_each_model_and_test_as_dbt_finishes_it(
    built: tuple[Path, TransformReport],
) -> None:
    _, report = built
    assert any(what.startswith("model ") and "fct_invoices" in what for what, _, _ in PROGRESS)
    assert sum(1 for what, _, _ in PROGRESS if what.startswith("test ")) >= report.tests
    assert all(0 < index <= total for _, index, total in PROGRESS)


def test_passing_tests_leave_no_failure_views_or_staging_joins(
    built: tuple[Path, TransformReport],
) -> None:
    """Analysts browse no test_failures clutter; the line items' join lives in intermediate."""
    path, report = built
    schemas = {
        row["schema_name"] for row in _query(path, "select schema_name from duckdb_schemas()")
    }
    assert "dbt_test_failures" not in schemas and "test_failures" not in schemas
    staging = {
        row["column_name"]
        for row in _query(
            path,
            "select column_name from information_schema.columns "
            "where table_name = 'stg_xero__invoice_line_items'",
        )
    }
    assert "invoice_id" not in staging and "invoice_dlt_row_id" in staging
    lines = _query(
        path, "select count(distinct invoice_id) as n from intermediate.int_invoice_line_items"
    )
    assert lines[0]["n"] > 0
    comment = _query(
        path,
        "select comment from duckdb_tables() where table_name = 'hubspot_invoice_actions'",
    )
    assert comment == [{"comment": report.invocation_id}]


def test_exactly_the_expected_actions(built: tuple[Path, TransformReport]) -> None:
    path, _ = built
    actions = _actions(path)
    assert {key: row["action"] for key, row in actions.items()} == {
        DRIFTED: "UPDATE",
        NEW: "INSERT",
        PAID: "UPDATE",
        VOIDED: "UPDATE",
        FOREIGN_INCLUSIVE: "INSERT",
        ARCHIVED_IN_HUBSPOT: "INSERT",
    }


def test_unchanged_records_get_no_action_whatever_spelling_hubspot_echoes(
    built: tuple[Path, TransformReport],
) -> None:
    path, _ = built
    actions = _actions(path)
    assert UNCHANGED not in actions
    assert UNCHANGED_OTHER_SPELLING not in actions


def test_hand_edit_in_hubspot_is_put_back(built: tuple[Path, TransformReport]) -> None:
    path, _ = built
    action = _actions(path)[DRIFTED]
    assert action["hs_object_id"] == "103"
    assert action["changed_properties"] == ["contact_name"]
    assert action["contact_name"] == "Acme Ltd"


def test_new_invoice_is_inserted_with_every_value_set(built: tuple[Path, TransformReport]) -> None:
    path, _ = built
    action = _actions(path)[NEW]
    assert action["hs_object_id"] is None
    assert action["invoice_number"] == "INV-NEW"
    # Every property with a value; reference and fully_paid_on_date are null.
    assert action["changed_properties"] == [
        name for name in PROPERTY_NAMES if name not in ("reference", "fully_paid_on_date")
    ]


def test_paid_invoice_is_updated_and_reported_as_status_change(
    built: tuple[Path, TransformReport],
) -> None:
    path, _ = built
    action = _actions(path)[PAID]
    assert action["hs_object_id"] == "105"
    assert action["changed_properties"] == [
        "status",
        "amount_due",
        "amount_paid",
        "fully_paid_on_date",
        "xero_updated_at",
    ]
    assert (action["status"], action["amount_due"], action["amount_paid"]) == ("PAID", "0", "110")
    assert action["fully_paid_on_date"] == "2026-11-10"
    assert action["xero_updated_at"] == "2026-11-10T14:00:00.000Z"


def test_status_changes_are_paid_and_voided_only(built: tuple[Path, TransformReport]) -> None:
    path, _ = built
    rows = _query(path, "select * from reverse_etl.invoice_status_changes order by xero_invoice_id")
    assert [
        (r["xero_invoice_id"], r["hs_object_id"], r["previous_status"], r["new_status"])
        for r in rows
    ] == [(PAID, "105", "AUTHORISED", "PAID"), (VOIDED, "106", "AUTHORISED", "VOIDED")]
    paid = rows[0]
    assert paid["invoice_number"] == invoice(PAID)["invoice_number"]
    assert paid["contact_name"] == "Globex"
    assert (paid["currency_code"], str(paid["total"]), str(paid["amount_due"])) == (
        "GBP",
        "110.00",
        "0.00",
    )
    assert paid["xero_updated_at"] == _at(10, 14)


def test_voided_invoice_with_a_record_is_updated_not_dropped(
    built: tuple[Path, TransformReport],
) -> None:
    path, _ = built
    action = _actions(path)[VOIDED]
    assert action["status"] == "VOIDED"
    assert action["changed_properties"] == ["status", "amount_due", "xero_updated_at"]


def test_drafts_bills_and_unsynced_voided_invoices_are_not_mirrored(
    built: tuple[Path, TransformReport],
) -> None:
    path, _ = built
    mirrored = {
        r["xero_invoice_id"]
        for r in _query(path, "select xero_invoice_id from reverse_etl.hubspot_invoices_desired")
    }
    assert mirrored.isdisjoint({DRAFT, VOIDED_NEVER_SYNCED, BILL})
    assert VOIDED in mirrored


def test_desired_table_has_exactly_the_hubspot_properties(
    built: tuple[Path, TransformReport],
) -> None:
    path, _ = built
    with duckdb.connect(str(path), read_only=True) as con:
        desired = con.execute("select * from reverse_etl.hubspot_invoices_desired limit 0")
        assert [(c[0], str(c[1])) for c in desired.description] == [
            (name, "VARCHAR") for name in PROPERTY_NAMES
        ]
        actions = con.execute("select * from reverse_etl.hubspot_invoice_actions limit 0")
        assert [c[0] for c in actions.description] == [
            "xero_invoice_id",
            "action",
            "hs_object_id",
            "changed_properties",
            *PROPERTY_NAMES[1:],
        ]
        assert str(actions.description[3][1]) == "VARCHAR[]"


def test_dbt_property_list_matches_the_python_definition() -> None:
    macro = (DBT_PROJECT_DIR / "macros" / "hubspot_invoice_properties.sql").read_text()
    pairs = re.findall(r'\{"name": "(\w+)", "type": "(\w+)"\}', macro)
    assert pairs == [(spec.name, spec.type) for spec in INVOICE_PROPERTIES]


def test_values_are_in_hubspot_formats_without_float_noise(
    built: tuple[Path, TransformReport],
) -> None:
    path, _ = built
    action = _actions(path)[FOREIGN_INCLUSIVE]
    assert (action["sub_total"], action["total_tax"], action["total"]) == (
        "1000.3",
        "200.06",
        "1200.36",
    )
    assert action["currency_rate"] == "1.25"
    assert (action["invoice_date"], action["due_date"]) == ("2026-11-01", "2026-11-15")
    assert action["xero_updated_at"] == "2026-11-01T09:30:00.123Z"
    assert action["xero_url"] == (
        f"https://go.xero.com/AccountsReceivable/View.aspx?InvoiceID={FOREIGN_INCLUSIVE}"
    )


def test_current_invoices_mart(built: tuple[Path, TransformReport]) -> None:
    path, _ = built
    rows = _query(
        path,
        "select * from marts.fct_invoices "
        f"where invoice_id in ('{UNCHANGED}', '{FOREIGN_INCLUSIVE}')",
    )
    by_id = {row["invoice_id"]: row for row in rows}
    today = datetime.now(UTC).date()
    assert by_id[UNCHANGED]["days_overdue"] == max((today - date(2026, 11, 15)).days, 0)
    assert by_id[FOREIGN_INCLUSIVE]["total_in_base_currency"] == Decimal("960.29")
    assert by_id[FOREIGN_INCLUSIVE]["line_item_count"] == 2


def test_status_history_from_versions(built: tuple[Path, TransformReport]) -> None:
    path, _ = built
    rows = _query(
        path,
        "select from_status, to_status, changed_at from marts.fct_invoice_status_history "
        f"where invoice_id = '{PAID}' order by transition_number",
    )
    assert [(r["from_status"], r["to_status"], r["changed_at"]) for r in rows] == [
        (None, "DRAFT", _at(30, month=10)),
        ("DRAFT", "AUTHORISED", _at(1)),
        # Dated by the payment that cleared it (10 November), not by when the sync saw it.
        ("AUTHORISED", "PAID", datetime(2026, 11, 10, tzinfo=UTC)),
    ]


def test_what_a_customer_owed_on_a_date(built: tuple[Path, TransformReport]) -> None:
    path, _ = built

    def owed(day: date) -> Decimal | None:
        rows = _query(
            path,
            "select sum(amount_due) as owed from marts.fct_invoice_balances "
            f"where contact_id = '{GLOBEX}' and valid_from <= date '{day.isoformat()}' "
            f"and (valid_to is null or date '{day.isoformat()}' < valid_to)",
        )
        return rows[0]["owed"]

    assert owed(date(2026, 10, 31)) is None  # still a draft
    assert owed(date(2026, 11, 3)) == Decimal("110")
    assert owed(date(2026, 11, 5)) == Decimal("50")  # part-paid that day
    assert owed(date(2026, 11, 9)) == Decimal("50")
    assert owed(date(2026, 11, 10)) is None  # paid in full


def test_warehouse_reopens_read_write_in_the_same_process(
    built: tuple[Path, TransformReport],
) -> None:
    """The push stage opens the file with duckdb.connect right after run_transform.

    Without closing dbt-duckdb's process-wide instance, a read-only connect fails here with
    "Can't open a connection to same database file with a different configuration".
    """
    path, _ = built
    with duckdb.connect(str(path), read_only=True) as con:
        assert con.execute("select count(*) from reverse_etl.invoice_status_changes").fetchone()
    with duckdb.connect(str(path)) as con:
        con.execute("create schema if not exists sync_log")
        con.execute("create or replace table sync_log.probe as select 1 as ok")
        assert con.execute("select count(*) from reverse_etl.hubspot_invoice_actions").fetchone()


def test_empty_raw_tables_build(tmp_path: Path) -> None:
    path = tmp_path / "empty.duckdb"
    RawWarehouse(path).close()
    report = run_transform(_settings(path))
    assert report.models == 39  # 25 + the customers models (issue 13): 4 staging, 5 reverse_etl;
    # + stg_xero__credit_versions, int_credit_allocations, hubspot_unexplained_invoices (issue 20)
    # + int_changed_invoices (issue 19: what the incremental marts rebuild)
    # + int_hubspot_changed_invoices (issue 19: what the incremental reverse_etl models compare)
    # dbt writes its artefacts and logs inside dbt_project/, never into the caller's cwd.
    assert not (Path.cwd() / "logs").exists() and not (Path.cwd() / "target").exists()
    assert _query(path, "select count(*) as n from reverse_etl.hubspot_invoice_actions") == [
        {"n": 0}
    ]


def test_failing_dbt_test_names_the_test(tmp_path: Path) -> None:
    path = tmp_path / "broken.duckdb"
    with RawWarehouse(path) as warehouse:
        warehouse.add_invoice(invoice(UNCHANGED, amount_due=Decimal("99.00")))
    with pytest.raises(TransformError) as raised:
        run_transform(_settings(path))
    message = str(raised.value)
    assert "assert_amount_due_is_total_less_paid_and_credited" in message
    assert "1 failing row, e.g. {invoice_id=" + UNCHANGED in message
    # only the failing test's rows stay browsable, in one schema
    views = _query(path, "select schema_name, view_name from duckdb_views() where not internal")
    failure_views = [v["view_name"] for v in views if v["schema_name"] == "dbt_test_failures"]
    assert failure_views == ["assert_amount_due_is_total_less_paid_and_credited"]
    # dbt skipped the models downstream of the failing test: nothing was built to push.
    with duckdb.connect(str(path)) as con:
        tables = con.execute(
            "select table_name from information_schema.tables where table_schema = 'reverse_etl'"
        ).fetchall()
    assert tables == []


def test_missing_warehouse_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(TransformError, match="does not exist: run `invoice-sync extract` first"):
        run_transform(_settings(tmp_path / "nowhere.duckdb"))


def test_mirroring_everything_builds_and_widens_the_actions(tmp_path: Path) -> None:
    """The policy's environment variables switched on (bills, drafts, voided and deleted): the
    project still builds — every unit test pins the vars it depends on — and more invoices
    are mirrored. The environment, not dbt_project.yml, decides (settings.MirroringPolicy)."""
    path = tmp_path / "warehouse" / "invoices.duckdb"
    with RawWarehouse(path) as warehouse:
        _load_scenario(warehouse)
    settings = load_settings(
        {
            "WAREHOUSE_PATH": str(path),
            "HUBSPOT_INVOICE_TYPES": "ACCREC, ACCPAY",
            "HUBSPOT_INCLUDE_DRAFTS": "true",
            "HUBSPOT_INCLUDE_VOIDED": "yes",
        },
        dotenv_path=None,
    )
    run_transform(settings)
    widened = _query(path, "select count(*) as n from reverse_etl.hubspot_invoices_desired")
    invoices = _query(path, "select count(*) as n from marts.fct_invoices")
    assert widened == invoices


def test_hand_run_dbt_reads_the_policy_from_the_same_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`dbt build` by hand (no --vars but the warehouse) follows HUBSPOT_INCLUDE_DRAFTS as the
    sync does, instead of a default of its own that the next sync would silently revert."""
    import json

    from dbt.cli.main import dbtRunner

    from reverse_etl.transform import release_duckdb

    path = tmp_path / "warehouse" / "invoices.duckdb"
    with RawWarehouse(path) as warehouse:
        _load_scenario(warehouse)
    monkeypatch.setenv("HUBSPOT_INCLUDE_DRAFTS", "true")
    args = ["build", "--select", "+hubspot_invoices_desired", "--exclude", "test_type:data"]
    args += ["--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR)]
    args += ["--vars", json.dumps({"warehouse_path": str(path)}), "--log-level", "none"]
    try:
        result = dbtRunner().invoke(args)
    finally:
        release_duckdb()
    assert result.success, result.exception
    desired = {
        row["xero_invoice_id"]
        for row in _query(path, "select xero_invoice_id from reverse_etl.hubspot_invoices_desired")
    }
    assert DRAFT in desired

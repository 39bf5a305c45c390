"""The finance marts on a small, hand-checked ledger, and the README's analyst queries run
against them (each answer worked out by hand below, not read back from the marts).

One organisation in London (GBP), `as_of_date` fixed at 2026-11-30:

- Acme (contact renamed "Acme Holdings" in Xero; its invoices still say "Acme Ltd"):
  A1 1,100.00 dated 1 Aug, due 31 Aug, 600.00 paid 15 Sep → 500.00 owed, 91 days overdue;
  A2 220.00 dated 10 Sep, due 10 Oct, paid 200.00 on 5 Oct and 20.00 on 20 Oct (10 days late);
  V1 999.00 voided.
- Globex, in USD at 1.25 USD per GBP: G1 1,200.36 dated 1 Nov, due 15 Nov, 100.36 credited on
  10 Nov → 1,100.00 owed (880.00 GBP, 15 days overdue); G2 500.00 dated 20 Sep, due 20 Dec.
- A bill of 330.00 from a supplier (never a receivable).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import duckdb
import pytest

from reverse_etl.core.settings import load_settings
from reverse_etl.transform import TransformReport, run_transform
from tests.fixtures.raw_finance import allocation, contact, organisation, payment
from tests.fixtures.raw_warehouse import RawWarehouse, invoice, line_item

README = Path(__file__).resolve().parents[2] / "README.md"
ACME, GLOBEX, SUPPLIER = "c-acme", "c-globex", "c-supplier"
AS_OF = "2026-11-30"


def _at(month: int, day: int, hour: int = 9) -> datetime:
    return datetime(2026, month, day, hour, 0, tzinfo=UTC)


def _add(warehouse: RawWarehouse, row: dict[str, Any], **kwargs: Any) -> None:
    lines = [line_item(line_amount=row["sub_total"], tax_amount=row["total_tax"])]
    warehouse.add_invoice(row, line_items=lines, **kwargs)


def _ledger(warehouse: RawWarehouse) -> None:
    add = warehouse.add_finance_row
    add("organisations", organisation())
    add("contacts", contact(ACME, "Acme Holdings", ar_outstanding=Decimal("450.00")))
    add("contacts", contact(GLOBEX, "Globex", ar_outstanding=Decimal("1600.00")))
    add("contacts", contact(SUPPLIER, "Paper Supplies", is_customer=False, is_supplier=True))
    acme = {"contact_id": ACME, "contact_name": "Acme Ltd"}
    _add(
        warehouse,
        invoice(
            "A1",
            invoice_number="A1",
            invoice_date=date(2026, 8, 1),
            due_date=date(2026, 8, 31),
            sub_total=Decimal("1000.00"),
            total_tax=Decimal("100.00"),
            total=Decimal("1100.00"),
            amount_paid=Decimal("600.00"),
            amount_due=Decimal("500.00"),
            updated_date_utc=_at(9, 15),
            **acme,
        ),
    )
    add("payments", payment("p-a1", "A1", date(2026, 9, 15), "600.00"))
    unpaid = {"status": "AUTHORISED", "amount_due": Decimal("220.00"), "amount_paid": Decimal("0")}
    _add(
        warehouse,
        invoice(
            "A2",
            invoice_number="A2",
            invoice_date=date(2026, 9, 10),
            due_date=date(2026, 10, 10),
            sub_total=Decimal("200.00"),
            total_tax=Decimal("20.00"),
            total=Decimal("220.00"),
            status="PAID",
            amount_paid=Decimal("220.00"),
            amount_due=Decimal("0"),
            fully_paid_on_date=date(2026, 10, 20),
            updated_date_utc=_at(10, 21),
            **acme,
        ),
        versions=[{**unpaid, "fully_paid_on_date": None, "updated_date_utc": _at(9, 10)}],
    )
    add("payments", payment("p-a2-1", "A2", date(2026, 10, 5), "200.00"))
    add("payments", payment("p-a2-2", "A2", date(2026, 10, 20), "20.00"))
    add("payments", payment("p-a2-x", "A2", date(2026, 10, 6), "220.00", status="DELETED"))
    _add(
        warehouse,
        invoice(
            "V1",
            invoice_number="V1",
            invoice_date=date(2026, 9, 1),
            status="VOIDED",
            sub_total=Decimal("999.00"),
            total_tax=Decimal("0"),
            total=Decimal("999.00"),
            amount_due=Decimal("0"),
            **acme,
        ),
    )
    usd = {
        "contact_id": GLOBEX,
        "contact_name": "Globex",
        "currency_code": "USD",
        "currency_rate": Decimal("1.25"),
    }
    _add(
        warehouse,
        invoice(
            "G1",
            invoice_number="G1",
            invoice_date=date(2026, 11, 1),
            due_date=date(2026, 11, 15),
            sub_total=Decimal("1000.30"),
            total_tax=Decimal("200.06"),
            total=Decimal("1200.36"),
            amount_credited=Decimal("100.36"),
            amount_due=Decimal("1100.00"),
            **usd,
        ),
    )
    add("allocations", allocation("CREDITNOTE", "cn-1", "G1", date(2026, 11, 10), "100.36"))
    _add(
        warehouse,
        invoice(
            "G2",
            invoice_number="G2",
            invoice_date=date(2026, 9, 20),
            due_date=date(2026, 12, 20),
            line_amount_types="NoTax",
            sub_total=Decimal("500.00"),
            total_tax=Decimal("0"),
            total=Decimal("500.00"),
            amount_due=Decimal("500.00"),
            **usd,
        ),
    )
    _add(
        warehouse,
        invoice(
            "B1",
            invoice_number="B1",
            invoice_type="ACCPAY",
            invoice_date=date(2026, 9, 1),
            sub_total=Decimal("300.00"),
            total_tax=Decimal("30.00"),
            total=Decimal("330.00"),
            amount_due=Decimal("330.00"),
            contact_id=SUPPLIER,
            contact_name="Paper Supplies",
        ),
    )


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, TransformReport]]:
    path = tmp_path_factory.mktemp("analyst") / "invoices.duckdb"
    with RawWarehouse(path) as warehouse:
        _ledger(warehouse)
    settings = load_settings({"WAREHOUSE_PATH": str(path)}, dotenv_path=None)
    yield path, run_transform(settings, dbt_vars={"as_of_date": AS_OF})


def _rows(path: Path, sql: str) -> list[dict[str, Any]]:
    with duckdb.connect(str(path), read_only=True) as con:
        cursor = con.execute(sql)
        names = [c[0] for c in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def readme_queries() -> list[str]:
    text = README.read_text()
    section = text[text.index("## What analysts can query") :]
    section = section[: section.index("\n## ", 1)]
    section = section[section.index("Questions analysts ask") :]  # after the quick-look queries
    return re.findall(r"```sql\n(.*?)```", section, flags=re.S)


def test_readme_has_the_five_analyst_queries() -> None:
    assert len(readme_queries()) == 5


def test_readme_ar_ageing_by_customer(built) -> None:
    rows = _rows(built[0], readme_queries()[0])
    assert [
        (r["contact_name"], r["overdue_1_30"], r["overdue_over_90"], r["total_outstanding"])
        for r in rows
    ] == [
        ("Globex", Decimal("880.00"), Decimal("0.00"), Decimal("1280.00")),
        ("Acme Holdings", Decimal("0.00"), Decimal("500.00"), Decimal("500.00")),
    ]
    assert rows[0]["current_due"] == Decimal("400.00")
    assert {r["base_currency_code"] for r in rows} == {"GBP"}


def test_readme_dso(built) -> None:
    (row,) = _rows(built[0], readme_queries()[1])
    # Receivables 500.00 + 880.00 + 400.00; credit sales since 1 Sep: A2 220.00, G2 400.00,
    # G1 960.29 (1,200.36 / 1.25 = 960.288, half-even to the cent).
    assert (row["as_of_date"], row["receivables"], row["credit_sales"]) == (
        date(2026, 11, 30),
        Decimal("1780.00"),
        Decimal("1580.29"),
    )
    assert round(row["dso_days"], 1) == 101.4


def test_readme_owed_on_a_past_date(built) -> None:
    rows = _rows(built[0], readme_queries()[2])
    # On 30 September: A1 500.00 (after the 600.00 payment) and A2 220.00 (not yet paid);
    # G2 500 USD; not the voided invoice, not the bill, not G1 (dated later).
    assert [(r["contact_id"], r["owed"], r["owed_in_base_currency"]) for r in rows] == [
        (ACME, Decimal("720"), Decimal("720.00")),
        (GLOBEX, Decimal("500"), Decimal("400.00")),
    ]


def test_readme_invoices_paid_late(built) -> None:
    rows = _rows(built[0], readme_queries()[3])
    assert [(r["invoice_number"], r["days_late"], r["paid_after_due_date"]) for r in rows] == [
        ("A2", 10, Decimal("20"))
    ]


def test_readme_revenue_by_month_in_base_currency(built) -> None:
    rows = _rows(built[0], readme_queries()[4])
    assert [(r["month"].date(), r["revenue_excluding_tax"]) for r in rows] == [
        (date(2026, 8, 1), Decimal("1000.00")),
        (date(2026, 9, 1), Decimal("600.00")),  # A2 200.00 + G2 500 USD = 400.00
        (date(2026, 11, 1), Decimal("800.24")),  # 1,000.30 USD / 1.25
    ]


def test_customers_receivables_and_the_check_against_xero(built) -> None:
    path, report = built
    rows = {r["contact_id"]: r for r in _rows(path, "select * from marts.dim_customers")}
    acme, globex = rows[ACME], rows[GLOBEX]
    assert (acme["receivables_outstanding"], acme["receivables_overdue"]) == (
        Decimal("500.00"),
        Decimal("500.00"),
    )
    assert (globex["receivables_outstanding"], globex["receivables_overdue"]) == (
        Decimal("1280.00"),
        Decimal("880.00"),
    )
    assert acme["last_payment_date"] == date(2026, 10, 20)  # the deleted payment does not count
    # Xero adds its Balances up unconverted: Globex 1,100 + 500 USD = 1,600 agrees; Acme's
    # 450.00 does not, and the build warns about it by name.
    assert (acme["receivables_match_xero"], globex["receivables_match_xero"]) == (False, True)
    assert rows[SUPPLIER]["receivables_match_xero"] is None
    assert report.warned == ("assert_customer_receivables_match_xero",)


def test_paid_transition_is_dated_by_the_payment_in_the_organisations_zone(built) -> None:
    rows = _rows(
        built[0],
        "select from_status, to_status, is_first_status, change_source, changed_at, changed_on "
        "from marts.fct_invoice_status_history where invoice_id = 'A2' order by transition_number",
    )
    assert [(r["from_status"], r["to_status"], r["is_first_status"]) for r in rows] == [
        (None, "AUTHORISED", True),
        ("AUTHORISED", "PAID", False),
    ]
    # 20 October in London is British Summer Time: midnight there is 23:00 UTC the day before.
    assert (rows[1]["change_source"], rows[1]["changed_on"], rows[1]["changed_at"]) == (
        "PAYMENT",
        date(2026, 10, 20),
        datetime(2026, 10, 19, 23, 0, tzinfo=UTC),
    )


def test_payments_and_allocations_marts(built) -> None:
    path, _ = built
    payments = {r["payment_id"]: r for r in _rows(path, "select * from marts.fct_payments")}
    assert payments["p-a2-x"]["is_deleted"] is True
    assert payments["p-a2-2"]["days_after_due_date"] == 10
    (credit,) = _rows(path, "select * from marts.fct_credit_note_allocations")
    assert (credit["invoice_id"], credit["amount"], credit["is_deleted"]) == (
        "G1",
        Decimal("100.36"),
        False,
    )


def test_today_is_the_organisations_date(tmp_path: Path) -> None:
    """days_overdue counts to the date in the organisation's own zone, not UTC's. Kiritimati
    (UTC+14) is a day ahead of UTC from 10:00 UTC, Pago Pago (UTC−11) a day behind until 11:00
    UTC, so at any hour at least one of these two invoices is overdue by a different count
    than UTC's date would give (0 and 1)."""
    path = tmp_path / "invoices.duckdb"
    utc_today = datetime.now(UTC).date()
    cases = {
        "t-kiritimati": ("Pacific/Kiritimati", utc_today),
        "t-pago": ("Pacific/Pago_Pago", utc_today - timedelta(days=1)),
    }
    with RawWarehouse(path) as warehouse:
        for tenant, (zone, due) in cases.items():
            warehouse.add_finance_row(
                "organisations", organisation(tenant_id=tenant, timezone=zone)
            )
            warehouse.add_invoice(
                invoice(f"inv-{tenant}", tenant_id=tenant, invoice_number=tenant, due_date=due)
            )
    settings = load_settings({"WAREHOUSE_PATH": str(path)}, dotenv_path=None)
    run_transform(settings)
    rows = _rows(path, "select tenant_id, days_overdue from marts.fct_invoices")
    got = {r["tenant_id"]: r["days_overdue"] for r in rows}
    want = {
        tenant: max((datetime.now(ZoneInfo(zone)).date() - due).days, 0)
        for tenant, (zone, due) in cases.items()
    }
    assert got == want
    assert got != {"t-kiritimati": 0, "t-pago": 1}  # what UTC's date would give

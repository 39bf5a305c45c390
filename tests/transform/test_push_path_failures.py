"""A failing test of an analyst-only mart is reported, and the push still gets its tables.

The warehouse holds an invoice without a contact, as one loaded before the gate refused such
invoices (pipelines/xero/contract.py). ``fct_ar_aging_by_customer`` (analysts only: nothing
pushed depends on it) fails ``not_null`` on ``contact_id``; before issue 20 that failure
stopped every sync. Now the build reports it, with the failing rows, and builds the action
table for every invoice; a failure on the push path still stops it (test_transform.py,
``test_failing_dbt_test_names_the_test``).
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from reverse_etl.core.build_plan import DAILY
from reverse_etl.core.settings import load_settings
from reverse_etl.transform import run_transform
from tests.fixtures.raw_warehouse import RawWarehouse, invoice, line_item

GOOD = "a0000000-0000-4000-8000-000000000001"
NO_CONTACT = "b0000000-0000-4000-8000-000000000002"


def test_an_analyst_only_test_failure_is_reported_and_the_actions_are_built(
    tmp_path: Path,
) -> None:
    path = tmp_path / "legacy.duckdb"
    with RawWarehouse(path) as warehouse:
        warehouse.add_invoice(invoice(GOOD), line_items=[line_item()])
        warehouse.add_invoice(invoice(NO_CONTACT, contact_id=None), line_items=[line_item()])
    report = run_transform(load_settings({"WAREHOUSE_PATH": str(path)}, dotenv_path=None),
                           scope=DAILY)  # fmt: skip

    (failure,) = report.analyst_failures
    assert failure.startswith("test not_null_fct_ar_aging_by_customer_contact_id fail")
    assert "1 failing row" in failure
    assert "failed test(s) of analyst-only marts" in report.summary()
    # the gate's own test: one node for the warn-level required columns of stg_xero__invoices
    assert "not_null_columns_stg_xero__invoices_warn" in report.warned
    with duckdb.connect(str(path), read_only=True) as con:
        actions = con.execute(
            "select xero_invoice_id, action from reverse_etl.hubspot_invoice_actions order by 1"
        ).fetchall()
        views = con.execute(
            "select view_name from duckdb_views() where schema_name = 'dbt_test_failures'"
        ).fetchall()
    assert actions == [(GOOD, "INSERT"), (NO_CONTACT, "INSERT")]
    assert ("not_null_fct_ar_aging_by_customer_contact_id",) in views  # rows stay browsable
    with duckdb.connect(str(path), read_only=True) as con:
        warned = con.execute(
            "select null_columns, invoice_id "
            "from dbt_test_failures.not_null_columns_stg_xero__invoices_warn"
        ).fetchall()
    assert warned == [("contact_id", NO_CONTACT)]  # the column and the record, by name

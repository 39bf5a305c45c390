"""One ``not_null_columns`` node checks several required columns of a model and still names
the model, the column and the record when one is null (dbt_project/tests/generic/).

The warehouse holds an invoice whose ``tenant_id`` is null, as a load written before the
gate (pipelines/xero/contract.py) could have left it. The raw table's combined test fails on
the push path: the build stops, and the message quotes the failing row with the names of its
null columns and its invoice ID; the failure view keeps the row browsable.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from reverse_etl.core.errors import TransformError
from reverse_etl.core.settings import load_settings
from reverse_etl.transform import run_transform
from tests.fixtures.raw_warehouse import RawWarehouse, invoice, line_item

GOOD = "a0000000-0000-4000-8000-000000000001"
NO_TENANT = "b0000000-0000-4000-8000-000000000002"


def test_a_null_required_column_names_the_model_the_column_and_the_record(
    tmp_path: Path,
) -> None:
    path = tmp_path / "no_tenant.duckdb"
    with RawWarehouse(path) as warehouse:
        warehouse.add_invoice(invoice(GOOD), line_items=[line_item()])
        warehouse.add_invoice(invoice(NO_TENANT, tenant_id=None), line_items=[line_item()])
    settings = load_settings({"WAREHOUSE_PATH": str(path)}, dotenv_path=None)
    with pytest.raises(TransformError) as raised:
        run_transform(settings)
    message = str(raised.value)
    assert "test not_null_columns_raw_xero__invoices fail: 1 failing row" in message
    assert "{null_columns=tenant_id, invoice_id=" + NO_TENANT in message
    with duckdb.connect(str(path), read_only=True) as con:
        rows = con.execute(
            "select null_columns, invoice_id "
            "from dbt_test_failures.not_null_columns_raw_xero__invoices"
        ).fetchall()
    assert rows == [("tenant_id", NO_TENANT)]

"""A value Xero no longer sends, kept in the version history, must not block every sync.

Before quarantine existed, an invoice briefly ``ON_HOLD`` reached ``raw_xero.invoice_versions``
and failed an ``accepted_values`` test forever, even after Xero corrected it (issue 10, item 3):
history tests warn, the current-state contract still fails (the parser quarantines new cases).
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import duckdb

from reverse_etl.core.settings import load_settings
from reverse_etl.transform import run_transform
from tests.fixtures.raw_warehouse import RawWarehouse, invoice

CORRECTED = "a1000000-0000-4000-8000-000000000001"


def test_unknown_status_in_history_warns_and_the_sync_goes_on(tmp_path: Path) -> None:
    path = tmp_path / "warehouse.duckdb"
    paid = invoice(
        CORRECTED,
        status="PAID",
        amount_due=Decimal("0"),
        amount_paid=Decimal("110.00"),
        updated_date_utc=datetime(2026, 11, 3, 9, 0, tzinfo=UTC),
    )
    with RawWarehouse(path) as warehouse:
        warehouse.add_invoice(
            paid,
            versions=[
                {"status": "AUTHORISED", "updated_date_utc": datetime(2026, 11, 1, tzinfo=UTC)},
                {"status": "ON_HOLD", "updated_date_utc": datetime(2026, 11, 2, tzinfo=UTC)},
            ],
        )
    report = run_transform(load_settings({"WAREHOUSE_PATH": str(path)}, dotenv_path=None))
    assert report.warnings >= 1
    assert any("accepted_values" in name and "status" in name for name in report.warned)
    with duckdb.connect(str(path)) as con:
        actions = con.execute(
            "select status from reverse_etl.hubspot_invoice_actions where xero_invoice_id = ?",
            [CORRECTED],
        ).fetchall()
        history = con.execute(
            "select to_status from marts.fct_invoice_status_history where invoice_id = ? "
            "order by transition_number",
            [CORRECTED],
        ).fetchall()
    assert actions == [("PAID",)]
    assert [s for (s,) in history] == ["AUTHORISED", "ON_HOLD", "PAID"]

"""Larger portals: indexes survive save/load and batches stay O(batch), not O(records).

Speed is measured in the README numbers (``make bench`` territory), not asserted here beyond
generous bounds that only catch an accidental O(n) scan per input.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from sandbox.hubspot import HubSpotEmulator, HubSpotLimits
from tests.fixtures.hubspot import HubSpotSandbox
from tests.sandbox.hubspot.conftest import OBJECT, Api, invoice


def test_twenty_thousand_records_round_trip_and_stay_fast(
    api: Api, schema: dict[str, Any], hubspot_sandbox: HubSpotSandbox, tmp_path: Path
) -> None:
    emulator = hubspot_sandbox.emulator
    emulator.limits = HubSpotLimits.unlimited()
    emulator.seed(OBJECT, [invoice(n) for n in range(20_000)])

    started = time.perf_counter()
    for start in range(0, 1000, 100):
        rows = [invoice(n, status="PAID") for n in range(start, start + 100)]
        assert api.upsert(rows).status_code == 200
    assert time.perf_counter() - started < 5  # 10 batches; an O(n) scan per input takes minutes

    path = tmp_path / "hubspot.json"
    emulator.save(path)
    loaded = HubSpotEmulator.load(path)
    records = loaded.records(OBJECT)
    assert len(records) == 20_000
    assert sum(r["properties"]["status"] == "PAID" for r in records) == 1000
    again = loaded.store.resolve(OBJECT).find_unique("xero_invoice_id", "inv-019999")
    assert again is not None and again.props["invoice_number"] == "INV-019999"

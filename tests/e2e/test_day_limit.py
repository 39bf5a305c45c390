"""A backfill larger than Xero's day limit: several `invoice-sync sync` runs, one per day, until
every invoice is in HubSpot exactly once, with no Xero page read twice."""

from __future__ import annotations

from typer.testing import CliRunner

from reverse_etl.app.cli import app
from sandbox.xero.limits import XeroLimits
from tests.e2e.conftest import make_world
from tests.e2e.test_sync import assert_hubspot_matches_xero, expected_ids

INVOICES_ROUTE = "GET /api.xro/2.0/Invoices"


def test_backfill_over_the_day_limit_completes_over_several_runs(
    xero_sandbox, hubspot_sandbox, warehouse_path, monkeypatch
):
    world = make_world(
        xero_sandbox, hubspot_sandbox, warehouse_path, monkeypatch, invoices=450, seed=3
    )
    monkeypatch.setenv("XERO_PAGE_SIZE", "100")  # 5 pages (the last one short)
    xero_sandbox.emulator.limits = XeroLimits.for_tier(2)  # 2 calls a day
    runner = CliRunner()
    outputs, codes = [], []
    for _day in range(3):
        result = runner.invoke(app, ["sync"])
        codes.append(result.exit_code)
        outputs.append(result.output)
        xero_sandbox.clock.advance(days=1, seconds=1)

    assert codes == [75, 75, 0], outputs
    first = " ".join(outputs[0].split())  # the console wraps long lines at its width
    assert (
        f"XeroLimitStop: Xero day limit reached for organisation {world.tenant_id} after 2 "
        "page(s) this run; what was read is saved, and the next run resumes from page 3 of all."
    ) in first
    assert "Traceback" not in outputs[0]

    # each of the five pages read once, over the three days (the day limit allows no more)
    assert xero_sandbox.emulator.counters.total(INVOICES_ROUTE) == 5
    expected = expected_ids(world)
    assert set(world.hubspot_by_invoice()) == expected
    assert_hubspot_matches_xero(world, expected)  # also: one HubSpot record per invoice

"""HubSpot-side hazards of a whole sync (issue 20), end to end against the emulators: a create
whose answer is lost, a company merged in HubSpot, invoice records a person made by hand, and
a failing association-labels read."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from reverse_etl.cli import app

runner = CliRunner()
OBJECT = "xero_invoice"
COMPANIES_CREATE = "/crm/objects/2026-09/companies/batch/create"
pytestmark = pytest.mark.timeout(1800)


def sync(expected_exit: int = 0) -> str:
    result = runner.invoke(app, ["sync"])
    assert result.exit_code == expected_exit, result.output
    return result.output


def live_companies(world) -> list[dict]:
    return [r for r in world.hubspot.emulator.records("companies") if not r["archived"]]


def customers_with_invoices(world) -> set[str]:
    xero = world.xero.emulator
    contacts = {c["index"]: c["contact_id"] for c in xero.contacts(world.tenant_id)}
    return {
        contacts[i.contact]
        for i in xero.invoices(world.tenant_id)
        if i.type == "ACCREC" and i.status in ("AUTHORISED", "PAID")
    }


def test_a_company_create_whose_answer_is_lost_makes_one_company(world, monkeypatch):
    """HubSpot applies the create but the answer never arrives (a reset after the write), and
    its search index lags writes: the sync finds what was made instead of creating it again."""
    monkeypatch.setenv("HUBSPOT_CREATE_COMPANIES", "true")
    hub = world.hubspot.emulator
    hub.search_lag_seconds = 2.0
    hub.faults.add("lose_answer", method="POST", path_prefix=COMPANIES_CREATE, times=1)
    sync()
    assert not hub.faults.list(), "the create's answer was lost once"

    stamps = [r["properties"].get("xero_contact_id") for r in live_companies(world)]
    assert len(stamps) == len(set(stamps)), "no customer got a second company"
    wanted = customers_with_invoices(world)
    assert wanted and wanted <= set(stamps)
    by_route = hub.counters.snapshot()["by_route"]
    assert by_route["POST /crm/objects/2026-09/{objectType}/batch/create"] == 1, "nothing resent"
    known = {c for (c,) in world.query("select xero_contact_id from raw_hubspot.companies")}
    assert wanted <= known, "what the lost create made is written back like any create"


def test_a_404_on_the_association_labels_read_fails_that_phase_only(world):
    """The invoices are written and stay recorded; the companies phase is refused as a whole
    with one line naming the fix (exit 3); the next run, with the labels back, attaches them."""
    assert runner.invoke(app, ["setup"]).exit_code == 0
    hub = world.hubspot.emulator
    type_id = hub.store.resolve(OBJECT).object_type_id
    contact_id = next(iter(sorted(customers_with_invoices(world))))
    (company_id,) = hub.seed("companies", [{"name": "Stamped", "xero_contact_id": contact_id}])
    labels = f"/crm/associations/2026-09/{type_id}/companies/labels"
    hub.faults.add("status", status=404, method="GET", path_prefix=labels, times=None)

    output = sync(expected_exit=3)
    assert "invoice-sync setup" in output and "companies" in output
    assert "Traceback" not in output and "internal error" not in output.lower()
    desired = world.query("select count(*) from reverse_etl.hubspot_invoices_desired")[0][0]
    records = [r for r in world.hubspot_records() if not r["archived"]]
    assert desired and len(records) == desired, "the invoices were written"
    recorded = world.query(
        "select count(*) from raw_hubspot.invoice_records where not coalesce(archived, false)"
    )[0][0]
    assert recorded == desired, "and stay recorded in the warehouse"
    (status,) = world.query("select status from sync_log.runs order by started_at desc limit 1")[0]
    assert status == "partial"
    refused = world.query(
        "select count(*) from sync_log.customer_results where error_category = "
        "'ASSOCIATION_NOT_DEFINED' and to_object_type = 'companies'"
    )[0][0]
    assert refused >= 1
    mine = [r for r in records if r["properties"].get("xero_contact_id") == contact_id]
    assert mine and all(not hub.associated(OBJECT, r["id"], "companies") for r in mine)

    hub.faults.clear()
    sync()
    assert all(hub.associated(OBJECT, r["id"], "companies") == {company_id} for r in mine)

"""HubSpot-side hazards of a whole sync (issue 20), end to end against the emulators: a create
whose answer is lost, a company merged in HubSpot, invoice records a person made by hand, and
a failing association-labels read."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from reverse_etl.app.cli import app

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


def test_the_first_run_after_a_company_merge_follows_it(world):
    """The tool matched a company by name and stamped it; a person merges a duplicate into
    it (the duplicate primary) and adds another company the same hour, so HubSpot's live count
    does not drop. HubSpot makes a new company with a new id and archives both; reads of the old
    ids answer it with ``hs_merged_object_ids``. The first run after the merge follows it: the
    merged-away ids are archived at once, nothing is written to them, the invoices stay on the
    new company, and the run ends clean."""
    hub = world.hubspot.emulator
    contact_id = next(iter(sorted(customers_with_invoices(world))))
    name = world.xero.emulator.contact(contact_id)["name"]
    sync()  # the schema exists; nothing matches yet
    matched, duplicate = hub.seed("companies", [{"name": name}, {"name": f"{name} Group"}])
    sync()
    stamped = {r["id"]: r["properties"].get("xero_contact_id") for r in live_companies(world)}
    assert stamped[matched] == contact_id, "matched by name and stamped by the tool"
    mine = [
        r
        for r in world.hubspot_records()
        if r["properties"].get("xero_contact_id") == contact_id and not r["archived"]
    ]
    assert mine and all(hub.associated(OBJECT, r["id"], "companies") == {matched} for r in mine)

    survivor = hub.merge_by_hand("companies", duplicate, matched)
    hub.seed("companies", [{"name": "Unrelated Ltd"}])
    hub.counters.reset()
    output = sync()
    assert "refused" not in output.lower(), output
    live = {r["id"]: r for r in live_companies(world)}
    assert survivor in live and matched not in live and duplicate not in live
    assert live[survivor]["properties"]["xero_contact_id"] == contact_id
    assert all(hub.associated(OBJECT, r["id"], "companies") == {survivor} for r in mine)
    matches = dict(
        world.query("select contact_id, hs_company_id from reverse_etl.customer_matches")
    )
    assert matches[contact_id] == survivor
    archived = dict(world.query("select hs_object_id, archived from raw_hubspot.companies"))
    assert archived[matched] and archived[duplicate], "the merged-away ids are archived at once"
    by_route = hub.counters.snapshot()["by_route"]
    removes = sum(n for route, n in by_route.items() if route.endswith("/batch/archive"))
    assert removes == 0, "nothing is written to a merged-away id"
    lists = by_route.get("GET /crm/objects/2026-09/{objectType}", 0)
    assert lists == 0, "followed from hs_merged_object_ids, not found by listing archived ones"


def test_invoice_records_made_by_hand_are_listed_alerted_once_and_never_deleted(
    world, alert_receiver
):
    """Records no Xero invoice explains — an unknown id, an upper-case and a padded copy of a
    real one — land in reverse_etl.hubspot_unexplained_invoices, the alert and the --json
    summary; they are alerted once, and left in HubSpot."""
    sync()
    hub = world.hubspot.emulator
    real = sorted(world.hubspot_by_invoice().values(), key=lambda r: r["id"])[0]
    real_id = real["properties"]["xero_invoice_id"]
    number = real["properties"]["invoice_number"]
    made = hub.seed(
        OBJECT,
        [
            {"xero_invoice_id": "not-a-xero-invoice", "invoice_number": "BY-HAND-1"},
            {"xero_invoice_id": real_id.upper(), "invoice_number": number},
            {"xero_invoice_id": f" {real_id} ", "invoice_number": f"{number}-copy"},
        ],
    )
    before = len(alert_receiver.messages)

    result = runner.invoke(app, ["sync", "--json"])
    assert result.exit_code == 0, result.output
    listed = dict(
        world.query("select hs_object_id, reason from reverse_etl.hubspot_unexplained_invoices")
    )
    assert listed == {
        made[0]: "unknown_invoice_id",
        made[1]: "case_or_spaces",
        made[2]: "case_or_spaces",
    }
    resembles = world.query(
        "select distinct resembles_xero_invoice_id from reverse_etl.hubspot_unexplained_invoices "
        "where reason = 'case_or_spaces'"
    )
    assert resembles == [(real_id,)]
    pushed = json.loads(result.stdout)["stages"]["push"]
    assert {r["hs_object_id"] for r in pushed["unexplained_invoice_records"]} == set(made)
    text = " ".join(m["title"] + m["message"] for m in alert_receiver.messages[before:])
    assert "3 invoice record(s) in HubSpot match no Xero invoice" in text
    assert "not-a-xero-invoice" in text and f"copy of Xero invoice {number}" in text

    before = len(alert_receiver.messages)
    sync()
    assert len(alert_receiver.messages) == before, "alerted once, not every hour"
    live = {r["id"] for r in world.hubspot_records() if not r["archived"]}
    assert set(made) <= live and real["id"] in live, "never deleted"
    assert world.hubspot_by_invoice()[real_id]["id"] == real["id"], "the real one kept"

"""Issue 10 in the push: records archived in HubSpot end complete (item 1); a schema conflict
blocks every push until it is fixed, and setup's message is true (item 8)."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from reverse_etl.core.errors import HubSpotSchemaError
from reverse_etl.core.settings import Settings
from reverse_etl.push.invoices import run_push
from reverse_etl.push.schema import ensure_schema, remembered_object_type_id, schema_body
from tests.fixtures.hubspot import HubSpotSandbox
from tests.push.conftest import inserts, invoice, make_client, query, write_actions

OBJECT = "xero_invoice"


def _live(sandbox: HubSpotSandbox) -> list[dict[str, Any]]:
    return [r for r in sandbox.emulator.records(OBJECT) if not r.get("archived")]


def _upserts(sandbox: HubSpotSandbox) -> int:
    return sandbox.emulator.counters.total("POST /crm/objects/2026-09/{objectType}/batch/upsert")


def _archive(sandbox: HubSpotSandbox, record_id: str) -> None:
    answer = requests.delete(
        f"{sandbox.url}/crm/objects/2026-09/{OBJECT}/{record_id}",
        headers=sandbox.headers,
        timeout=5,
    )
    assert answer.status_code == 204


def test_an_update_of_a_record_archived_in_hubspot_ends_complete(
    hubspot_sandbox: HubSpotSandbox, settings: Settings
) -> None:
    first_rows = [{**row, "changed_properties": ["status", "total"]} for row in inserts([1, 2])]
    write_actions(settings.warehouse_path, first_rows)
    run_push(settings, client=make_client(settings))
    assert _upserts(hubspot_sandbox) == 1  # an INSERT answered new: true is not sent again
    by_invoice = {r["properties"]["xero_invoice_id"]: r["id"] for r in _live(hubspot_sandbox)}
    paid = invoice(1)["xero_invoice_id"]
    _archive(hubspot_sandbox, by_invoice[paid])
    write_actions(
        settings.warehouse_path,
        [
            {
                **invoice(1, status="PAID", amount_due="0"),
                "action": "UPDATE",
                "hs_object_id": by_invoice[paid],
                "changed_properties": ["status", "amount_due"],
            }
        ],
    )

    report = run_push(settings, client=make_client(settings))

    live = {r["properties"]["xero_invoice_id"]: r for r in _live(hubspot_sandbox)}
    assert len(live) == 2
    props = live[paid]["properties"]
    assert live[paid]["id"] != by_invoice[paid]  # HubSpot made a new record
    expected = [k for k, v in invoice(1, status="PAID", amount_due="0").items() if v]
    for name in expected:
        assert props.get(name) is not None, f"{name} missing from the new record"
    assert props["invoice_number"] == "INV-00001" and props["status"] == "PAID"
    assert report.inserted == 1 and report.updated == 0
    snapshot = query(
        settings.warehouse_path,
        "select hs_object_id, invoice_number, status from raw_hubspot.invoice_records "
        f"where xero_invoice_id = '{paid}' and not coalesce(archived, false)",
    )
    assert (live[paid]["id"], "INV-00001", "PAID") in snapshot


def test_archived_records_leave_search_and_default_lists_and_free_their_unique_value(
    hubspot_sandbox: HubSpotSandbox, settings: Settings
) -> None:
    """The emulator archives like HubSpot: out of search and the default list, listed with
    ``archived=true``, and its unique value is free, so an upsert creates a new record."""
    write_actions(settings.warehouse_path, inserts([1]))
    run_push(settings, client=make_client(settings))
    (record,) = _live(hubspot_sandbox)
    _archive(hubspot_sandbox, record["id"])
    base, headers = f"{hubspot_sandbox.url}/crm/objects/2026-09/{OBJECT}", hubspot_sandbox.headers
    listed = requests.get(base, headers=headers, timeout=5).json()["results"]
    archived = requests.get(base, params={"archived": "true"}, headers=headers, timeout=5)
    found = requests.post(
        base + "/search",
        json={"filterGroups": [], "properties": ["xero_invoice_id"], "limit": 10},
        headers=headers,
        timeout=5,
    ).json()
    assert listed == [] and found["total"] == 0
    assert [r["id"] for r in archived.json()["results"]] == [record["id"]]
    assert archived.json()["results"][0]["archived"] is True
    upsert = requests.post(
        base + "/batch/upsert",
        json={
            "inputs": [
                {
                    "idProperty": "xero_invoice_id",
                    "id": invoice(1)["xero_invoice_id"],
                    "properties": {"status": "PAID"},
                }
            ]
        },
        headers=headers,
        timeout=5,
    ).json()
    assert upsert["results"][0]["new"] is True and upsert["results"][0]["id"] != record["id"]


def test_a_schema_conflict_blocks_every_push_until_fixed_and_setup_says_what_it_did(
    hubspot_sandbox: HubSpotSandbox, settings: Settings
) -> None:
    body = schema_body(OBJECT)
    body["properties"] = [p for p in body["properties"] if p["name"] != "amount_credited"]
    for prop in body["properties"]:
        if prop["name"] == "total":
            prop.update(type="string", fieldType="text")
    client = make_client(settings)
    client.create_schema(body)

    with pytest.raises(HubSpotSchemaError) as caught:
        ensure_schema(settings, client=client)
    message = str(caught.value)
    assert "nothing was changed" not in message
    assert "added the properties amount_credited" in message
    assert "Nothing is pushed until" in message
    assert remembered_object_type_id(settings) is None

    write_actions(settings.warehouse_path, inserts([1, 2]))
    hubspot_sandbox.emulator.counters.reset()
    for _ in range(2):  # every push, not only the first
        with pytest.raises(HubSpotSchemaError, match="total is string/text"):
            run_push(settings, client=make_client(settings))
    assert (
        hubspot_sandbox.emulator.counters.total(
            "POST /crm/objects/2026-09/{objectType}/batch/upsert"
        )
        == 0
    )
    assert _live(hubspot_sandbox) == []

    # The fix the message names: archive the property; the next push proceeds by itself.
    answer = requests.delete(
        f"{hubspot_sandbox.url}/crm/properties/2026-09/{OBJECT}/total",
        headers=hubspot_sandbox.headers,
        timeout=5,
    )
    assert answer.status_code == 204
    report = run_push(settings, client=make_client(settings))
    assert report.inserted == 2
    assert sorted(float(r["properties"]["total"]) for r in _live(hubspot_sandbox)) == [16, 17]

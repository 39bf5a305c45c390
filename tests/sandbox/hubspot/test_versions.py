"""API versions in the emulator: date-versioned and numbered paths, the switch that turns the
numbered ones off, the 2026-09 required-property rules and the batch-answer switches."""

from __future__ import annotations

from typing import Any

import requests

from sandbox.hubspot import HubSpotEmulator
from tests.fixtures.hubspot import HubSpotSandbox
from tests.sandbox.hubspot.conftest import OBJECT, Api, invoice, invoice_schema


def test_every_version_serves_the_same_portal(
    api: Api, schema: dict[str, Any], hubspot_sandbox: HubSpotSandbox
) -> None:
    hubspot_sandbox.emulator.numbered_paths = True
    api.upsert([invoice(1)])
    for objects, schemas in (
        ("/crm/objects/2026-03", "/crm-object-schemas/2026-03/schemas"),
        ("/crm/objects/2026-09", "/crm-object-schemas/2026-09/schemas"),
        ("/crm/v3/objects", "/crm-object-schemas/v3/schemas"),
        ("/crm/v3/objects", "/crm/v3/schemas"),
    ):
        assert api.get(schemas).json()["results"][0]["name"] == OBJECT
        listed = api.get(f"{objects}/{OBJECT}").json()["results"]
        assert [r["properties"]["hs_object_id"] for r in listed] == [listed[0]["id"]]
    for properties in ("/crm/properties/2026-09", "/crm/properties/2026-03", "/crm/v3/properties"):
        assert api.get(f"{properties}/{OBJECT}/status").json()["type"] == "enumeration"


def test_numbered_paths_switch_off_with_404_and_back_on(
    api: Api, schema: dict[str, Any], hubspot_sandbox: HubSpotSandbox
) -> None:
    url = hubspot_sandbox.url
    for path in ("/crm/v3/objects/xero_invoice", "/crm-object-schemas/v3/schemas"):
        refused = api.get(path)
        assert refused.status_code == 404
        assert "numbered" in refused.json()["message"]
    assert api.get(f"/crm/objects/2026-09/{OBJECT}").status_code == 200

    switched = requests.post(f"{url}/_sandbox/numbered_paths", json={"enabled": True}, timeout=5)
    assert switched.json() == {"numbered_paths": True}
    assert api.get("/crm/v3/objects/xero_invoice").status_code == 200
    bad = requests.post(f"{url}/_sandbox/numbered_paths", json={"enabled": "yes"}, timeout=5)
    assert bad.status_code == 400


def test_the_constructor_default_serves_numbered_paths_like_hubspot_until_2027() -> None:
    assert HubSpotEmulator().numbered_paths
    assert not HubSpotEmulator(numbered_paths=False).numbered_paths


def test_portal_required_properties_refuse_2026_09_writes_only(
    api: Api, schema: dict[str, Any], hubspot_sandbox: HubSpotSandbox
) -> None:
    url = hubspot_sandbox.url
    rule = {"objectType": schema["objectTypeId"], "properties": ["reference"]}
    assert requests.post(f"{url}/_sandbox/required", json=rule, timeout=5).status_code == 200

    refused = api.upsert([invoice(1, reference="PO-1"), invoice(2)])
    assert refused.status_code == 400  # the whole batch, as HubSpot's 2026-09 enforcement
    body = refused.json()
    assert body["category"] == "VALIDATION_ERROR"
    assert body["errors"][0]["code"] == "REQUIRED_PROPERTY"
    assert body["errors"][0]["context"] == {"propertyName": ["reference"]}
    assert body["context"] == {"id": ["inv-000002"]}
    assert hubspot_sandbox.emulator.records(OBJECT) == []

    older = api.post(
        f"/crm/objects/2026-03/{OBJECT}/batch/upsert",
        {"inputs": [{"idProperty": "xero_invoice_id", "id": "inv-000002", "properties": {}}]},
    )
    assert older.status_code == 200  # 2026-03 ignores the portal's rules

    written = api.upsert([invoice(1, reference="PO-1")]).json()["results"][0]
    clearing = api.patch(
        f"/crm/objects/2026-09/{OBJECT}/{written['id']}", {"properties": {"reference": ""}}
    )
    assert clearing.status_code == 400  # an update may not leave it empty either
    kept = api.patch(
        f"/crm/objects/2026-09/{OBJECT}/{written['id']}", {"properties": {"total": "3"}}
    )
    assert kept.status_code == 200  # the stored value satisfies the rule

    assert requests.delete(f"{url}/_sandbox/required", timeout=5).status_code == 200
    assert api.upsert([invoice(3)]).status_code == 200


def test_batch_results_are_shuffled_and_the_echo_can_be_dropped(
    api: Api, schema: dict[str, Any], hubspot_sandbox: HubSpotSandbox
) -> None:
    rows = [invoice(n) for n in range(1, 41)]
    inputs = [
        {"idProperty": "xero_invoice_id", "id": r["xero_invoice_id"], "properties": r,
         "objectWriteTraceId": f"t{n}"}
        for n, r in enumerate(rows)
    ]  # fmt: skip
    answer = api.post(f"/crm/objects/2026-09/{OBJECT}/batch/upsert", {"inputs": inputs}).json()
    order = [r["properties"]["xero_invoice_id"] for r in answer["results"]]
    assert sorted(order) == [r["xero_invoice_id"] for r in rows] and order != sorted(order)

    url = hubspot_sandbox.url
    switches = {"shuffle": False, "echo_id_property": False}
    assert (
        requests.post(f"{url}/_sandbox/batch_answers", json=switches, timeout=5).json() == switches
    )
    again = api.post(f"/crm/objects/2026-09/{OBJECT}/batch/upsert", {"inputs": inputs}).json()
    assert [r["objectWriteTraceId"] for r in again["results"]] == [f"t{n}" for n in range(40)]
    assert all("xero_invoice_id" not in r["properties"] for r in again["results"])


def test_each_date_version_requires_its_schema_fields(api: Api) -> None:
    """ObjectSchemaEgg: 2026-03 requires allowsSensitiveProperties and
    shouldCreateSameObjectAssociation, 2026-09 allowsSensitiveProperties; v3 neither."""
    body = {k: v for k, v in invoice_schema().items() if k != "allowsSensitiveProperties"}
    for version, missing in (
        ("2026-09", "allowsSensitiveProperties"),
        ("2026-03", "allowsSensitiveProperties, shouldCreateSameObjectAssociation"),
    ):
        refused = api.post(f"/crm-object-schemas/{version}/schemas", body)
        assert refused.status_code == 400
        assert f"not set [{missing}]" in refused.json()["message"]
    created = api.post("/crm-object-schemas/2026-09/schemas", invoice_schema())
    assert created.status_code == 201

"""The emulator's core path over real HTTP: schema, upsert, read, list, search, fixture."""

from __future__ import annotations

from typing import Any

from tests.fixtures.hubspot import HubSpotSandbox
from tests.sandbox.hubspot.conftest import OBJECT, Api, invoice


def test_fixture_points_at_a_clean_sandbox(hubspot_sandbox: HubSpotSandbox, api: Api) -> None:
    env = hubspot_sandbox.env()
    assert env["HUBSPOT_BASE_URL"] == hubspot_sandbox.url
    assert env["HUBSPOT_ACCESS_TOKEN"] == "pat-sandbox-token"
    assert api.get("/crm-object-schemas/2026-09/schemas").json() == {"results": []}


def test_upsert_then_read_list_and_search(api: Api, schema: dict[str, Any]) -> None:
    first = api.upsert([invoice(1), invoice(2)])
    assert first.status_code == 200, first.text
    assert [r["new"] for r in first.json()["results"]] == [True, True]
    again = api.upsert([invoice(1, status="PAID")])
    result = again.json()["results"][0]
    assert result["new"] is False and result["properties"]["status"] == "PAID"

    read = api.post(
        f"/crm/objects/2026-09/{schema['objectTypeId']}/batch/read",
        {
            "idProperty": "xero_invoice_id",
            "inputs": [{"id": "inv-000001"}],
            "properties": ["status"],
        },
    )
    assert read.json()["results"][0]["properties"]["status"] == "PAID"

    listed = api.get(f"/crm/objects/2026-09/{OBJECT}", params={"limit": 1}).json()
    assert len(listed["results"]) == 1 and "paging" in listed

    found = api.post(
        f"/crm/objects/2026-09/{schema['fullyQualifiedName']}/search",
        {
            "filterGroups": [
                {"filters": [{"propertyName": "status", "operator": "EQ", "value": "PAID"}]}
            ]
        },
    ).json()
    assert found["total"] == 1

"""Private-app token auth: 401 without a known token, 403 MISSING_SCOPES naming the scope."""

from __future__ import annotations

from typing import Any

import requests

from tests.fixtures.hubspot import HubSpotSandbox
from tests.sandbox.hubspot.conftest import OBJECT, Api, invoice, invoice_schema


def test_missing_or_unknown_token_is_401_with_hubspots_body(
    hubspot_sandbox: HubSpotSandbox,
) -> None:
    for headers in ({}, {"Authorization": "Bearer pat-na1-not-a-token"}, {"Authorization": "x"}):
        response = requests.get(
            f"{hubspot_sandbox.url}/crm-object-schemas/2026-09/schemas", headers=headers
        )
        assert response.status_code == 401
        body = response.json()
        assert body["status"] == "error"
        assert body["category"] == "INVALID_AUTHENTICATION"
        assert body["message"].startswith("Authentication credentials not found.")
        assert body["correlationId"]


def test_token_without_a_scope_is_403_naming_it(
    hubspot_sandbox: HubSpotSandbox, api: Api, schema: dict[str, Any]
) -> None:
    hubspot_sandbox.emulator.add_token(
        "pat-read-only", scopes=["crm.schemas.custom.read", "crm.objects.custom.read"]
    )
    reader = requests.Session()
    reader.headers["Authorization"] = "Bearer pat-read-only"
    url = hubspot_sandbox.url

    assert reader.get(f"{url}/crm/objects/2026-09/{OBJECT}").status_code == 200
    search = reader.post(f"{url}/crm/objects/2026-09/{OBJECT}/search", json={})
    assert search.status_code == 200

    write = reader.post(
        f"{url}/crm/objects/2026-09/{OBJECT}/batch/upsert",
        json={"inputs": [{"idProperty": "xero_invoice_id", "id": "x", "properties": invoice(1)}]},
    )
    assert write.status_code == 403
    body = write.json()
    assert body["category"] == "MISSING_SCOPES"
    assert body["errors"][0]["context"]["requiredGranularScopes"] == ["crm.objects.custom.write"]

    schema_write = reader.post(
        f"{url}/crm-object-schemas/2026-09/schemas", json=invoice_schema("other_thing")
    )
    assert schema_write.status_code == 403
    assert schema_write.json()["errors"][0]["context"]["requiredGranularScopes"] == [
        "crm.schemas.custom.write"
    ]
    assert api.get(f"/crm/objects/2026-09/{OBJECT}").status_code == 200


def test_control_routes_need_no_token(hubspot_sandbox: HubSpotSandbox) -> None:
    response = requests.get(f"{hubspot_sandbox.url}/_sandbox/limits")
    assert response.status_code == 200
    assert response.json()["requests_per_window"] == 100

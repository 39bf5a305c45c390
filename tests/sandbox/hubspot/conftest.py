"""Helpers for the HubSpot emulator tests: an HTTP session and the invoice schema."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests

from reverse_etl.hubspot.properties import INVOICE_PROPERTIES
from tests.fixtures.hubspot import HubSpotSandbox

OBJECT = "xero_invoice"


class Api:
    """A thin requests wrapper with the sandbox token and base URL."""

    def __init__(self, sandbox: HubSpotSandbox) -> None:
        self.url = sandbox.url
        self.session = requests.Session()
        self.session.headers.update(sandbox.headers)

    def __call__(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", 10)
        return self.session.request(method, self.url + path, **kwargs)

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self("GET", path, **kwargs)

    def post(self, path: str, body: Any = None, **kwargs: Any) -> requests.Response:
        return self("POST", path, json=body, **kwargs)

    def patch(self, path: str, body: Any = None, **kwargs: Any) -> requests.Response:
        return self("PATCH", path, json=body, **kwargs)

    def upsert(self, rows: list[dict[str, Any]], object_type: str = OBJECT) -> requests.Response:
        inputs = [
            {"idProperty": "xero_invoice_id", "id": row["xero_invoice_id"], "properties": row}
            for row in rows
        ]
        return self.post(f"/crm/objects/2026-09/{object_type}/batch/upsert", {"inputs": inputs})


def invoice_schema(name: str = OBJECT) -> dict[str, Any]:
    return {
        "name": name,
        "allowsSensitiveProperties": False,
        "labels": {"singular": "Invoice", "plural": "Invoices"},
        "primaryDisplayProperty": "invoice_number",
        "secondaryDisplayProperties": ["contact_name"],
        "searchableProperties": ["invoice_number", "contact_name"],
        "requiredProperties": ["xero_invoice_id"],
        "properties": [spec.to_hubspot() for spec in INVOICE_PROPERTIES],
    }


def invoice(n: int, **overrides: str) -> dict[str, str]:
    row = {
        "xero_invoice_id": f"inv-{n:06d}",
        "invoice_number": f"INV-{n:06d}",
        "status": "AUTHORISED",
        "invoice_type": "ACCREC",
        "contact_name": f"Customer {n % 7}",
        "total": f"{n}.50",
        "due_date": "2026-01-31",
    }
    row.update(overrides)
    return row


@pytest.fixture
def api(hubspot_sandbox: HubSpotSandbox) -> Iterator[Api]:
    client = Api(hubspot_sandbox)
    yield client
    client.session.close()


@pytest.fixture
def schema(api: Api) -> dict[str, Any]:
    """The invoice custom object, created over HTTP."""
    response = api.post("/crm-object-schemas/2026-09/schemas", invoice_schema())
    assert response.status_code == 201, response.text
    return response.json()

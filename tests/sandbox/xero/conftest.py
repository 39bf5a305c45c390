"""Helpers for the Xero emulator tests: a tiny HTTP client that speaks to ``xero_sandbox``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
import requests

from reverse_etl.core.settings import SANDBOX_XERO_CLIENT_ID, SANDBOX_XERO_CLIENT_SECRET
from tests.fixtures.xero import XeroSandbox


@dataclass
class XeroHttp:
    sandbox: XeroSandbox
    session: requests.Session
    tenant_id: str | None = None
    access_token: str | None = None

    def token(
        self,
        client_id: str = SANDBOX_XERO_CLIENT_ID,
        secret: str = SANDBOX_XERO_CLIENT_SECRET,
        **form: str,
    ) -> requests.Response:
        form.setdefault("grant_type", "client_credentials")
        return self.session.post(
            f"{self.sandbox.url}/connect/token", data=form, auth=(client_id, secret), timeout=10
        )

    def login(self) -> str:
        response = self.token()
        assert response.status_code == 200, response.text
        self.access_token = response.json()["access_token"]
        return self.access_token

    def get(
        self, path: str, params: dict[str, Any] | None = None, **headers: str
    ) -> requests.Response:
        sent = {"Accept": "application/json"}
        if self.access_token:
            sent["Authorization"] = f"Bearer {self.access_token}"
        if self.tenant_id:
            sent["xero-tenant-id"] = self.tenant_id
        sent.update({k.replace("_", "-"): v for k, v in headers.items()})
        return self.session.get(
            f"{self.sandbox.url}{path}", params=params, headers=sent, timeout=10
        )

    def invoices(self, params: dict[str, Any] | None = None, **headers: str) -> requests.Response:
        return self.get("/api.xro/2.0/Invoices", params, **headers)


@pytest.fixture
def xero_http(xero_sandbox: XeroSandbox) -> XeroHttp:
    """A logged-in client for an emulator seeded with 250 invoices in one organisation."""
    tenant = xero_sandbox.emulator.seed_demo(250, seed=7)[0]
    client = XeroHttp(xero_sandbox, requests.Session(), tenant_id=tenant)
    client.login()
    return client

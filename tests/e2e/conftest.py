"""Fixtures for whole-sync tests: both emulators, a temp warehouse, an alert receiver."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import pytest
from aiohttp import web

from sandbox.runner import start_in_thread


@dataclass
class SyncWorld:
    """The two emulators and the environment that points the tool at them."""

    xero: Any
    hubspot: Any
    warehouse: Path
    env: dict[str, str]
    tenant_id: str

    def query(self, sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
        with duckdb.connect(str(self.warehouse)) as con:
            return con.execute(sql, params or []).fetchall()

    def hubspot_records(self) -> list[dict[str, Any]]:
        return self.hubspot.emulator.records("xero_invoice")

    def hubspot_by_invoice(self) -> dict[str, dict[str, Any]]:
        return {r["properties"]["xero_invoice_id"]: r for r in self.hubspot_records()}

    def hubspot_writes(self) -> int:
        """HubSpot calls that change data (reads, searches and schema reads excluded)."""
        base = "/crm/objects/2026-09/{objectType}"
        routes = [f"POST {base}/batch/{verb}" for verb in ("create", "update", "upsert", "archive")]
        routes += [f"POST {base}", f"PATCH {base}/{{objectId}}", f"DELETE {base}/{{objectId}}"]
        by_route = self.hubspot.emulator.counters.snapshot()["by_route"]
        return sum(by_route.get(route, 0) for route in routes)


def make_world(
    xero_sandbox, hubspot_sandbox, warehouse_path, monkeypatch, *, invoices: int, seed: int = 11
) -> SyncWorld:
    (tenant_id,) = xero_sandbox.emulator.seed_demo(invoices=invoices, seed=seed, tenants=1)
    env = {**xero_sandbox.env(), **hubspot_sandbox.env(), "WAREHOUSE_PATH": str(warehouse_path)}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return SyncWorld(xero_sandbox, hubspot_sandbox, warehouse_path, env, tenant_id)


@pytest.fixture
def world(xero_sandbox, hubspot_sandbox, warehouse_path, monkeypatch) -> SyncWorld:
    return make_world(xero_sandbox, hubspot_sandbox, warehouse_path, monkeypatch, invoices=120)


@dataclass
class AlertReceiver:
    url: str
    messages: list[dict[str, Any]] = field(default_factory=list)


@pytest.fixture
def alert_receiver(monkeypatch) -> Iterator[AlertReceiver]:
    """A `json://` Apprise target on loopback that records what it is sent."""
    received: list[dict[str, Any]] = []
    lock = threading.Lock()

    async def accept(request: web.Request) -> web.Response:
        body = await request.json()
        with lock:
            received.append(body)
        return web.json_response({})

    app = web.Application()
    app.router.add_post("/alerts", accept)
    server = start_in_thread(app)
    receiver = AlertReceiver(f"json://127.0.0.1:{server.port}/alerts", received)
    monkeypatch.setenv("ALERT_URLS", receiver.url)
    yield receiver
    server.stop()

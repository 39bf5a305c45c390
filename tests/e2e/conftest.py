"""Fixtures for whole-sync tests: both emulators, a temp warehouse, an alert receiver.

The warehouse engine (issue 22): every whole-sync test runs on DuckDB, the file at
``WAREHOUSE_PATH``; the tests marked with :func:`both_engines` run a second time on PostgreSQL,
a fresh database on the suite's throwaway cluster (``postgres_warehouse_url``,
tests/fixtures/postgres.py) named by ``WAREHOUSE_URL``, with the same assertions. They read
the warehouse through the product's seam (:meth:`SyncWorld.query`,
reverse_etl/core/warehouse.py), so one assertion reads either engine. Select the PostgreSQL
runs with ``-m postgres`` (or ``-k postgres``), leave them out with ``-m "not postgres"``.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from reverse_etl.core.warehouse import Warehouse, warehouse_for
from sandbox.runner import start_in_thread

ENGINES = ("duckdb", "postgres")


def both_engines() -> pytest.MarkDecorator:
    """Run the test on DuckDB (``[duckdb]``) and on PostgreSQL (``[postgres]``, marked
    ``postgres``), with the same assertions."""
    # several whole syncs per test on a shared machine: more than the suite's default 300 s
    slow = pytest.mark.timeout(900)
    marks: list[pytest.MarkDecorator] = [slow, pytest.mark.postgres]
    return pytest.mark.parametrize(
        "engine",
        [
            pytest.param("duckdb", id="duckdb", marks=slow),
            pytest.param("postgres", id="postgres", marks=marks),
        ],
        indirect=True,
    )


@pytest.fixture
def engine(request: pytest.FixtureRequest) -> str:
    """The warehouse engine of this test: DuckDB unless :func:`both_engines` says otherwise."""
    name = getattr(request, "param", "duckdb")
    assert name in ENGINES, name
    return name


@pytest.fixture
def warehouse_url(engine: str, request: pytest.FixtureRequest) -> str | None:
    """``WAREHOUSE_URL`` for this test: a fresh PostgreSQL database, or None (DuckDB)."""
    if engine == "postgres":
        return request.getfixturevalue("postgres_warehouse_url")
    return None


@dataclass
class SyncWorld:
    """The two emulators and the environment that points the tool at them."""

    xero: Any
    hubspot: Any
    warehouse: Path
    env: dict[str, str]
    tenant_id: str
    warehouse_url: str | None = None

    @property
    def engine(self) -> str:
        return self.seam.engine

    @property
    def seam(self) -> Warehouse:
        """The product's warehouse seam for this world (the engine the tool under test uses)."""
        return warehouse_for(self.warehouse_url, self.warehouse)

    def query(self, sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
        """Rows of ``sql`` (``?`` placeholders) on the warehouse, through the seam: on DuckDB a
        plain ``duckdb`` connection to the file, as before; on PostgreSQL the same SQL."""
        con = self.seam.connect()
        try:
            return con.execute(sql, params or []).fetchall()
        finally:
            con.close()

    def schema_names(self) -> set[str]:
        """The warehouse's schemas (the catalog's own listing on each engine)."""
        if self.engine == "duckdb":
            return {r[0] for r in self.query("select schema_name from duckdb_schemas()")}
        return {r[0] for r in self.query("select schema_name from information_schema.schemata")}

    def hold_lock(self, purpose: str = "hourly sync") -> AbstractContextManager[None]:
        """Hold the one-run-at-a-time lock as another run would (file lock / advisory lock)."""
        return self.seam.lock(purpose)

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
    xero_sandbox,
    hubspot_sandbox,
    warehouse_path,
    monkeypatch,
    *,
    invoices: int,
    seed: int = 11,
    warehouse_url: str | None = None,
) -> SyncWorld:
    (tenant_id,) = xero_sandbox.emulator.seed_demo(invoices=invoices, seed=seed, tenants=1)
    env = {**xero_sandbox.env(), **hubspot_sandbox.env(), "WAREHOUSE_PATH": str(warehouse_path)}
    if warehouse_url:
        env["WAREHOUSE_URL"] = warehouse_url
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return SyncWorld(xero_sandbox, hubspot_sandbox, warehouse_path, env, tenant_id, warehouse_url)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    """A PostgreSQL run must have used PostgreSQL: a DuckDB file beside ``WAREHOUSE_PATH`` after
    the test means the tool ignored ``WAREHOUSE_URL`` (and what HubSpot holds proves nothing
    about PostgreSQL). Checked in the test's own call, so it fails the test itself."""
    result = yield
    funcargs = getattr(item, "funcargs", {})
    if funcargs.get("warehouse_url") and funcargs.get("warehouse_path"):
        stray = sorted(p.name for p in funcargs["warehouse_path"].parent.glob("*.duckdb"))
        assert not stray, f"WAREHOUSE_URL was set, yet DuckDB files were written: {stray}"
    return result


@pytest.fixture
def world(xero_sandbox, hubspot_sandbox, warehouse_path, warehouse_url, monkeypatch) -> SyncWorld:
    return make_world(
        xero_sandbox,
        hubspot_sandbox,
        warehouse_path,
        monkeypatch,
        invoices=120,
        warehouse_url=warehouse_url,
    )


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

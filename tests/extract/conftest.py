"""Helpers for the extract tests: settings pointing at the sandboxes, clients on a test clock.

Xero's emulator runs on a :class:`~sandbox.clock.ManualClock`; the clients under test get a
``sleep`` that records each wait and moves that clock forward instead of sleeping, so rate
limits, ``Retry-After`` and backoff cost no real time and stay consistent with the server.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pytest
import requests

from pipelines.hubspot_snapshot.client import HubSpotReader
from pipelines.xero.client import XeroClient
from reverse_etl.core.settings import Settings, load_settings
from reverse_etl.hubspot.client import HubSpot
from reverse_etl.hubspot.limiter import SEARCH_PER_SECOND, SEARCH_WINDOW_SECONDS, RateLimiter
from reverse_etl.hubspot.properties import INVOICE_PROPERTIES
from sandbox.clock import ManualClock
from tests.fixtures.hubspot import HubSpotSandbox
from tests.fixtures.xero import XeroSandbox


@dataclass
class ExtractEnv:
    xero: XeroSandbox
    hubspot: HubSpotSandbox
    root: Path
    hubspot_clock: ManualClock
    sleeps: list[float] = field(default_factory=list)

    @property
    def warehouse_path(self) -> Path:
        return self.root / "warehouse" / "invoices.duckdb"

    def settings(self, **env: str) -> Settings:
        values = {
            **self.xero.env(),
            **self.hubspot.env(),
            "WAREHOUSE_PATH": str(self.warehouse_path),
            "INVOICE_SYNC_STATE_DIR": str(self.root / "state"),
            "XERO_CALLS_PER_MINUTE": "60",
        }
        values.update(env)
        return load_settings(values, dotenv_path=None)

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.xero.clock.advance(seconds)

    def monotonic(self) -> float:
        return self.xero.clock().timestamp()

    def xero_client(self, settings: Settings, **options: Any) -> XeroClient:
        options.setdefault("clock", self.monotonic)
        options.setdefault("sleep", self.sleep)
        options.setdefault("jitter", lambda: 0.5)
        return XeroClient(settings.xero, **options)

    def hubspot_reader(self, settings: Settings, **options: Any) -> HubSpotReader:
        """A reader over the unified :class:`HubSpot` client on HubSpot's manual clock, with
        its own limiters (no state shared between tests) and a fixed jitter."""
        return HubSpotReader(settings.hubspot, hub=self.hubspot_client(settings), **options)

    def hubspot_client(self, settings: Settings) -> HubSpot:
        def sleep(seconds: float) -> None:
            self.sleeps.append(seconds)
            self.hubspot_clock.advance(seconds)

        def clock() -> float:
            return self.hubspot_clock().timestamp()

        timing: dict[str, Any] = {"clock": clock, "sleep": sleep}
        return HubSpot(
            settings.hubspot,
            limiter=RateLimiter(settings.hubspot.requests_per_10s, **timing),
            search_limiter=RateLimiter(SEARCH_PER_SECOND, window=SEARCH_WINDOW_SECONDS, **timing),
            rng=lambda: 0.5,
            **timing,
        )

    def query(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        con = duckdb.connect(str(self.warehouse_path), read_only=True)
        try:
            return con.execute(sql, list(params)).fetchall()
        finally:
            con.close()

    def scalar(self, sql: str, *params: Any) -> Any:
        return self.query(sql, *params)[0][0]

    def tables(self) -> set[str]:
        if not self.warehouse_path.exists():
            return set()
        return {
            f"{schema}.{name}"
            for schema, name in self.query(
                "select table_schema, table_name from information_schema.tables"
            )
        }

    def invoice_calls(self) -> int:
        return self.xero.emulator.counters.total("GET /api.xro/2.0/Invoices")

    def create_hubspot_object(self) -> str:
        """The custom object, as ``invoice-sync setup`` creates it; returns its objectTypeId."""
        body = {
            "name": "xero_invoice",
            "labels": {"singular": "Invoice", "plural": "Invoices"},
            "primaryDisplayProperty": "invoice_number",
            "requiredProperties": ["xero_invoice_id"],
            "properties": [spec.to_hubspot() for spec in INVOICE_PROPERTIES],
            "allowsSensitiveProperties": False,
        }
        response = requests.post(
            f"{self.hubspot.url}/crm-object-schemas/2026-09/schemas",
            json=body,
            headers=self.hubspot.headers,
            timeout=30,
        )
        response.raise_for_status()
        return str(response.json()["objectTypeId"])


@pytest.fixture
def extract_env(
    xero_sandbox: XeroSandbox, hubspot_sandbox: HubSpotSandbox, tmp_path: Path
) -> Iterator[ExtractEnv]:
    """Both sandboxes, HubSpot's on a manual clock too (its fixture restores the real one)."""
    hubspot_clock = ManualClock(datetime(2024, 6, 3, 9, 30, tzinfo=UTC))
    hubspot_sandbox.emulator.set_clock(hubspot_clock)
    yield ExtractEnv(xero_sandbox, hubspot_sandbox, tmp_path, hubspot_clock)

"""Helpers for the push tests: settings pointed at the HubSpot sandbox, a warehouse holding the
action table per ``docs/contracts.md`` (until dbt builds it), and a simulated clock shared by
the client and the emulator so retries and rate limits cost no real time."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pytest

from reverse_etl.core.settings import Settings, load_settings
from reverse_etl.hubspot.client import HubSpot, RateLimiter
from reverse_etl.hubspot.properties import PROPERTY_NAMES
from tests.fixtures.hubspot import HubSpotSandbox


class SimClock:
    """Monotonic seconds for the client, an aware datetime for the emulator; ``sleep`` moves
    time instead of waiting (concurrent sleepers overlap, as real ones do)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.now = 1_000.0
        self.slept: list[float] = []
        self._epoch = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)

    def monotonic(self) -> float:
        with self._lock:
            return self.now

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.slept.append(seconds)
            self.now += max(seconds, 0.0)

    def __call__(self) -> datetime:
        return self._epoch + timedelta(seconds=self.monotonic())


def make_settings(sandbox: HubSpotSandbox, tmp_path: Path, **env: str) -> Settings:
    values = {
        "HUBSPOT_BASE_URL": sandbox.url,
        "WAREHOUSE_PATH": str(tmp_path / "warehouse" / "invoices.duckdb"),
        **env,
    }
    return load_settings(env=values, dotenv_path=None)


def make_client(settings: Settings, clock: SimClock | None = None, **kwargs: Any) -> HubSpot:
    """A client with its own limiter (no state shared between tests), on ``clock`` if given."""
    if clock is None:
        return HubSpot(settings.hubspot, limiter=RateLimiter(settings.hubspot.requests_per_10s))
    limiter = RateLimiter(
        settings.hubspot.requests_per_10s, clock=clock.monotonic, sleep=clock.sleep
    )
    return HubSpot(
        settings.hubspot, limiter=limiter, clock=clock.monotonic, sleep=clock.sleep, **kwargs
    )


def invoice(n: int, **overrides: str | None) -> dict[str, str | None]:
    """Desired HubSpot values for invoice ``n``, in the formats the dbt model produces."""
    row: dict[str, str | None] = {name: None for name in PROPERTY_NAMES}
    row.update(
        xero_invoice_id=f"00000000-0000-4000-8000-{n:012d}",
        invoice_number=f"INV-{n:05d}",
        invoice_type="ACCREC",
        status="AUTHORISED",
        contact_name=f"Customer {n % 7}",
        xero_contact_id=f"contact-{n % 7}",
        currency_code="NZD",
        sub_total=f"{n}.00",
        total_tax="15.00",
        total=f"{n + 15}.00",
        amount_due=f"{n + 15}.00",
        amount_paid="0",
        invoice_date="2026-11-01",
        due_date="2026-11-30",
        xero_updated_at="2026-11-20T10:00:00.000Z",
        xero_tenant_id="tenant-1",
        xero_url=f"https://go.xero.com/app/invoicing/view/{n}",
    )
    row.update(overrides)
    return row


def write_actions(
    warehouse: Path,
    rows: list[dict[str, Any]],
) -> None:
    """(Re)create ``reverse_etl.hubspot_invoice_actions`` with ``rows``: each a desired row
    plus ``action``, and optionally ``hs_object_id`` and ``changed_properties``."""
    warehouse.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(warehouse))
    try:
        con.execute("create schema if not exists reverse_etl")
        columns = ", ".join(
            f"{name} varchar" for name in PROPERTY_NAMES if name != "xero_invoice_id"
        )
        con.execute(
            "create or replace table reverse_etl.hubspot_invoice_actions ("
            "xero_invoice_id varchar not null, action varchar not null, hs_object_id varchar, "
            f"changed_properties varchar[], {columns})"
        )
        names = ["xero_invoice_id", "action", "hs_object_id", "changed_properties"] + [
            n for n in PROPERTY_NAMES if n != "xero_invoice_id"
        ]
        if rows:
            params = {f"p{i}": [row.get(name) for row in rows] for i, name in enumerate(names)}
            select = ", ".join(f"unnest($p{i})" for i in range(len(names)))
            con.execute(
                f"insert into reverse_etl.hubspot_invoice_actions ({', '.join(names)}) "
                f"select {select}",
                params,
            )
    finally:
        con.close()


def inserts(numbers: range | list[int], **overrides: str | None) -> list[dict[str, Any]]:
    return [{**invoice(n, **overrides), "action": "INSERT"} for n in numbers]


def write_status_changes(warehouse: Path, rows: list[dict[str, Any]]) -> None:
    con = duckdb.connect(str(warehouse))
    try:
        con.execute("create schema if not exists reverse_etl")
        con.execute(
            "create or replace table reverse_etl.invoice_status_changes ("
            "xero_invoice_id varchar, hs_object_id varchar, invoice_number varchar, "
            "contact_name varchar, currency_code varchar, total decimal(18, 2), "
            "amount_due decimal(18, 2), previous_status varchar, new_status varchar, "
            "xero_updated_at timestamptz)"
        )
        for row in rows:
            con.execute(
                "insert into reverse_etl.invoice_status_changes "
                "values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    row["xero_invoice_id"],
                    row.get("hs_object_id"),
                    row["invoice_number"],
                    row["contact_name"],
                    row["currency_code"],
                    row["total"],
                    row.get("amount_due"),
                    row["previous_status"],
                    row["new_status"],
                    row["xero_updated_at"],
                ],
            )
    finally:
        con.close()


def query(warehouse: Path, sql: str) -> list[tuple[Any, ...]]:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


@pytest.fixture
def sim_clock(hubspot_sandbox: HubSpotSandbox) -> Iterator[SimClock]:
    """Simulated time for the client and the emulator's rate limiter alike."""
    clock = SimClock()
    hubspot_sandbox.emulator.set_clock(clock)
    yield clock
    hubspot_sandbox.emulator.set_clock(None)


@pytest.fixture
def settings(hubspot_sandbox: HubSpotSandbox, tmp_path: Path) -> Settings:
    return make_settings(hubspot_sandbox, tmp_path)


# -- both engines (issue 22): the same push against DuckDB and a real PostgreSQL server -------

ENGINES = ["duckdb", pytest.param("postgres", marks=pytest.mark.postgres)]


@pytest.fixture(params=ENGINES)
def engine_settings(
    request: pytest.FixtureRequest, hubspot_sandbox: HubSpotSandbox, tmp_path: Path
) -> Settings:
    """Settings on the DuckDB file, then on a fresh PostgreSQL database (``WAREHOUSE_URL``)."""
    if request.param == "postgres":
        url = request.getfixturevalue("postgres_warehouse_url")
        return make_settings(hubspot_sandbox, tmp_path, WAREHOUSE_URL=url)
    return make_settings(hubspot_sandbox, tmp_path)


def warehouse_query(settings: Settings, sql: str, params: list[Any] | None = None) -> list[Any]:
    """Rows of ``sql`` on the settings' warehouse, whichever engine (through the seam)."""
    con = settings.warehouse.connect()
    try:
        return con.execute(sql, params).fetchall()
    finally:
        con.close()


def write_actions_to(
    settings: Settings,
    rows: list[dict[str, Any]],
    *,
    invocation_id: str | None = None,
    schema: str = "reverse_etl",
) -> None:
    """:func:`write_actions` on either engine: the action table with the columns and types of
    its dbt contract (hubspot_invoice_actions.yml), stamped with ``invocation_id`` as its
    comment like the model's post-hook does; ``schema``: ``webhook_reverse_etl`` for the
    webhook fast path's."""
    names = ["xero_invoice_id", "action", "hs_object_id", "changed_properties"] + [
        n for n in PROPERTY_NAMES if n != "xero_invoice_id"
    ]
    columns = ", ".join(f"{name} varchar" for name in names[4:])
    con = settings.warehouse.connect()
    try:
        con.execute(f"create schema if not exists {schema}")
        con.execute(f"drop table if exists {schema}.hubspot_invoice_actions")
        con.execute(
            f"create table {schema}.hubspot_invoice_actions ("
            "xero_invoice_id varchar not null, action varchar not null, hs_object_id varchar, "
            f"changed_properties varchar[], {columns})"
        )
        if invocation_id is not None:
            con.execute(f"comment on table {schema}.hubspot_invoice_actions is '{invocation_id}'")
        if rows:
            con.executemany(
                f"insert into {schema}.hubspot_invoice_actions ({', '.join(names)}) "
                f"values ({', '.join('?' for _ in names)})",
                [[row.get(name) for name in names] for row in rows],
            )
    finally:
        con.close()

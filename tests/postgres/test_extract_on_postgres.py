"""The extract on PostgreSQL (issue 22): with ``WAREHOUSE_URL`` set, ``run_xero_extract`` loads
through the warehouse seam (dlt's postgres destination, the extract's own questions on the
seam's connection) the same rows as into a DuckDB file, nothing of the product patched.

One Xero emulator is read twice per step, once into each engine, each with its own dlt state:
a first extract (every invoice), a quiet one (nothing loaded: no dlt package, the run still
recorded for freshness), and an incremental one after an hour of business (only what changed,
asked with ``If-Modified-Since``). After the first and the last, every table of ``raw_xero``
holds the same rows on both engines (dlt's load and row ids aside: they differ between any
two loads).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from pipelines.run import run_xero_extract
from reverse_etl.core.settings import Settings
from reverse_etl.core.warehouse import PostgresWarehouse
from sandbox.clock import ManualClock
from tests.extract.conftest import ExtractEnv
from tests.fixtures.hubspot import HubSpotSandbox
from tests.fixtures.xero import XeroSandbox

pytestmark = pytest.mark.postgres


@pytest.fixture
def extract_env(
    xero_sandbox: XeroSandbox, hubspot_sandbox: HubSpotSandbox, tmp_path: Path
) -> Iterator[ExtractEnv]:
    hubspot_clock = ManualClock(datetime(2024, 6, 3, 9, 30, tzinfo=UTC))
    hubspot_sandbox.emulator.set_clock(hubspot_clock)
    yield ExtractEnv(xero_sandbox, hubspot_sandbox, tmp_path, hubspot_clock)


def _rows(settings: Settings, sql: str) -> list[tuple[Any, ...]]:
    con = settings.warehouse.connect(read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def _value(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC) if value.tzinfo else value
    if isinstance(value, float):
        return Decimal(repr(value))
    if isinstance(value, Decimal):
        return value.normalize()  # 1.10 == 1.1: the same number, whatever the column's scale
    return value


def _tables(settings: Settings) -> dict[str, list[str]]:
    """raw_xero's tables (dlt's own aside) and their columns (dlt's ids aside)."""
    columns: dict[str, list[str]] = {}
    for table, column in _rows(
        settings,
        "select table_name, column_name from information_schema.columns "
        "where table_schema = 'raw_xero' order by table_name, column_name",
    ):
        if not table.startswith("_dlt") and "dlt_" not in column:
            columns.setdefault(table, []).append(column)
    return columns


# when this process read or ran (the machine's clock): differs between any two runs
WHEN_READ = {"read_at", "rejected_at", "finished_at"}


def _contents(settings: Settings, tables: dict[str, list[str]]) -> dict[str, list[tuple]]:
    out = {}
    for table, columns in tables.items():
        if table == "extract_runs":  # one row per run, and runs differ
            continue
        select = ", ".join(f'"{c}"' for c in columns if c not in WHEN_READ)
        rows = _rows(settings, f"select {select} from raw_xero.{table}")
        out[table] = sorted((tuple(_value(v) for v in row) for row in rows), key=repr)
    return out


def _assert_same_raw_xero(on_duckdb: Settings, on_postgres: Settings) -> None:
    tables = _tables(on_duckdb)
    assert {"invoices", "invoices__line_items", "invoice_versions", "payments"} <= set(tables)
    assert _tables(on_postgres) == tables
    duck, pg = _contents(on_duckdb, tables), _contents(on_postgres, tables)
    assert duck["invoices"] and duck["invoices__line_items"] and duck["payments"]
    for table in duck:
        assert len(pg[table]) == len(duck[table]), table
        assert pg[table] == duck[table], table


def _count(settings: Settings, table: str) -> int:
    return int(_rows(settings, f"select count(*) from raw_xero.{table}")[0][0])


def test_first_quiet_and_incremental_extracts_load_the_same_rows_as_on_duckdb(
    extract_env: ExtractEnv, postgres_warehouse_url: str
) -> None:
    env = extract_env
    tenants = env.xero.emulator.seed_demo(400, seed=5, tenants=2)
    on_duckdb = env.settings(XERO_PAGE_SIZE="100")
    on_postgres = env.settings(
        XERO_PAGE_SIZE="100",
        WAREHOUSE_URL=postgres_warehouse_url,
        WAREHOUSE_PATH=str(env.root / "unused" / "invoices.duckdb"),
        INVOICE_SYNC_STATE_DIR=str(env.root / "state-pg"),
    )
    assert isinstance(on_postgres.warehouse, PostgresWarehouse)

    def extract(settings: Settings):
        return run_xero_extract(settings, client=env.xero_client(settings))

    first_duckdb, first_postgres = extract(on_duckdb), extract(on_postgres)

    assert first_postgres.invoices_loaded == first_duckdb.invoices_loaded == 400
    assert first_postgres.per_tenant == first_duckdb.per_tenant
    assert _count(on_postgres, "invoices") == 400
    _assert_same_raw_xero(on_duckdb, on_postgres)
    assert not on_postgres.warehouse_path.exists()  # nothing went to a DuckDB file

    settled = extract(on_postgres)  # the read positions settle, as on DuckDB
    assert settled.invoices_loaded == 0
    loads, runs = _count(on_postgres, "_dlt_loads"), _count(on_postgres, "extract_runs")
    quiet = extract(on_postgres)
    assert quiet.invoices_loaded == 0 and quiet.load_ids == []
    assert set(quiet.step_seconds) == {"extract", "extract_cpu"}  # no normalize, no load
    assert _count(on_postgres, "_dlt_loads") == loads
    assert _count(on_postgres, "extract_runs") == runs + 1
    extract(on_duckdb)  # DuckDB's dlt state as far as PostgreSQL's

    env.xero.clock.advance(minutes=5)
    changed = env.xero.emulator.activity(hours=1.0, seed=23)
    assert sum(changed.values()) > 0
    env.xero.emulator.counters.reset()
    later_duckdb = extract(on_duckdb)
    duckdb_calls = env.invoice_calls()
    env.xero.emulator.counters.reset()
    later_postgres = extract(on_postgres)

    assert 0 < later_postgres.invoices_loaded == later_duckdb.invoices_loaded < 400
    assert later_postgres.calls_per_tenant == later_duckdb.calls_per_tenant
    # If-Modified-Since: one page per organisation, not the 2 x 2 pages of the first read
    assert env.invoice_calls() == duckdb_calls == len(tenants)
    _assert_same_raw_xero(on_duckdb, on_postgres)


def test_closing_a_cursor_leaves_its_session_open(postgres_warehouse_url: str) -> None:
    """The extract asks each question on a cursor and closes it (pipelines/dataset_session.py):
    as on DuckDB, the connection it came from stays usable."""
    con = PostgresWarehouse(postgres_warehouse_url).connect()
    try:
        cursor = con.cursor()
        assert cursor.execute("select ?", [1]).fetchone() == (1,)
        cursor.close()
        assert con.execute("select ?", [2]).fetchone() == (2,)
        assert con.cursor().execute("select 3").fetchone() == (3,)
    finally:
        con.close()
    assert con.raw.closed

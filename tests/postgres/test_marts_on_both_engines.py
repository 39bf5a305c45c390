"""The same demo books built on DuckDB and on PostgreSQL give the same marts, row for row.

One Xero emulator (the demo books, 120 invoices) and one HubSpot emulator (the demo CRM), after
a first sync and two hours of business in Xero, are extracted twice by the project's own
extract, ``pipelines.run.run_extract``: once into a DuckDB file as usual, once into the
throwaway PostgreSQL cluster with ``WAREHOUSE_URL`` set (the warehouse seam: dlt's postgres
destination, nothing of the product patched). The one dbt project is then built on each: models and
seeds on DuckDB (its tests run everywhere else in the suite), ``dbt build --target postgres``
with the data tests on PostgreSQL, the same vars and ``as_of_date``. Every compared table must
hold the same rows: decimals compared exactly, timestamps as UTC instants. Nothing here is
computed by the test: the point is that the models mean the same thing on both engines.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pytest
from rich.console import Console

from pipelines.run import run_extract
from reverse_etl.app.sync import run_sync_once
from reverse_etl.core.build_plan import DDL as BUILDS_DDL
from reverse_etl.core.settings import (
    SANDBOX_HUBSPOT_TOKEN,
    SANDBOX_XERO_CLIENT_ID,
    SANDBOX_XERO_CLIENT_SECRET,
    Settings,
    load_settings,
)
from reverse_etl.transform import DBT_PROJECT_DIR, dbt_vars_for, release_duckdb
from sandbox.demo_crm import seed_demo_crm
from tests.fixtures.postgres import PostgresCluster
from tests.fixtures.xero import CLOCK_START

pytestmark = pytest.mark.postgres

AS_OF = "2024-06-03"  # the emulator's clock: ageing does not move with the day the test runs
COMPARED = [
    # HubSpot's echoes of the first sync, parsed (every spelling parse_hubspot_value reads)
    "staging.stg_hubspot__invoice_records",
    "staging.stg_hubspot__companies",
    "marts.fct_invoices",
    "marts.fct_invoice_balances",
    "marts.fct_invoice_status_history",
    "marts.fct_payments",
    "marts.fct_credit_note_allocations",
    "marts.fct_ar_aging",
    "marts.fct_ar_aging_by_customer",
    "marts.dim_customers",
    "reverse_etl.hubspot_invoices_desired",
    "reverse_etl.hubspot_invoice_actions",
    "reverse_etl.customer_match_candidates",
    "reverse_etl.customer_matches",
    "reverse_etl.unmatched_customers",
    "reverse_etl.hubspot_company_actions",
    "reverse_etl.hubspot_association_actions",
]
# The first sync made every association: none is due after it (compared all the same).
MAY_BE_EMPTY = {"reverse_etl.hubspot_association_actions"}


@dataclass
class Built:
    duckdb_path: Path
    cluster: PostgresCluster
    on_duckdb: Settings
    on_postgres: Settings
    root: Path

    def duckdb_columns(self, table: str) -> list[str]:
        schema, name = table.split(".")
        with duckdb.connect(str(self.duckdb_path), read_only=True) as con:
            rows = con.execute(
                "select column_name from information_schema.columns "
                "where table_schema = ? and table_name = ? order by ordinal_position",
                [schema, name],
            ).fetchall()
        return [row[0] for row in rows]

    def postgres_columns(self, table: str) -> list[str]:
        schema, name = table.split(".")
        with self.cluster.connect() as con, con.cursor() as cur:
            cur.execute(
                "select column_name from information_schema.columns "
                "where table_schema = %s and table_name = %s order by ordinal_position",
                [schema, name],
            )
            return [row[0] for row in cur.fetchall()]

    def duckdb_rows(self, table: str, columns: list[str]) -> list[tuple[Any, ...]]:
        with duckdb.connect(str(self.duckdb_path), read_only=True) as con:
            rows = con.execute(f"select {_select(columns)} from {table}").fetchall()
        return sorted((_normal(row) for row in rows), key=repr)

    def postgres_rows(self, table: str, columns: list[str]) -> list[tuple[Any, ...]]:
        with self.cluster.connect() as con, con.cursor() as cur:
            cur.execute(f"select {_select(columns)} from {table}")
            rows = cur.fetchall()
        return sorted((_normal(row) for row in rows), key=repr)


def _select(columns: list[str]) -> str:
    return ", ".join(f'"{c}"' for c in columns)


def _value(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC) if value.tzinfo else value
    if isinstance(value, float):
        return Decimal(repr(value))
    if isinstance(value, Decimal):
        return value.normalize()  # 1.10 == 1.1: the same number, whatever the column's scale
    if isinstance(value, list | tuple):
        return tuple(_value(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value, sort_keys=True)
    return value


def _normal(row: tuple[Any, ...]) -> tuple[Any, ...]:
    return tuple(_value(v) for v in row)


def _dbt_build(
    settings: Settings, target: str, root: Path, *only: str, select: str | None = None
) -> None:
    """``dbt build`` of the whole project on ``target``; ``only``: those resource types;
    ``select``: those nodes."""
    from dbt.cli.main import dbtRunner

    dbt_vars = {
        **dbt_vars_for(settings),
        "as_of_date": AS_OF,
        "warehouse_path": str(settings.warehouse_path),
    }
    args = [
        "build",
        "--project-dir",
        str(DBT_PROJECT_DIR),
        "--profiles-dir",
        str(DBT_PROJECT_DIR),
        "--target",
        target,
        "--target-path",
        str(root / f"target-{target}"),
        "--log-path",
        str(root / "logs"),
        "--vars",
        json.dumps(dbt_vars),
        "--quiet",
    ]
    for resource_type in only:
        args += ["--resource-type", resource_type]
    if select:
        args += ["--select", select]
    if target == "postgres":
        # dbt's unit tests are left out on PostgreSQL: their YAML fixtures are written in
        # DuckDB's spellings (list literals); the models' logic they check is the same SQL,
        # compared here row for row on the demo books.
        args += ["--exclude-resource-type", "unit_test"]
    try:
        result = dbtRunner().invoke(args)
    finally:
        release_duckdb()
    failed = [
        f"{r.node.unique_id}: {r.status} {r.message}"
        for r in (result.result or [])
        if str(r.status) not in ("success", "pass")
    ]
    assert result.success, f"dbt build --target {target} failed: {result.exception} {failed}"


@pytest.fixture(scope="module")
def built(
    xero_server, hubspot_server, postgres_cluster: PostgresCluster, tmp_path_factory
) -> Iterator[Built]:
    _, xero, clock = xero_server
    clock.set(CLOCK_START)
    xero.reset()
    hubspot = hubspot_server.emulator
    hubspot.reset()
    xero.seed_demo(invoices=120, seed=11, tenants=1)
    seed_demo_crm(xero, hubspot)
    root = tmp_path_factory.mktemp("both-engines")
    env = {
        "XERO_BASE_URL": xero_server[0].url,
        "XERO_IDENTITY_URL": xero_server[0].url,
        "XERO_CLIENT_ID": SANDBOX_XERO_CLIENT_ID,
        "XERO_CLIENT_SECRET": SANDBOX_XERO_CLIENT_SECRET,
        "HUBSPOT_BASE_URL": hubspot_server.server.url,
        "HUBSPOT_ACCESS_TOKEN": SANDBOX_HUBSPOT_TOKEN,
        "WAREHOUSE_PATH": str(root / "warehouse" / "invoices.duckdb"),
    }
    on_duckdb = load_settings(
        {**env, "INVOICE_SYNC_STATE_DIR": str(root / "state-duckdb")}, dotenv_path=None
    )
    on_postgres = load_settings(
        {
            **env,
            "INVOICE_SYNC_STATE_DIR": str(root / "state-pg"),
            "WAREHOUSE_URL": postgres_cluster.url,
            # set, and never created: with WAREHOUSE_URL nothing goes to a DuckDB file
            "WAREHOUSE_PATH": str(root / "unused" / "invoices.duckdb"),
        },
        dotenv_path=None,
    )
    first = load_settings(
        {
            **env,
            "WAREHOUSE_PATH": str(root / "first-sync" / "invoices.duckdb"),
            "INVOICE_SYNC_STATE_DIR": str(root / "state-first-sync"),
        },
        dotenv_path=None,
    )
    with pytest.MonkeyPatch.context() as patch:
        for name, value in postgres_cluster.dbt_env().items():
            patch.setenv(name, value)
        patch.chdir(root)
        # A first sync (on DuckDB, as today) puts the invoices in HubSpot, then an hour of
        # business in Xero changes some: the builds below diff HubSpot's echoes (every
        # spelling parse_hubspot_value reads) against changed invoices, not only inserts.
        run_sync_once(first, console=Console(file=io.StringIO()), progress=False)
        # seeded: an unseeded hour differs run to run and may change no mirrored invoice
        xero.activity(hours=2.0, seed=19)
        run_extract(on_duckdb)
        # DuckDB's own build and its tests run everywhere else in the suite: models only here
        _dbt_build(on_duckdb, "duckdb", root, "seed", "model")
        run_extract(on_postgres)
        _dbt_build(on_postgres, "postgres", root)
        assert not on_postgres.warehouse_path.exists()  # nothing went to a DuckDB file
        yield Built(on_duckdb.warehouse_path, postgres_cluster, on_duckdb, on_postgres, root)
    hubspot.reset()


def _differences(columns: list[str], on_duckdb: list[tuple], on_postgres: list[tuple]) -> str:
    """The first rows that differ, column by column (rows paired by their first column)."""
    by_key = {row[0]: row for row in on_postgres if row not in on_duckdb}
    lines = []
    for row in [r for r in on_duckdb if r not in on_postgres][:3]:
        other = by_key.get(row[0])
        if other is None:
            lines.append(f"only on DuckDB: {row}")
            continue
        lines += [
            f"{row[0]}.{name}: DuckDB {a!r} / PostgreSQL {b!r}"
            for name, a, b in zip(columns, row, other, strict=True)
            if a != b
        ]
    return "\n".join(lines) or "rows only on PostgreSQL"


@pytest.mark.parametrize("table", COMPARED)
def test_the_same_rows_on_both_engines(built: Built, table: str) -> None:
    all_columns = built.duckdb_columns(table)
    assert all_columns, f"{table} is missing on DuckDB"
    assert built.postgres_columns(table) == all_columns
    # dlt's load ids and row ids differ between any two loads, whatever the engine
    columns = [c for c in all_columns if "dlt_" not in c]
    on_duckdb = built.duckdb_rows(table, columns)
    on_postgres = built.postgres_rows(table, columns)
    assert on_duckdb or table in MAY_BE_EMPTY, f"{table} is empty: the books no longer reach it"
    assert len(on_postgres) == len(on_duckdb)
    assert on_postgres == on_duckdb, _differences(columns, on_duckdb, on_postgres)


@pytest.mark.parametrize("day_recorded", [AS_OF, "2024-06-02"])
def test_changed_invoices_read_the_recorded_build_alike_on_both_engines(
    built: Built, day_recorded: str
) -> None:
    """int_changed_invoices reads sync_log.builds' JSON (its load mark and each organisation's
    day) on both engines: a build recorded after the newest load, on the day being built,
    leaves nothing to rebuild; one recorded on another day rebuilds every invoice."""
    listed: dict[str, set[str]] = {}
    for settings, target in ((built.on_duckdb, "duckdb"), (built.on_postgres, "postgres")):
        con = settings.warehouse.connect()
        try:
            (mark,) = con.execute("select max(load_id) from raw_xero._dlt_loads").fetchone()
            organisations = con.execute("select tenant_id from raw_xero.organisations")
            tenants = [row[0] for row in organisations.fetchall()]
            con.execute(BUILDS_DDL)
            con.execute("delete from sync_log.builds")
            con.execute(
                "insert into sync_log.builds (started_at, finished_at, scope, fingerprint, "
                "load_marks, local_dates) values (now(), now(), 'daily', 'f', ?, ?)",
                [
                    json.dumps({"raw_xero": mark, "raw_hubspot": None}),
                    json.dumps({tenant: day_recorded for tenant in tenants}),
                ],
            )
        finally:
            con.close()
        _dbt_build(settings, target, built.root, "model", select="int_changed_invoices")
        con = settings.warehouse.connect(read_only=True)
        try:
            rows = con.execute("select invoice_id from intermediate.int_changed_invoices")
            listed[target] = {str(row[0]) for row in rows.fetchall() if row[0] is not None}
            everything = con.execute("select invoice_id from staging.stg_xero__invoices")
            all_invoices = {str(row[0]) for row in everything.fetchall()}
        finally:
            con.close()
        assert tenants and mark
        assert listed[target] == (set() if day_recorded == AS_OF else all_invoices), target
    assert listed["postgres"] == listed["duckdb"]

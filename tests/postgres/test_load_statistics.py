"""A large load into PostgreSQL is analysed at once (pipelines/load_statistics.py), so the dbt
build that follows is not planned on guesses; a small load and DuckDB are left alone."""

from __future__ import annotations

import pytest

from pipelines.dataset_session import DatasetSession
from pipelines.load_statistics import ANALYZE_ROWS, refresh_statistics, tables_to_analyze
from reverse_etl.core.warehouse import DuckDBWarehouse, warehouse_for

pytestmark = pytest.mark.postgres


def test_only_tables_a_large_load_wrote_are_chosen():
    counts = {"invoices": ANALYZE_ROWS, "contacts": ANALYZE_ROWS - 1, "_dlt_loads": 10**6}
    assert tables_to_analyze(counts) == ["invoices"]


def last_analyzed(warehouse, table: str):
    con = warehouse.connect()
    try:
        return con.execute(
            "select last_analyze from pg_stat_user_tables "
            "where schemaname = 'raw_xero' and relname = ?",
            [table],
        ).fetchone()[0]
    finally:
        con.close()


def test_a_large_load_is_analysed_and_a_small_one_is_not(postgres_warehouse_url, tmp_path):
    warehouse = warehouse_for(postgres_warehouse_url, tmp_path / "unused.duckdb")
    con = warehouse.connect()
    try:
        con.execute("create schema if not exists raw_xero")
        for table in ("invoices", "contacts"):
            con.execute(f"create table raw_xero.{table} (id integer)")
            con.execute(f"insert into raw_xero.{table} select generate_series(1, 50)")
    finally:
        con.close()
    session = DatasetSession(warehouse, "raw_xero")
    try:
        analysed = refresh_statistics(session, {"invoices": ANALYZE_ROWS, "contacts": 50})
    finally:
        session.close()
    assert analysed == ["invoices"]
    assert last_analyzed(warehouse, "invoices") is not None
    assert last_analyzed(warehouse, "contacts") is None


def test_duckdb_is_left_alone(tmp_path):
    session = DatasetSession(DuckDBWarehouse(tmp_path / "w.duckdb"), "raw_xero")
    try:
        assert refresh_statistics(session, {"invoices": ANALYZE_ROWS}) == []
        assert not (tmp_path / "w.duckdb").exists()
    finally:
        session.close()

"""The warehouse seam on a real PostgreSQL server: DuckDB's connection shape, a missing table
typed the same as on DuckDB, read-only sessions, and the advisory lock across processes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from reverse_etl.core.errors import LockBusyError
from reverse_etl.core.warehouse import MISSING_RELATION, PostgresWarehouse, warehouse_for


@pytest.fixture
def warehouse(postgres_cluster) -> PostgresWarehouse:
    chosen = warehouse_for(postgres_cluster.url, Path("unused.duckdb"))
    assert isinstance(chosen, PostgresWarehouse)
    return chosen


def test_duckdb_shaped_connection(warehouse: PostgresWarehouse) -> None:
    con = warehouse.connect()
    try:
        con.execute("create schema if not exists seam_test")
        con.execute("create table if not exists seam_test.t (id varchar, note varchar)")
        con.execute("delete from seam_test.t")
        con.executemany("insert into seam_test.t values (?, ?)", [("a", "50%"), ("b", "x?")])
        rows = con.execute("select id, note from seam_test.t where id like ? order by id", ["%"])
        assert rows.fetchall() == [("a", "50%"), ("b", "x?")]
        con.execute("begin")
        con.execute("insert into seam_test.t values ('c', 'rolled back')")
        con.execute("rollback")
        assert con.execute("select count(*) from seam_test.t").fetchone() == (2,)
        with pytest.raises(MISSING_RELATION):
            con.execute("select * from seam_test.no_such_table")
        with pytest.raises(MISSING_RELATION):
            con.execute("select * from no_such_schema.t")
    finally:
        con.close()


def test_read_only_connection_refuses_writes(warehouse: PostgresWarehouse) -> None:
    import psycopg2.errors

    con = warehouse.connect(read_only=True)
    try:
        assert con.execute("select 1").fetchone() == (1,)
        with pytest.raises(psycopg2.errors.ReadOnlySqlTransaction):
            con.execute("create table ro_attempt (x int)")
    finally:
        con.close()


LOCK_HOLDER = """
import sys, time
from pathlib import Path
from reverse_etl.core.warehouse import warehouse_for
with warehouse_for(sys.argv[1], Path("unused")).lock("sync"):
    print("held", flush=True)
    time.sleep(60)
"""


def test_advisory_lock_refuses_a_second_process_and_frees_on_kill(
    warehouse: PostgresWarehouse, postgres_cluster
) -> None:
    holder = subprocess.Popen(
        [sys.executable, "-c", LOCK_HOLDER, postgres_cluster.url],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        with pytest.raises(LockBusyError) as caught, warehouse.lock("sync"):
            pass
        message = str(caught.value)
        assert caught.value.exit_code == 4
        assert "invoice-sync sync pid" in message and str(holder.pid) in message
        assert postgres_cluster.password not in message
    finally:
        holder.kill()  # kill -9: the server ends the session and its lock
        holder.wait()
    for _ in range(50):
        try:
            with warehouse.lock("sync"):
                return
        except LockBusyError:
            import time

            time.sleep(0.1)
    pytest.fail("the advisory lock outlived its killed holder")


def test_each_test_gets_its_own_empty_database(postgres_warehouse_url: str) -> None:
    con = warehouse_for(postgres_warehouse_url, Path("unused")).connect()
    try:
        (name,) = con.execute("select current_database()").fetchone()
        assert postgres_warehouse_url.endswith("/" + name) and name.startswith("t_")
        tables = con.execute(
            "select count(*) from information_schema.tables where table_schema = 'public'"
        ).fetchone()
        assert tables == (0,)
    finally:
        con.close()

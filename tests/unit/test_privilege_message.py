"""A PostgreSQL "permission denied" met by any layer (ours, dlt's, dbt's: they quote the server)
becomes one line naming the privilege and its GRANT (reverse_etl/core/warehouse_setup.py)."""

from __future__ import annotations

from pathlib import Path

from reverse_etl.core.errors import TransformError, WarehouseError
from reverse_etl.core.warehouse import DuckDBWarehouse, PostgresWarehouse
from reverse_etl.core.warehouse_setup import privilege_error

WAREHOUSE = PostgresWarehouse("postgresql://sync:s3cret@db.example:5432/books")


def test_dbt_quoting_a_schema_refusal() -> None:
    try:
        try:
            raise RuntimeError('permission denied for schema marts\nLINE 1: create table "marts"')
        except RuntimeError as inner:
            raise TransformError("dbt build failed: Database Error in model fct_x") from inner
    except TransformError as exc:
        error = privilege_error(exc, WAREHOUSE)
    assert isinstance(error, WarehouseError)
    assert str(error).startswith("the role sync lacks USAGE and CREATE on schema marts in ")
    assert "GRANT USAGE, CREATE ON SCHEMA marts TO sync" in str(error)
    assert "s3cret" not in str(error) and "\n" not in str(error)


def test_database_and_table_refusals() -> None:
    database = privilege_error(RuntimeError("permission denied for database books"), WAREHOUSE)
    assert "GRANT CREATE ON DATABASE books TO sync" in str(database)
    table = privilege_error(RuntimeError("permission denied for table runs"), WAREHOUSE)
    assert "lacks rights on table runs" in str(table)
    owner = privilege_error(RuntimeError("must be owner of table runs"), WAREHOUSE)
    assert "does not own runs" in str(owner)


def test_other_errors_and_duckdb_are_left_alone() -> None:
    assert privilege_error(RuntimeError("syntax error at or near"), WAREHOUSE) is None
    denied = RuntimeError("permission denied for schema marts")
    assert privilege_error(denied, DuckDBWarehouse(Path("w.duckdb"))) is None


def test_an_unreachable_server_is_one_line_without_the_password() -> None:
    import socket

    import psycopg2

    from reverse_etl.core.failures import as_project_error

    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    try:
        psycopg2.connect(f"postgresql://sync:s3cret@127.0.0.1:{port}/books", connect_timeout=5)
    except psycopg2.OperationalError as exc:
        error = as_project_error(exc)
    assert isinstance(error, WarehouseError)
    assert str(error).startswith("The PostgreSQL warehouse cannot be reached (")
    assert str(port) in str(error) and "s3cret" not in str(error)

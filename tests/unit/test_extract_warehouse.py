"""The extract's choices per warehouse engine (issue 22): dlt's destination and file format,
and which files the extract keeps private."""

from __future__ import annotations

import stat
from pathlib import Path

from pipelines.housekeeping import secure_warehouse
from reverse_etl.core.warehouse import DuckDBWarehouse, PostgresWarehouse

URL = "postgresql://sync:secret@db.example:5432/invoices"


def test_duckdb_loads_jsonl_with_its_memory_capped(tmp_path: Path) -> None:
    warehouse = DuckDBWarehouse(tmp_path / "warehouse" / "invoices.duckdb")
    destination = warehouse.dlt_destination()

    assert destination.destination_name == "duckdb"
    credentials = destination.config_params["credentials"]
    assert credentials.database == str(warehouse.path)
    assert credentials.global_config == {"memory_limit": "512MB"}
    assert warehouse.loader_file_format == "jsonl"
    assert (tmp_path / "warehouse").is_dir() and not warehouse.path.exists()


def test_postgres_loads_a_format_its_dlt_destination_accepts() -> None:
    warehouse = PostgresWarehouse(URL)
    destination = warehouse.dlt_destination()

    assert destination.destination_name == "postgres"
    capabilities = destination.capabilities()
    assert warehouse.loader_file_format in capabilities.supported_loader_file_formats
    assert "jsonl" not in capabilities.supported_loader_file_formats


def test_secure_warehouse_narrows_the_duckdb_file_and_leaves_a_server_alone(
    tmp_path: Path,
) -> None:
    path = tmp_path / "invoices.duckdb"
    path.write_bytes(b"")
    path.chmod(0o644)
    secure_warehouse(DuckDBWarehouse(path))
    assert stat.S_IMODE(path.stat().st_mode) == 0o600

    secure_warehouse(PostgresWarehouse(URL))  # no file, no connection: nothing to do
    assert list(tmp_path.iterdir()) == [path]

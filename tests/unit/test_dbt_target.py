"""dbt is invoked for the warehouse the settings name (issue 22): the ``profiles.yml`` output
(``--target``), the environment that output reads (set for the invocation only), a parsed
manifest per engine and database, and dbt-duckdb's instance released on DuckDB only."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from reverse_etl.core import dbt_invocation
from reverse_etl.core.warehouse import DuckDBWarehouse, PostgresWarehouse

URL = "postgresql://sync:s3cret@db.example:5433/invoices"


def _option(args: list[str], name: str) -> str:
    return args[args.index(name) + 1]


def test_duckdb_arguments_are_unchanged(tmp_path: Path) -> None:
    path = tmp_path / "w.duckdb"
    by_path = dbt_invocation.dbt_args(path, {"a": 1})
    assert by_path == dbt_invocation.dbt_args(DuckDBWarehouse(path), {"a": 1})
    assert _option(by_path, "--target") == "duckdb"
    assert json.loads(_option(by_path, "--vars")) == {"a": 1, "warehouse_path": str(path)}


def test_postgres_arguments_name_the_target_and_no_secret() -> None:
    args = dbt_invocation.dbt_args(PostgresWarehouse(URL), {"a": 1})
    assert _option(args, "--target") == "postgres"
    assert json.loads(_option(args, "--vars")) == {"a": 1}
    assert not any("s3cret" in arg for arg in args)


def test_the_environment_is_set_for_the_invocation_only(monkeypatch) -> None:
    monkeypatch.setenv("POSTGRES_HOST", "left-alone-after")
    monkeypatch.delenv("DBT_ENV_SECRET_POSTGRES_PASSWORD", raising=False)
    seen: dict[str, str | None] = {}

    class Runner:
        def invoke(self, args: list[str]) -> str:
            for name in ("POSTGRES_HOST", "POSTGRES_PORT", "POSTGRES_DBNAME"):
                seen[name] = os.environ.get(name)
            seen["password"] = os.environ.get("DBT_ENV_SECRET_POSTGRES_PASSWORD")
            return "result"

    released: list[bool] = []
    monkeypatch.setattr(dbt_invocation, "release_duckdb", lambda: released.append(True))
    assert dbt_invocation.invoke(PostgresWarehouse(URL), Runner(), ["build"]) == "result"
    assert seen == {
        "POSTGRES_HOST": "db.example",
        "POSTGRES_PORT": "5433",
        "POSTGRES_DBNAME": "invoices",
        "password": "s3cret",
    }
    assert os.environ["POSTGRES_HOST"] == "left-alone-after"
    assert "DBT_ENV_SECRET_POSTGRES_PASSWORD" not in os.environ
    assert released == []  # nothing of dbt-duckdb's to release on a server

    with pytest.raises(RuntimeError):

        class Failing:
            def invoke(self, args: list[str]) -> None:
                raise RuntimeError("dbt crashed")

        dbt_invocation.invoke(DuckDBWarehouse(Path("w.duckdb")), Failing(), ["build"])
    assert released == [True]  # released on DuckDB even when dbt raised


def test_a_manifest_is_parsed_per_engine_and_database(monkeypatch, tmp_path: Path) -> None:
    """The cache key names the database: the same vars on another engine or server parse again
    (dbt puts the database in every relation name of the manifest)."""
    keys = {
        dbt_invocation._database_key(DuckDBWarehouse(tmp_path / "invoices.duckdb")),
        dbt_invocation._database_key(PostgresWarehouse(URL)),
        dbt_invocation._database_key(PostgresWarehouse(URL.replace("db.example", "other"))),
        dbt_invocation._database_key(PostgresWarehouse(URL.replace("/invoices", "/books"))),
    }
    assert len(keys) == 4
    assert not any("s3cret" in key for key in keys)
    # DuckDB's key is the file's database name, as before the seam
    assert dbt_invocation._database_key(DuckDBWarehouse(tmp_path / "invoices.duckdb")) == (
        "invoices"
    )

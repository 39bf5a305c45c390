"""The warehouse seam's engine-independent parts (reverse_etl/core/warehouse.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from reverse_etl.core.errors import ConfigError
from reverse_etl.core.settings import load_settings
from reverse_etl.core.warehouse import (
    DuckDBWarehouse,
    PostgresWarehouse,
    masked_url,
    to_pyformat,
    warehouse_for,
)

URL = "postgresql://sync_role:pa%40ss-word@db.internal:6543/invoices"


def test_unset_url_is_the_duckdb_file(tmp_path: Path) -> None:
    chosen = warehouse_for(None, tmp_path / "w.duckdb")
    assert isinstance(chosen, DuckDBWarehouse)
    assert chosen.analysts_copy and chosen.dbt_target() == ("duckdb", {})
    assert not chosen.exists()
    chosen.connect().close()
    assert chosen.exists()


def test_url_selects_postgres_with_dbt_environment() -> None:
    chosen = warehouse_for(URL, Path("ignored.duckdb"))
    assert isinstance(chosen, PostgresWarehouse) and not chosen.analysts_copy
    target, env = chosen.dbt_target()
    assert target == "postgres"
    assert env == {
        "POSTGRES_HOST": "db.internal",
        "POSTGRES_PORT": "6543",
        "POSTGRES_USER": "sync_role",
        "DBT_ENV_SECRET_POSTGRES_PASSWORD": "pa@ss-word",
        "POSTGRES_DBNAME": "invoices",
    }


def test_password_never_shown() -> None:
    settings = load_settings({"WAREHOUSE_URL": URL}, None)
    shown = dict(settings.describe())["WAREHOUSE_URL"]
    assert shown == "postgresql://sync_role:****@db.internal:6543/invoices"
    assert "pa%40ss" not in repr(settings) and "pa%40ss" not in settings.warehouse.label
    assert dict(load_settings({}, None).describe())["WAREHOUSE_URL"] == "(unset)"


@pytest.mark.parametrize(
    "url", ["mysql://u:p@h/db", "postgresql://u:p@h:5432/", "postgresql:///invoices"]
)
def test_malformed_url_is_a_config_error_without_the_password(url: str) -> None:
    with pytest.raises(ConfigError, match="WAREHOUSE_URL must look like") as caught:
        load_settings({"WAREHOUSE_URL": url}, None)
    assert ":p@" not in str(caught.value)


def test_placeholders_translated_outside_quotes_only() -> None:
    sql = "select '?%', \"a?\" from t where a = ? and b like 'x%' and c = ?"
    assert to_pyformat(sql) == (
        "select '?%%', \"a?\" from t where a = %s and b like 'x%%' and c = %s"
    )


def test_masked_url_keeps_a_url_without_password() -> None:
    assert masked_url("postgresql://h/db") == "postgresql://h/db"


def test_placeholders_with_doubled_quotes_and_no_quotes() -> None:
    assert to_pyformat("select 'it''s ?' where a = ?") == "select 'it''s ?' where a = %s"
    assert to_pyformat("insert into t values (?, ?), (?, ?)") == (
        "insert into t values (%s, %s), (%s, %s)"
    )
    assert to_pyformat("select 100 % 7, ?") == "select 100 %% 7, %s"

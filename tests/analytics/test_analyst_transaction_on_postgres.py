"""An analyst's transaction left open on PostgreSQL does not block the hourly build (issue 22).

A small dbt project shaped like ours (a staging view over a raw table, a contract-enforced
table mart, an incremental fact mart written like ours: append after a pre-hook delete) is
built with dbt-postgres on the throwaway cluster, using the project's own PostgreSQL
materializations (dbt_project/macros/postgres_readers_first.sql, copied in). Then an analyst
session reads every one of those relations and the run log inside ``begin`` and stays idle in
that transaction, holding its ACCESS SHARE locks, while the raw data changes and the build and
the run log's writes run again. Every dbt connection gets ``lock_timeout`` (libpq's
``PGOPTIONS``), so a wait for the analyst's locks fails the build instead of hanging the test.

The control: the same project without our materializations (dbt's own rename swap) times out
on that lock: the danger is real, and this test would see it.
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path
from typing import Any

import psycopg2
import pytest

from reverse_etl.core import sync_log
from reverse_etl.core.warehouse import PostgresWarehouse
from reverse_etl.transform import DBT_PROJECT_DIR

pytestmark = pytest.mark.postgres

LOCK_TIMEOUT_S = 5
MACROS = ("postgres_readers_first.sql",)
ANALYST_READS = (
    "select count(*) from staging.stg_orders",
    "select count(*) from marts.orders_by_customer",
    "select count(*) from marts.fct_orders",
    "select count(*) from sync_log.runs",
)
FILES = {
    "dbt_project.yml": """
name: readers_first_probe
version: "1.0"
config-version: 2
profile: probe
models:
  readers_first_probe:
    staging: {+materialized: view, +schema: staging}
    marts: {+materialized: table, +schema: marts}
""",
    "profiles.yml": """
probe:
  target: postgres
  outputs:
    postgres:
      type: postgres
      host: "{{ env_var('POSTGRES_HOST') }}"
      port: "{{ env_var('POSTGRES_PORT') | as_number }}"
      user: "{{ env_var('POSTGRES_USER') }}"
      password: "{{ env_var('DBT_ENV_SECRET_POSTGRES_PASSWORD') }}"
      dbname: "{{ env_var('POSTGRES_DBNAME') }}"
      schema: main
      threads: 2
""",
    "macros/schema.sql": """
{% macro generate_schema_name(custom_schema_name, node) -%}
    {{ custom_schema_name | trim if custom_schema_name else target.schema }}
{%- endmacro %}

{% macro delete_changed() -%}
    {%- if is_incremental() -%}
        delete from {{ this }} where id in (select id from raw.changed)
    {%- endif -%}
{%- endmacro %}
""",
    "models/staging/stg_orders.sql": """
select id, customer, amount from raw.orders
""",
    "models/marts/orders_by_customer.sql": """
select customer, sum(amount)::numeric(18,2) as total, count(*) as orders
from {{ ref('stg_orders') }} group by customer
""",
    "models/marts/orders_by_customer.yml": """
models:
  - name: orders_by_customer
    config: {contract: {enforced: true}}
    columns:
      - {name: customer, data_type: text}
      - {name: total, data_type: "numeric(18,2)"}
      - {name: orders, data_type: bigint}
""",
    "models/marts/fct_orders.sql": """
{{ config(
    materialized='incremental',
    incremental_strategy='append',
    on_schema_change='fail',
    pre_hook="{{ delete_changed() }}",
) }}
select id, customer, amount from {{ ref('stg_orders') }}
{% if is_incremental() %}where id in (select id from raw.changed){% endif %}
""",
}


def _project(root: Path, *, ours: bool) -> Path:
    for name, text in FILES.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text.lstrip())
    if ours:
        for name in MACROS:
            shutil.copy(DBT_PROJECT_DIR / "macros" / name, root / "macros" / name)
    return root


def _dbt_env(url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in PostgresWarehouse(url).dbt_target()[1].items():
        monkeypatch.setenv(name, value)
    # libpq reads PGOPTIONS for every connection dbt-postgres opens (psycopg2)
    monkeypatch.setenv("PGOPTIONS", f"-c lock_timeout={LOCK_TIMEOUT_S}s")


def _build(project: Path) -> tuple[bool, list[str], float]:
    from dbt.cli.main import dbtRunner

    started = time.monotonic()
    result = dbtRunner().invoke(
        [
            "build",
            "--project-dir",
            str(project),
            "--profiles-dir",
            str(project),
            "--target-path",
            str(project / "target"),
            "--log-path",
            str(project / "logs"),
            "--quiet",
        ]
    )
    messages = [
        f"{r.node.name}: {r.status} {r.message}"
        for r in (result.result or [])
        if str(r.status) not in ("success", "pass")
    ]
    return bool(result.success), messages, time.monotonic() - started


def _run(url: str, sql: str) -> list[tuple[Any, ...]]:
    con = psycopg2.connect(url)
    con.autocommit = True
    try:
        with con.cursor() as cursor:
            cursor.execute(sql)
            return cursor.fetchall() if cursor.description else []
    finally:
        con.close()


def _oid(url: str, relation: str) -> int:
    return _run(url, f"select '{relation}'::regclass::oid")[0][0]


def _first_data(url: str) -> None:
    _run(
        url,
        "create schema raw; create table raw.orders (id int, customer text, amount numeric); "
        "create table raw.changed (id int); "
        "insert into raw.orders values (1, 'acme', 10), (2, 'acme', 5), (3, 'zeta', 7)",
    )
    con = PostgresWarehouse(url).connect()
    try:
        sync_log.ensure_tables(con)
        sync_log.start_run(con, "run-1", sync_log.now(), command="sync")
    finally:
        con.close()


def _an_hour_of_business(url: str) -> None:
    """What the extract does to the raw tables: DML (an update, an insert)."""
    _run(
        url,
        "update raw.orders set amount = 100 where id = 1; "
        "insert into raw.orders values (4, 'zeta', 3); "
        "insert into raw.changed values (1), (4)",
    )


class Analyst:
    """A session that read everything inside ``begin`` and was left idle in that transaction."""

    def __init__(self, url: str) -> None:
        self.con = psycopg2.connect(url, application_name="analyst")
        self.seen: list[Any] = []
        with self.con.cursor() as cursor:  # psycopg2 sends BEGIN before the first statement
            for sql in ANALYST_READS:
                cursor.execute(sql)
                self.seen.append(cursor.fetchone()[0])
        self.pid = self.con.get_backend_pid()

    def state(self, url: str) -> str:
        return _run(url, f"select state from pg_stat_activity where pid = {self.pid}")[0][0]

    def locks(self, url: str) -> int:
        return _run(
            url,
            f"select count(*) from pg_locks where pid = {self.pid} and mode = 'AccessShareLock' "
            "and relation is not null and granted",
        )[0][0]

    def close(self) -> None:
        self.con.rollback()
        self.con.close()


def test_the_build_and_the_run_log_do_not_wait_for_an_open_analyst_transaction(
    postgres_warehouse_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = postgres_warehouse_url
    _dbt_env(url, monkeypatch)
    project = _project(tmp_path / "project", ours=True)
    _first_data(url)
    ok, failed, _ = _build(project)
    assert ok, failed
    before = {r: _oid(url, r) for r in ("marts.orders_by_customer", "staging.stg_orders")}

    analyst = Analyst(url)
    try:
        assert analyst.seen == [3, 2, 3, 1]
        assert analyst.locks(url) >= 4  # the view, its raw table, both marts, the run log
        _an_hour_of_business(url)
        ok, failed, seconds = _build(project)
        assert ok, failed  # a wait for the analyst's locks would be a lock timeout here
        assert seconds < LOCK_TIMEOUT_S * 3
        con = PostgresWarehouse(url).connect()
        try:  # the run log's writes, as each run makes them
            sync_log.ensure_tables(con)
            sync_log.start_run(con, "run-2", sync_log.now(), command="sync")
            sync_log.update_run(con, "run-2", stage="push", build_scope="hourly")
        finally:
            con.close()
        # all of it happened while the analyst's transaction stayed open
        assert analyst.state(url) == "idle in transaction"
        assert analyst.locks(url) >= 4
        assert _run(
            url, "select customer, total, orders from marts.orders_by_customer order by 1"
        ) == [
            ("acme", 105, 2),
            ("zeta", 10, 2),
        ]
        assert _run(url, "select id, amount from marts.fct_orders order by id") == [
            (1, 100),
            (2, 5),
            (3, 7),
            (4, 3),
        ]
        assert _run(url, "select run_id, status from sync_log.runs order by run_id") == [
            ("run-1", "failed"),  # closed as interrupted by run-2's start, as on DuckDB
            ("run-2", "running"),
        ]
    finally:
        analyst.close()
    # rebuilt in place: the same table and view, with their grants and dependants
    assert {r: _oid(url, r) for r in before} == before
    assert not _run(url, "select relname from pg_class where relname like '%dbt_tmp%'")


def test_a_changed_column_list_still_replaces_the_table(
    postgres_warehouse_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ours falls back to dbt's swap when the columns change (nobody reading: no wait)."""
    url = postgres_warehouse_url
    _dbt_env(url, monkeypatch)
    project = _project(tmp_path / "project", ours=True)
    _first_data(url)
    assert _build(project)[0]
    model = project / "models" / "marts" / "orders_by_customer.sql"
    model.write_text(model.read_text().replace("as orders", "as orders, max(id) as last_id"))
    contract = project / "models" / "marts" / "orders_by_customer.yml"
    contract.write_text(contract.read_text() + "      - {name: last_id, data_type: integer}\n")
    ok, failed, _ = _build(project)
    assert ok, failed
    assert _run(url, "select customer, last_id from marts.orders_by_customer order by 1") == [
        ("acme", 2),
        ("zeta", 3),
    ]
    view = project / "models" / "staging" / "stg_orders.sql"
    view.write_text("select id, customer, amount, 1 as version from raw.orders\n")
    ok, failed, _ = _build(project)
    assert ok, failed
    assert _run(url, "select max(version) from staging.stg_orders") == [(1,)]


def test_without_them_dbt_waits_for_the_analyst(
    postgres_warehouse_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The control: dbt's own table materialization renames the table, which must wait for
    the analyst's ACCESS SHARE lock (here: until lock_timeout)."""
    url = postgres_warehouse_url
    _dbt_env(url, monkeypatch)
    project = _project(tmp_path / "project", ours=False)
    _first_data(url)
    assert _build(project)[0]
    analyst = Analyst(url)
    try:
        _an_hour_of_business(url)
        ok, failed, _ = _build(project)
    finally:
        analyst.close()
    assert not ok
    assert any("lock timeout" in line for line in failed), json.dumps(failed)

"""The analysts' side on PostgreSQL (issue 22): no copy to publish, `sql` on the warehouse in a
read-only transaction. A real throwaway cluster (tests/fixtures/postgres.py)."""

from __future__ import annotations

import csv
import io
import json
import re
import secrets
from pathlib import Path

import psycopg2
import pytest
from typer.testing import CliRunner

from reverse_etl.analysts.publish import NoAnalystsCopy, push_then_publish
from reverse_etl.app.cli import app
from reverse_etl.core.settings import load_settings

pytestmark = pytest.mark.postgres
runner = CliRunner()
QUERY = "select * from marts.fct_invoices order by invoice_number"


def _sql(url: str, statement: str) -> list[tuple]:
    with psycopg2.connect(url) as con, con.cursor() as cur:
        cur.execute(statement)
        return cur.fetchall() if cur.description else []


@pytest.fixture
def warehouse_url(postgres_warehouse_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    _sql(
        postgres_warehouse_url,
        "create schema marts; create table marts.fct_invoices (invoice_number text, "
        "reference text, total numeric(18,2), due_date date, paid boolean); "
        "insert into marts.fct_invoices values "
        "('INV-1', '[red]PO 7[/red]', 1234567890123.45, '2026-12-01', false), "
        "('INV-2', null, 0.10, null, true)",
    )
    monkeypatch.setenv("WAREHOUSE_URL", postgres_warehouse_url)
    monkeypatch.setenv("ANALYTICS_PATH", str(tmp_path / "analytics.duckdb"))
    return postgres_warehouse_url


def test_publish_writes_nothing_and_says_where_analysts_read(warehouse_url, tmp_path):
    settings = load_settings(
        {
            "WAREHOUSE_URL": warehouse_url,
            "ANALYTICS_PATH": str(tmp_path / "analytics.duckdb"),
            "INVOICE_SYNC_STATE_DIR": str(tmp_path / "state"),
        },
        dotenv_path=None,
    )
    stages: list[str] = []

    def timed(name, work):
        stages.append(name)
        return work()

    def cursors():
        raise AssertionError("no copy: the extract's cursors are not read")

    pushed, report = push_then_publish(
        settings, lambda run_id: run_id, run_id="run-1", timed=timed, cursors=cursors
    )
    assert pushed == "run-1" and stages == ["push", "publish"]
    assert isinstance(report, NoAnalystsCopy)
    password = settings.warehouse_url.split(":")[2].split("@")[0]
    assert password not in report.summary() and "****" in report.summary()
    assert "directly" in report.summary()
    assert not (tmp_path / "analytics.duckdb").exists()
    schemas = {s for (s,) in _sql(warehouse_url, "select nspname from pg_namespace")}
    assert "meta" not in schemas  # no sync_status that would claim a copy was published
    with pytest.raises(RuntimeError, match="push down"):  # a failed push: still nothing

        def failing(_run_id):
            raise RuntimeError("push down")

        push_then_publish(settings, failing, run_id="run-2", cursors=cursors)
    assert not (tmp_path / "analytics.duckdb").exists()


def test_a_table_shows_data_literally_and_csv_is_exact(warehouse_url):
    result = runner.invoke(app, ["sql", QUERY])
    assert result.exit_code == 0, result.output
    assert "[red]PO 7[/red]" in result.output  # external data never as markup
    assert "1234567890123.45" in result.output and "2 rows" in result.output
    result = runner.invoke(app, ["sql", QUERY, "--format", "csv"])
    assert result.exit_code == 0, result.output
    rows = list(csv.reader(io.StringIO(result.output)))
    assert rows[0] == ["invoice_number", "reference", "total", "due_date", "paid"]
    assert rows[1] == ["INV-1", "[red]PO 7[/red]", "1234567890123.45", "2026-12-01", "False"]
    assert rows[2] == ["INV-2", "", "0.10", "", "True"]


WRITES = {
    "insert": "insert into marts.fct_invoices values ('INV-3', null, 1, null, false)",
    "delete": "delete from marts.fct_invoices",
    "drop": "drop table marts.fct_invoices",
    "create": "create table marts.evil (a int)",
    "a writing CTE": "with gone as (delete from marts.fct_invoices returning *) select * from gone",
    "explain analyze of a write": "explain analyze delete from marts.fct_invoices",
    "commit then write": "select 1; commit; begin read write; delete from marts.fct_invoices",
    "begin read write": "begin read write",
    "set_config in a select": (
        "select set_config('transaction_read_only', 'off', true), count(*) from marts.fct_invoices"
    ),
    "select into a new table": "select * into marts.copied from marts.fct_invoices",
}


@pytest.mark.parametrize("statement", WRITES.values(), ids=WRITES.keys())
def test_a_write_is_refused_in_one_line(warehouse_url, statement):
    result = runner.invoke(app, ["sql", statement, "--format", "csv"])
    assert result.exit_code == 1, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    assert lines[0].startswith("AnalystQueryError: Refused: `invoice-sync sql` is read-only"), lines
    assert _sql(warehouse_url, "select count(*) from marts.fct_invoices") == [(2,)]
    tables = _sql(warehouse_url, "select tablename from pg_tables where schemaname = 'marts'")
    assert tables == [("fct_invoices",)]


def test_the_read_only_transaction_is_the_guard_not_only_the_screen(warehouse_url):
    """A writing CTE passes the statement screen (it starts with WITH): PostgreSQL refuses it."""
    result = runner.invoke(app, ["sql", WRITES["a writing CTE"]])
    assert "read-only transaction" in result.output, result.output


def test_a_missing_table_is_one_line(warehouse_url):
    result = runner.invoke(app, ["sql", "select * from marts.nope"])
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        'AnalystQueryError: PostgreSQL refused the query: relation "marts.nope" does not exist'
    ]


def test_without_a_query_it_points_to_a_query_or_a_client(warehouse_url):
    result = runner.invoke(app, ["sql"])
    assert result.exit_code == 1
    assert "on PostgreSQL analysts query" in result.output and "****" in result.output


def _readme_analysts_sql() -> str:
    text = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    start = text.index("```sql\ncreate role analysts nologin;")
    return text[start + len("```sql\n") : text.index("```", start + 6)]


def test_the_readme_analysts_role_reads_marts_and_nothing_else(postgres_warehouse_url):
    """The README's SQL, run as written (role names made unique on the shared cluster): the
    login reads a mart the sync creates later, cannot write, and gets the session settings."""
    suffix = secrets.token_hex(4)
    names = {"analysts": f"analysts_{suffix}", "metabase": f"metabase_{suffix}"}
    sync_role = f"sync_{suffix}"
    database = postgres_warehouse_url.rsplit("/", 1)[1]
    script = _readme_analysts_sql().replace("invoice_sync", sync_role)
    script = script.replace("on database invoices", f'on database "{database}"')
    for name, unique in names.items():
        script = re.sub(rf"\b{name}\b", unique, script)
    _sql(
        postgres_warehouse_url,
        f"create role {sync_role} login password 'sync-pw'; "
        f"create schema marts authorization {sync_role}; "
        f"create schema sync_log authorization {sync_role}",
    )
    _sql(postgres_warehouse_url, script)
    as_sync = _login(postgres_warehouse_url, sync_role, "sync-pw")
    _sql(as_sync, "create table marts.fct_invoices as select 'INV-1'::text as invoice_number")
    _sql(as_sync, "create table sync_log.runs as select 'run-1'::text as run_id")
    as_analyst = _login(postgres_warehouse_url, names["metabase"], "change-me")
    assert _sql(as_analyst, "select invoice_number from marts.fct_invoices") == [("INV-1",)]
    assert _sql(as_analyst, "show idle_in_transaction_session_timeout") == [("15min",)]
    with pytest.raises(psycopg2.errors.ReadOnlySqlTransaction):
        _sql(as_analyst, "create table marts.evil (a int)")
    with pytest.raises(psycopg2.errors.InsufficientPrivilege):
        _sql(as_analyst, "begin read write; delete from marts.fct_invoices")
    with pytest.raises(psycopg2.errors.InsufficientPrivilege):
        _sql(as_analyst, "select * from sync_log.runs")  # only marts


def _login(url: str, user: str, password: str) -> str:
    _scheme, rest = url.split("://", 1)
    return f"postgresql://{user}:{password}@{rest.split('@', 1)[1]}"


@pytest.mark.parametrize(
    "query",
    [
        "-- a comment first\nselect count(*) as n from marts.fct_invoices;",
        "with t as (select 1 as a) select a from t",
        "explain select * from marts.fct_invoices",
        "show timezone",
        "values (1, 'x')",
        "(select 1)",
    ],
)
def test_reading_statements_run(warehouse_url, query):
    result = runner.invoke(app, ["sql", "--format", "json", "--", query])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output), result.output

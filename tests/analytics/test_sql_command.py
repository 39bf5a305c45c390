"""`invoice-sync sql` against a published database: table, CSV, JSON, errors, interactive."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from reverse_etl import analyst_sql
from reverse_etl.cli import app

runner = CliRunner()
QUERY = "select * from marts.fct_invoices order by invoice_number"


@pytest.fixture
def analytics(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "analytics.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute("create schema marts")
        con.execute(
            "create table marts.fct_invoices (invoice_number varchar, reference varchar, "
            "total decimal(18,2), due_date date, paid boolean)"
        )
        con.execute(
            "insert into marts.fct_invoices values "
            "('INV-1', '[red]PO 7[/red]', 1234567890123.45, '2026-12-01', false), "
            "('INV-2', null, 0.10, null, true)"
        )
    monkeypatch.setenv("ANALYTICS_PATH", str(path))
    return path


def test_a_table_on_the_terminal_shows_data_literally(analytics):
    result = runner.invoke(app, ["sql", QUERY])
    assert result.exit_code == 0, result.output
    assert "[red]PO 7[/red]" in result.output  # never rendered as markup
    assert "1234567890123.45" in result.output
    assert "NULL" in result.output and "2 rows" in result.output
    assert "Sandbox mode" not in result.output  # nothing but the result


def test_csv_for_scripts_is_exact(analytics):
    result = runner.invoke(app, ["sql", QUERY, "--format", "csv"])
    assert result.exit_code == 0, result.output
    rows = list(csv.reader(io.StringIO(result.output)))
    assert rows == [
        ["invoice_number", "reference", "total", "due_date", "paid"],
        ["INV-1", "[red]PO 7[/red]", "1234567890123.45", "2026-12-01", "False"],
        ["INV-2", "", "0.10", "", "True"],
    ]


def test_json_for_scripts_keeps_decimals_exact(analytics):
    result = runner.invoke(app, ["sql", QUERY, "-f", "json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == [
        {
            "invoice_number": "INV-1",
            "reference": "[red]PO 7[/red]",
            "total": "1234567890123.45",
            "due_date": "2026-12-01",
            "paid": False,
        },
        {
            "invoice_number": "INV-2",
            "reference": None,
            "total": "0.10",
            "due_date": None,
            "paid": True,
        },
    ]
    empty = runner.invoke(app, ["sql", "select 1 as x where false", "-f", "json"])
    assert json.loads(empty.output) == []


def test_the_session_is_read_only(analytics):
    result = runner.invoke(app, ["sql", "delete from marts.fct_invoices"])
    assert result.exit_code == 1
    assert "AnalystQueryError" in result.output and "read-only" in result.output
    with duckdb.connect(str(analytics), read_only=True) as con:
        assert con.execute("select count(*) from marts.fct_invoices").fetchone() == (2,)


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["sql", "selec 1"], "DuckDB refused the query"),
        (["sql", "select 1", "--format", "xml"], "use table, csv or json"),
    ],
)
def test_errors_are_one_line(analytics, args, expected):
    result = runner.invoke(app, args)
    assert result.exit_code == 1
    assert expected in result.output and "Traceback" not in result.output


def test_no_published_database_yet(tmp_path, monkeypatch):
    monkeypatch.setenv("ANALYTICS_PATH", str(tmp_path / "missing.duckdb"))
    result = runner.invoke(app, ["sql", "select 1"])
    assert result.exit_code == 1
    assert "invoice-sync sync" in result.output


def test_without_a_query_it_opens_harlequin_read_only(analytics, monkeypatch, tmp_path):
    fake = tmp_path / "bin" / "harlequin"
    fake.parent.mkdir()
    fake.write_text("#!/bin/sh\nexit 0\n")
    monkeypatch.setattr(analyst_sql.sys, "executable", str(fake.parent / "python"))
    calls: list[list[str]] = []
    monkeypatch.setattr("subprocess.call", lambda argv: calls.append(argv) or 0)
    result = runner.invoke(app, ["sql"])
    assert result.exit_code == 0, result.output
    assert calls == [[str(fake), "--adapter", "duckdb", "--read-only", str(analytics)]]


def test_without_harlequin_it_says_how_to_get_it(analytics, monkeypatch, tmp_path):
    monkeypatch.setattr(analyst_sql.sys, "executable", str(tmp_path / "python"))
    monkeypatch.setattr(analyst_sql.shutil, "which", lambda _name: None)
    result = runner.invoke(app, ["sql"])
    assert result.exit_code == 1
    assert ".[sql]" in result.output and "make sql" in result.output

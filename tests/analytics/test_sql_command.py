"""`invoice-sync sql` against a published database: table, CSV, JSON, errors, interactive."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from reverse_etl.analysts import sql as analyst_sql
from reverse_etl.app.cli import app

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
    scripts: list[str] = []

    def call(argv: list[str]) -> int:
        calls.append(argv)
        scripts.append(Path(argv[argv.index("--init-path") + 1]).read_text())
        return 0

    monkeypatch.setattr("subprocess.call", call)
    result = runner.invoke(app, ["sql"])
    assert result.exit_code == 0, result.output
    (argv,) = calls
    init_path = argv[5]
    assert argv == [
        str(fake),
        *("--adapter", "duckdb", "--read-only", "--init-path", init_path),
        str(analytics),
    ]
    assert not Path(init_path).exists()  # removed once the session ends
    # Run the init script the way Harlequin's DuckDB adapter does (each statement on the
    # read-only connection before the first query), then try to get out.
    warehouse = tmp_path / "warehouse.duckdb"
    duckdb.connect(str(warehouse)).close()
    with duckdb.connect(str(analytics), read_only=True) as con:
        for statement in scripts[0].split(";"):
            if statement.strip():
                con.execute(statement)
        for escape in (
            f"attach '{warehouse}' as w",
            f"copy (select 1) to '{tmp_path / 'out.csv'}'",
            f"select * from read_text('{warehouse}')",
            "load httpfs",
            "set enable_external_access = true",
            "reset lock_configuration",
            "create table marts.x (a int)",
        ):
            with pytest.raises(duckdb.Error):
                con.execute(escape)
    assert not (tmp_path / "out.csv").exists()


def test_without_harlequin_it_says_how_to_get_it(analytics, monkeypatch, tmp_path):
    monkeypatch.setattr(analyst_sql.sys, "executable", str(tmp_path / "python"))
    monkeypatch.setattr(analyst_sql.shutil, "which", lambda _name: None)
    result = runner.invoke(app, ["sql"])
    assert result.exit_code == 1
    assert ".[sql]" in result.output and "make sql" in result.output


@pytest.fixture
def warehouse(tmp_path: Path) -> Path:
    """A working warehouse beside the published copy: what an escape would go for."""
    path = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute("create table keep (a int)")
    (tmp_path / "secret.csv").write_text("token\nxoxo\n")
    return path


ESCAPES = {
    "attach the warehouse read-write": "attach '{warehouse}' as w",
    "attach inside a select batch": "select 1; attach '{warehouse}' as w",
    "copy to a file": "copy (select * from marts.fct_invoices) to '{dir}/out.csv'",
    "read_csv of a file": "select * from read_csv('{dir}/secret.csv')",
    "a file as a table": "select * from '{dir}/secret.csv'",
    "install": "install httpfs",
    "load": "load httpfs",
    "set to re-enable": "set enable_external_access = true",
    "reset the lock": "reset lock_configuration",
    "create table": "create table marts.evil (a int)",
    "drop table": "drop table marts.fct_invoices",
}


@pytest.mark.parametrize("sql", ESCAPES.values(), ids=ESCAPES.keys())
def test_no_query_gets_out_of_read_only(analytics, warehouse, sql):
    query = sql.format(warehouse=warehouse, dir=warehouse.parent)
    result = runner.invoke(app, ["sql", query, "--format", "csv"])
    assert result.exit_code == 1, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    assert lines[0].startswith("AnalystQueryError: Refused: `invoice-sync sql` is read-only")
    assert not (warehouse.parent / "out.csv").exists()
    assert "xoxo" not in result.output
    with duckdb.connect(str(warehouse), read_only=True) as con:
        assert con.execute("select table_name from duckdb_tables()").fetchall() == [("keep",)]
    with duckdb.connect(str(analytics), read_only=True) as con:
        assert con.execute("select count(*) from duckdb_tables()").fetchone() == (1,)


@pytest.mark.parametrize(
    "sql",
    [
        "attach '{warehouse}' as w",
        "copy (select 1) to '{dir}/out.csv'",
        "select * from read_csv('{dir}/secret.csv')",
        "install httpfs",
        "set enable_external_access = true",
    ],
)
def test_the_engine_refuses_even_without_the_statement_screen(analytics, warehouse, sql):
    """The locked settings are the real guard: the statement screen only words the refusal."""
    with analyst_sql.open_analytics(analytics) as con, pytest.raises(duckdb.Error):
        con.execute(sql.format(warehouse=warehouse, dir=warehouse.parent))
    assert not (warehouse.parent / "out.csv").exists()


def test_reading_statements_still_work(analytics):
    for query in ("show tables", "describe marts.fct_invoices", "pragma show_tables"):
        result = runner.invoke(app, ["sql", query, "--format", "csv"])
        assert result.exit_code == 0, (query, result.output)


def test_csv_cells_that_look_like_formulas_are_neutralised(tmp_path, monkeypatch):
    path = tmp_path / "analytics.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute("create table t (label varchar, amount decimal(18,2), n integer)")
        con.execute(
            "insert into t values ('=HYPERLINK(\"http://x\")', -12.50, -3), "
            "('+1+1', 1.00, 1), ('-2+3', 0.00, 0), ('@SUM(A1)', 2.00, 2), "
            "(chr(9) || '=1', 3.00, 3), (chr(13) || '=1', 4.00, 4), ('INV-1', 5.00, 5), "
            "('-12.50', 6.00, 6)"
        )
    monkeypatch.setenv("ANALYTICS_PATH", str(path))
    result = runner.invoke(app, ["sql", "select * from t", "--format", "csv"])
    assert result.exit_code == 0, result.output
    rows = list(csv.reader(io.StringIO(result.output)))
    assert rows[1:] == [
        ['\'=HYPERLINK("http://x")', "-12.50", "-3"],  # numbers stay numbers
        ["'+1+1", "1.00", "1"],
        ["'-2+3", "0.00", "0"],
        ["'@SUM(A1)", "2.00", "2"],
        ["'\t=1", "3.00", "3"],
        ["'\r=1", "4.00", "4"],
        ["INV-1", "5.00", "5"],
        ["'-12.50", "6.00", "6"],  # text that looks like a number is still text
    ]
    header = runner.invoke(app, ["sql", 'select 1 as "=cmd"', "--format", "csv"])
    assert header.output.splitlines()[0] == "'=cmd"


def test_control_characters_show_visibly_in_a_table_and_stay_exact_in_a_pipe(tmp_path, monkeypatch):
    path = tmp_path / "analytics.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute("create table t as select 'INV-' || chr(27) || '[2J' || chr(155) as n")
    monkeypatch.setenv("ANALYTICS_PATH", str(path))
    table = runner.invoke(app, ["sql", "select n from t"])
    assert table.exit_code == 0, table.output
    assert "\x1b" not in table.output and "\x9b" not in table.output
    assert "INV-\\x1b[2J\\x9b" in table.output
    piped = runner.invoke(app, ["sql", "select n from t", "--format", "csv"])
    assert piped.output.splitlines()[1] == "INV-\x1b[2J\x9b"  # data for scripts stays exact


def test_decimals_print_in_plain_notation_at_money_scale(tmp_path, monkeypatch):
    """The marts' decimal(38,9) amounts: zero as 0.00 (not 0E-9), money without the padding
    zeros, a rate with the digits it has; the same text in the table, CSV and JSON."""
    path = tmp_path / "analytics.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute("create schema marts")
        con.execute(
            "create table marts.amounts as select 0::decimal(38,9) as zero, "
            "2123495.86::decimal(38,9) as money, 1.2345::decimal(38,9) as rate, "
            "-12.5::decimal(38,9) as credit, 0.000000001::decimal(38,9) as tiny, "
            "42::decimal(38,0) as whole"
        )
    monkeypatch.setenv("ANALYTICS_PATH", str(path))
    query = "select * from marts.amounts"
    expected = ["0.00", "2123495.86", "1.2345", "-12.50", "0.000000001", "42"]

    table = runner.invoke(app, ["sql", query])
    assert table.exit_code == 0, table.output
    assert "E-9" not in table.output and "860000000" not in table.output
    for text in expected:
        assert text in table.output
    rows = list(csv.reader(io.StringIO(runner.invoke(app, ["sql", query, "-f", "csv"]).output)))
    assert rows[1] == expected
    (record,) = json.loads(runner.invoke(app, ["sql", query, "-f", "json"]).output)
    assert list(record.values()) == expected

"""`invoice-sync sql`: query the published analysts' database (``ANALYTICS_PATH``), read-only.

On PostgreSQL (``WAREHOUSE_URL``) there is no published copy: the query runs on the warehouse
in a read-only transaction (:mod:`reverse_etl.analysts.sql_postgres`), rendered the same way.

With a query: the result as a table (terminal), CSV or JSON (scripts). Values are printed as
text, never interpreted as Rich markup (an invoice reference may well contain ``[red]``), and
on a terminal with their control characters visible (:func:`reverse_etl.core.safe_text.printable`);
CSV and JSON written to a file or a pipe keep the exact data;
decimals stay exact (JSON gets them as strings, like HubSpot's own API). A table shows the first
:data:`TABLE_ROW_LIMIT` rows and says how many more there are; CSV and JSON stream every row.

Without a query: an interactive session in Harlequin (https://harlequin.sh, a terminal SQL IDE
over DuckDB; the optional ``sql`` extra), opened with ``--read-only`` on ``ANALYTICS_PATH``.
Harlequin was chosen over the ``duckdb`` CLI because the CLI's packaged builds lag the Python
package's storage format (a file written by duckdb 2.0 may not open in an older CLI), while
Harlequin uses the same ``duckdb`` Python package as the sync.

Read-only for real, not only for the published file: ``read_only=True`` alone still lets a query
``ATTACH`` the working warehouse read-write, ``COPY … TO`` any file or ``read_csv`` any file.
So every session (a query, or Harlequin through its ``--init-path`` script, which it runs on
its connection before the first query) also sets, per DuckDB's "Securing DuckDB" page
(duckdb.org/docs/2.0/operations_manual/securing_duckdb/overview) and "Securing Extensions":
``enable_external_access = false`` (no ``ATTACH`` of a file, no ``COPY`` to or from files, no
``read_csv``/``read_text``/``read_parquet``, no ``INSTALL``/``LOAD``), ``autoinstall`` and
``autoload_known_extensions = false``, ``allow_community_extensions = false``, then
``lock_configuration = true`` so no ``SET``/``RESET`` can undo them. A query is also screened
by statement type first (:data:`ALLOWED_STATEMENTS`), so a refusal is one clear line.
"""

from __future__ import annotations

import csv
import json
import shutil
import sys
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal, TextIO
from uuid import UUID

import duckdb
from rich.console import Console
from rich.table import Table
from rich.text import Text

from reverse_etl.core.errors import AnalystQueryError
from reverse_etl.core.safe_text import printable
from reverse_etl.core.settings import Settings
from reverse_etl.core.warehouse import Warehouse

OutputFormat = Literal["table", "csv", "json"]
TABLE_ROW_LIMIT = 1000
_BATCH = 10_000

# Applied in this order: the last one freezes the rest (DuckDB refuses any later SET/RESET).
LOCKDOWN_SETTINGS: tuple[tuple[str, str], ...] = (
    ("enable_external_access", "false"),
    ("autoinstall_known_extensions", "false"),
    ("autoload_known_extensions", "false"),
    ("allow_community_extensions", "false"),
    ("lock_configuration", "true"),
)
# What a query may be: reading statements only (SHOW, DESCRIBE and SUMMARIZE parse as SELECT).
ALLOWED_STATEMENTS = frozenset({"SELECT", "EXPLAIN", "PRAGMA", "CALL"})
_REFUSAL = (
    "Refused: `invoice-sync sql` is read-only ({what}). Query the published tables with "
    "SELECT (or SHOW / DESCRIBE / SUMMARIZE); to export, use --format csv or json."
)
# The cell starts that a spreadsheet reads as a formula (OWASP "CSV Injection").
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


@dataclass
class QueryResult:
    columns: list[str]
    rows: Iterator[tuple[Any, ...]]


def open_analytics(path: Path) -> duckdb.DuckDBPyConnection:
    """A read-only connection on the published database, or a one-line error saying why not."""
    if not path.is_file():
        raise AnalystQueryError(
            f"There is no analysts' database at {path} yet: it is published at the end of each "
            "`invoice-sync sync` (or set ANALYTICS_PATH to where it is)."
        )
    try:
        return duckdb.connect(str(path), read_only=True, config=dict(LOCKDOWN_SETTINGS))
    except duckdb.Error as exc:
        raise AnalystQueryError(f"Could not open {path} read-only: {_one_line(exc)}") from None


def analysts_source(settings: Settings) -> Path | Warehouse:
    """Where analysts' queries run: the published copy (DuckDB), or the warehouse itself when
    its engine needs no copy (PostgreSQL)."""
    warehouse = settings.warehouse
    return settings.analytics_path if warehouse.analysts_copy else warehouse


def run_query(
    source: Path | Warehouse,
    query: str,
    out: TextIO,
    fmt: OutputFormat,
    console: Console | None = None,
) -> int:
    """Run ``query`` on the database at ``source`` (the published file, or a warehouse that
    needs no copy: :func:`analysts_source`) and write the result; returns the row count."""
    if isinstance(source, Warehouse):
        from reverse_etl.analysts import sql_postgres

        statement = sql_postgres.refuse_non_reads(query)
        con = sql_postgres.open_read_only(source)
        try:
            columns, fetched = sql_postgres.execute_read_only(con, statement)
        finally:
            con.close()
        return _render(columns, iter(fetched), out, fmt, console)
    refuse_writing_statements(query)
    with open_analytics(source) as con:
        try:
            cursor = con.execute(query)
        except duckdb.PermissionException as exc:
            raise AnalystQueryError(_REFUSAL.format(what=_reason(exc))) from None
        except duckdb.Error as exc:
            if "read-only mode" in str(exc) or "configuration has been locked" in str(exc):
                raise AnalystQueryError(_REFUSAL.format(what=_reason(exc))) from None
            raise AnalystQueryError(f"DuckDB refused the query: {_one_line(exc)}") from None
        columns = [d[0] for d in cursor.description or []]
        return _render(columns, _rows(cursor), out, fmt, console)


def _render(
    columns: list[str],
    rows: Iterator[tuple[Any, ...]],
    out: TextIO,
    fmt: OutputFormat,
    console: Console | None,
) -> int:
    if fmt != "table" and out.isatty():  # for a person to read: no raw control characters
        rows = (tuple(_on_terminal(v) for v in row) for row in rows)
    if fmt == "csv":
        return _write_csv(columns, rows, out)
    if fmt == "json":
        return _write_json(columns, rows, out)
    return _print_table(columns, rows, console or Console(file=out))


def refuse_writing_statements(query: str) -> None:
    """One clear line for a statement that is not a read (``ATTACH``, ``COPY``, ``SET``,
    ``INSTALL``/``LOAD``, ``CREATE``, …); the locked settings refuse them anyway."""
    try:
        statements = duckdb.extract_statements(query)
    except duckdb.Error as exc:
        raise AnalystQueryError(f"DuckDB refused the query: {_one_line(exc)}") from None
    for statement in statements:
        kind = statement.type.name
        if kind not in ALLOWED_STATEMENTS:
            first_word = (statement.query.split() or [kind])[0].upper()
            what = first_word if first_word == kind else f"{first_word} (a {kind} statement)"
            raise AnalystQueryError(_REFUSAL.format(what=f"{what} is not allowed"))


def lockdown_script() -> str:
    """The SQL that locks a session down: Harlequin's ``--init-path`` script."""
    return "".join(f"SET {name} = {value};\n" for name, value in LOCKDOWN_SETTINGS)


@contextmanager
def interactive_init_script() -> Iterator[Path]:
    """A private file holding :func:`lockdown_script`, for as long as the session runs."""
    with tempfile.TemporaryDirectory(prefix="invoice-sync-sql-") as folder:
        script = Path(folder) / "lockdown.sql"
        script.write_text(lockdown_script())
        yield script


def interactive_command(path: Path | Warehouse, init_script: Path) -> list[str]:
    """The argv of the interactive session, or an error naming how to install it.

    Harlequin's DuckDB adapter opens ``path`` with ``--read-only`` and then executes every
    statement of ``--init-path`` on that connection before the first query (its
    ``DuckDbAdapter.connect``), so the session is as locked down as :func:`run_query`'s. On
    PostgreSQL: a one-line error pointing to a query or the team's own SQL client."""
    if isinstance(path, Warehouse):
        raise AnalystQueryError(
            f"The interactive session opens the DuckDB analysts' copy; on PostgreSQL analysts "
            f'query {path.label} directly: pass a query (invoice-sync sql "select …") or '
            "use psql / a BI tool with a read-only role (README, Running on PostgreSQL)."
        )
    if not path.is_file():
        open_analytics(path)  # raises the "not published yet" error
    beside = Path(sys.executable).with_name("harlequin")
    program = str(beside) if beside.is_file() else shutil.which("harlequin")
    if program is None:
        raise AnalystQueryError(
            "The interactive SQL session needs Harlequin, the optional 'sql' extra: run "
            "`pip install -e '.[sql]'` (or `make sql`, which installs it), or pass a query: "
            'invoice-sync sql "select …".'
        )
    return [
        program,
        "--adapter",
        "duckdb",
        "--read-only",
        "--init-path",
        str(init_script),
        str(path),
    ]


def _rows(cursor: duckdb.DuckDBPyConnection) -> Iterator[tuple[Any, ...]]:
    while batch := cursor.fetchmany(_BATCH):
        yield from batch


def _print_table(columns: Sequence[str], rows: Iterator[tuple[Any, ...]], console: Console) -> int:
    table = Table()
    for column in columns:
        table.add_column(Text(printable(column)))
    shown = 0
    more = 0
    for row in rows:
        if shown < TABLE_ROW_LIMIT:
            table.add_row(*[_cell(v) for v in row])
            shown += 1
        else:
            more += 1
    console.print(table)
    tail = f"{shown + more:,} row{'s' if shown + more != 1 else ''}"
    if more:
        tail += f" ({more:,} not shown: use --format csv or add a LIMIT)"
    console.print(Text(tail, style="dim"))
    return shown + more


def _cell(value: Any) -> Text:
    if value is None:
        return Text("NULL", style="dim")
    return Text(printable(_plain(value)))


def _write_csv(columns: Sequence[str], rows: Iterator[tuple[Any, ...]], out: TextIO) -> int:
    """Lines end in ``\n``; Python's writer then leaves a lone ``\r`` unquoted (it quotes only
    the line terminator's characters), so a row holding one is written fully quoted."""
    writer = csv.writer(out, lineterminator="\n")
    quoted = csv.writer(out, lineterminator="\n", quoting=csv.QUOTE_ALL)
    writer.writerow([csv_text(c) for c in columns])
    count = 0
    for row in rows:
        cells = [csv_cell(v) for v in row]
        (quoted if any("\r" in c for c in cells) else writer).writerow(cells)
        count += 1
    return count


def csv_cell(value: Any) -> str:
    """A CSV cell a spreadsheet will not run: text starting like a formula gets a leading
    ``'`` (OWASP "CSV Injection"); numbers stay numbers, ``-12.50`` included."""
    if value is None:
        return ""
    if isinstance(value, bool | int | float | Decimal):
        return _plain(value)
    return csv_text(_plain(value))


def csv_text(text: str) -> str:
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


def _write_json(columns: Sequence[str], rows: Iterator[tuple[Any, ...]], out: TextIO) -> int:
    """A JSON array of objects, written row by row (no whole result in memory)."""
    count = 0
    out.write("[")
    for row in rows:
        out.write(",\n " if count else "\n ")
        record = dict(zip(columns, (_json_value(v) for v in row), strict=True))
        out.write(json.dumps(record, ensure_ascii=False))
        count += 1
    out.write("\n]\n" if count else "]\n")
    return count


def _on_terminal(value: Any) -> Any:
    return printable(value) if isinstance(value, str) else value


def decimal_text(value: Decimal) -> str:
    """A decimal in plain notation, without the zeros its column's scale pads it with, but
    with at least two decimals when it has any: ``0E-9`` → ``0.00``, ``2123495.860000000`` →
    ``2123495.86``, a rate ``1.234500000`` → ``1.2345``. Exact: only trailing zeros go. The
    marts keep nine decimals so that amounts in base currency are never rounded twice
    (docs/contracts.md); analysts read money at its currency's scale."""
    if not value.is_finite():
        return str(value)
    text = format(value, "f")
    whole, point, fraction = text.partition(".")
    if not point:
        return text
    return f"{whole}.{fraction.rstrip('0').ljust(2, '0')}"


def _plain(value: Any) -> str:
    if isinstance(value, Decimal):
        return decimal_text(value)
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, list | dict):
        return json.dumps(_json_value(value), ensure_ascii=False)
    return str(value)


def _json_value(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, Decimal):
        return decimal_text(value)  # exact: never through a float
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [_json_value(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _json_value(v) for k, v in value.items()}
    if isinstance(value, bytes):
        return value.hex()
    return str(value)


def _reason(exc: BaseException) -> str:
    """DuckDB's message without its ``LINE 1: …`` query echo."""
    return _one_line(exc).split(" LINE ")[0]


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())

"""`invoice-sync sql`: query the published analysts' database (``ANALYTICS_PATH``), read-only.

With a query: the result as a table (terminal), CSV or JSON (scripts). Values are printed as
text, never interpreted as Rich markup (an invoice reference may well contain ``[red]``);
decimals stay exact (JSON gets them as strings, like HubSpot's own API). A table shows the first
:data:`TABLE_ROW_LIMIT` rows and says how many more there are; CSV and JSON stream every row.

Without a query: an interactive session in Harlequin (https://harlequin.sh, a terminal SQL IDE
over DuckDB; the optional ``sql`` extra), opened with ``--read-only`` on ``ANALYTICS_PATH``.
Harlequin was chosen over the ``duckdb`` CLI because the CLI's packaged builds lag the Python
package's storage format (a file written by duckdb 2.0 may not open in an older CLI), while
Harlequin uses the same ``duckdb`` Python package as the sync.
"""

from __future__ import annotations

import csv
import json
import shutil
import sys
from collections.abc import Iterator, Sequence
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

from reverse_etl.errors import AnalystQueryError

OutputFormat = Literal["table", "csv", "json"]
TABLE_ROW_LIMIT = 1000
_BATCH = 10_000


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
        return duckdb.connect(str(path), read_only=True)
    except duckdb.Error as exc:
        raise AnalystQueryError(f"Could not open {path} read-only: {_one_line(exc)}") from None


def run_query(
    path: Path, query: str, out: TextIO, fmt: OutputFormat, console: Console | None = None
) -> int:
    """Run ``query`` on the database at ``path`` and write the result; returns the row count."""
    with open_analytics(path) as con:
        try:
            cursor = con.execute(query)
        except duckdb.Error as exc:
            raise AnalystQueryError(f"DuckDB refused the query: {_one_line(exc)}") from None
        columns = [d[0] for d in cursor.description or []]
        rows = _rows(cursor)
        if fmt == "csv":
            return _write_csv(columns, rows, out)
        if fmt == "json":
            return _write_json(columns, rows, out)
        return _print_table(columns, rows, console or Console(file=out))


def interactive_command(path: Path) -> list[str]:
    """The argv of the interactive session, or an error naming how to install it."""
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
    return [program, "--adapter", "duckdb", "--read-only", str(path)]


def _rows(cursor: duckdb.DuckDBPyConnection) -> Iterator[tuple[Any, ...]]:
    while batch := cursor.fetchmany(_BATCH):
        yield from batch


def _print_table(columns: Sequence[str], rows: Iterator[tuple[Any, ...]], console: Console) -> int:
    table = Table()
    for column in columns:
        table.add_column(Text(column))
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
    return Text(_plain(value))


def _write_csv(columns: Sequence[str], rows: Iterator[tuple[Any, ...]], out: TextIO) -> int:
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    count = 0
    for row in rows:
        writer.writerow(["" if v is None else _plain(v) for v in row])
        count += 1
    return count


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


def _plain(value: Any) -> str:
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, list | dict):
        return json.dumps(_json_value(value), ensure_ascii=False)
    return str(value)


def _json_value(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, Decimal | UUID):
        return str(value)  # exact: never through a float
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [_json_value(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _json_value(v) for k, v in value.items()}
    if isinstance(value, bytes):
        return value.hex()
    return str(value)


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())

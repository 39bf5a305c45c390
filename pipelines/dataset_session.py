"""The extract's own questions and small writes to the warehouse, on one connection.

The extract asks the raw datasets small questions before and after each dlt run (does the
table exist, which versions are known, which records are quarantined). Asked through
``pipeline.sql_client()``, each question resolved dlt's destination configuration again
(~30 ms of environment lookups) and opened the DuckDB file again (~15 ms: open, then a
checkpoint when the last connection closed): a quiet hourly run paid about one second for 23
of them. Here one connection, the warehouse seam's (:mod:`reverse_etl.core.warehouse`), is
opened for the extract and every question is a cursor on it. Its SQL is portable (DuckDB and
PostgreSQL): ``?`` placeholders, ``information_schema``, ``set search_path``.

On DuckDB, while that connection is open, every other ``duckdb.connect`` to the same file in
this process, dlt's included, reuses the open database instance instead of opening the file
(DuckDB's Python client keeps one instance per database file and hands out connections to
it; DuckDB docs, "Python DB API" → "Using Connections in Threads / Instance cache"). The
connection is closed when the extract ends, before dbt opens the warehouse with its own
settings. On PostgreSQL it is one session in autocommit: each statement commits on its own,
as on DuckDB.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from reverse_etl.core.warehouse import MISSING_RELATION, Connection, Warehouse


class DatasetSession:
    """Questions about one dlt dataset (its tables by their bare names), and the extract's own
    small writes beside dlt's (``extract_runs``, the contract tables, dropping the staging
    schema). The warehouse is opened at the first question, so an extract that fails before
    asking one (wrong credentials) leaves no warehouse file behind."""

    def __init__(self, warehouse: Warehouse, dataset: str) -> None:
        self.warehouse = warehouse
        self._connection: Connection | None = None
        self.dataset = dataset

    def _cursor(self) -> Connection:
        if self._connection is None:
            self._connection = self.warehouse.connect()
        return self._connection.cursor()

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def query(self, sql: str, *args: Any) -> list[tuple[Any, ...]]:
        """Rows of ``sql`` (``?`` placeholders), or none when the table does not exist yet."""
        cursor = self._cursor()
        try:
            cursor.execute(f"set search_path = '{self.dataset}'")
            return cursor.execute(sql, list(args)).fetchall()
        except MISSING_RELATION:  # no such table (or schema) yet
            return []
        finally:
            cursor.close()

    def execute(self, sql: str, *args: Any) -> None:
        """Run one statement (``?`` placeholders); table names qualified by the caller."""
        cursor = self._cursor()
        try:
            cursor.execute(sql, list(args))
        finally:
            cursor.close()

    def table_exists(self, table: str) -> bool:
        """Whether the dataset holds ``table``. A cursor without its table (the warehouse file
        was deleted or replaced, the pipeline state kept) must not be trusted: read everything
        again."""
        return bool(
            self.query(
                "select 1 from information_schema.tables where table_schema = ? and table_name = ?",
                self.dataset,
                table,
            )
        )


@contextmanager
def dataset_session(warehouse: Warehouse, dataset: str) -> Iterator[DatasetSession]:
    """One connection to the warehouse for an extract's questions about ``dataset``."""
    session = DatasetSession(warehouse, dataset)
    try:
        yield session
    finally:
        session.close()

"""Test-side glue: the project's extract (``pipelines.run.run_extract``) into PostgreSQL.

``pipelines/`` hard-wires DuckDB in three places, and :func:`extract_into_postgres` swaps
exactly those for the duration of one extract, leaving the rest of the extract as it is (the
Xero and HubSpot sources, the cursors, the quarantine, ``_ensure_tables``, ``extract_runs``):

- ``pipelines.run._pipeline`` builds ``dlt.destinations.duckdb(...)``: here dlt's postgres
  destination with the same pipeline names, datasets and state directory (dlt docs,
  "Destinations" → "Postgres": credentials as a ``postgresql://`` connection string).
- ``pipelines.run.dataset_session`` opens ``duckdb.connect(warehouse)`` for the extract's own
  questions and writes: here :class:`PostgresDatasetSession`, the same four calls on psycopg2
  (its ``%s`` placeholders are the ones the extract already writes).
- ``pipelines.run.secure_warehouse`` chmods the DuckDB file: nothing to do on a server.
- ``pipelines.dlt_run.LOADER_FILE_FORMAT`` is ``jsonl``, which dlt's postgres destination does not
  load ("Supported formats: csv, parquet, insert_values, model", dlt 1.31's error): here
  ``insert_values``, its default.

What the extract asks is portable SQL already (``set search_path``, ``information_schema``,
``select unnest(%s)`` with a list, the DDL of ``_ensure_tables``: VARCHAR, DECIMAL(p,s),
TIMESTAMP WITH TIME ZONE and BIGINT are PostgreSQL types too). The warehouse seam of issue 22
will own this choice; until then this module is the list of what it has to cover.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import dlt
import psycopg2
import psycopg2.errors
import pytest

import pipelines.dlt_run as dlt_run
import pipelines.run as extract_run
from pipelines.housekeeping import make_private
from reverse_etl.core.settings import Settings
from tests.fixtures.postgres import PostgresCluster

POSTGRES_FILE_FORMAT = "insert_values"


class PostgresDatasetSession:
    """:class:`pipelines.dataset_session.DatasetSession` on PostgreSQL (autocommit, as the
    DuckDB session's statements each commit on their own)."""

    def __init__(self, cluster: PostgresCluster, dataset: str) -> None:
        self._cluster = cluster
        self._connection: Any = None
        self.dataset = dataset

    def _cursor(self) -> Any:
        if self._connection is None:
            self._connection = self._cluster.connect()
            self._connection.autocommit = True
        return self._connection.cursor()

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def query(self, sql: str, *args: Any) -> list[tuple[Any, ...]]:
        with self._cursor() as cursor:
            try:
                cursor.execute(f"set search_path = '{self.dataset}'")
                cursor.execute(sql, list(args))
                return cursor.fetchall()
            except (psycopg2.errors.UndefinedTable, psycopg2.errors.InvalidSchemaName):
                return []

    def execute(self, sql: str, *args: Any) -> None:
        with self._cursor() as cursor:
            cursor.execute(sql, list(args))

    def table_exists(self, table: str) -> bool:
        return bool(
            self.query(
                "select 1 from information_schema.tables where table_schema = %s "
                "and table_name = %s",
                self.dataset,
                table,
            )
        )


@contextmanager
def extract_into_postgres(
    monkeypatch: pytest.MonkeyPatch, cluster: PostgresCluster
) -> Iterator[None]:
    """While inside, ``pipelines.run`` loads into ``cluster`` instead of the DuckDB file."""

    def pipeline(settings: Settings, name: str, dataset: str) -> dlt.Pipeline:
        pipelines_dir = Path(settings.state_dir) / "dlt"
        pipelines_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        make_private(pipelines_dir)
        return dlt.pipeline(
            pipeline_name=name,
            pipelines_dir=str(pipelines_dir),
            destination=dlt.destinations.postgres(credentials=cluster.url),
            dataset_name=dataset,
        )

    @contextmanager
    def session(warehouse: Any, dataset: str) -> Iterator[PostgresDatasetSession]:
        del warehouse
        opened = PostgresDatasetSession(cluster, dataset)
        try:
            yield opened
        finally:
            opened.close()

    with monkeypatch.context() as patch:
        patch.setattr(extract_run, "_pipeline", pipeline)
        patch.setattr(extract_run, "dataset_session", session)
        patch.setattr(extract_run, "secure_warehouse", lambda path: None)
        patch.setattr(dlt_run, "LOADER_FILE_FORMAT", POSTGRES_FILE_FORMAT)
        yield

"""The warehouse seam (issue 22): every part of the product asks this module for the warehouse.

One setting chooses the engine, read once by :mod:`reverse_etl.core.settings`:
``WAREHOUSE_URL`` (``postgresql://user:password@host:5432/invoices``) selects PostgreSQL; when
it is unset the warehouse is the DuckDB file at ``WAREHOUSE_PATH``, as before. Each engine is
one class here, answering the same questions:

- :meth:`Warehouse.connect`: a connection with DuckDB's Python API (``execute(sql, params)``
  returning something with ``fetchall`` / ``fetchone``, ``executemany``, ``cursor``,
  ``close``; ``?`` placeholders). On DuckDB it *is* a ``duckdb`` connection (nothing between
  the product and the engine it always used); on PostgreSQL, :class:`PostgresConnection` wraps
  psycopg2 to the same shape. A table or schema that does not exist raises one of
  :data:`MISSING_RELATION` on either engine.
- :meth:`Warehouse.lock`: one run at a time. DuckDB: an ``flock`` beside the file
  (:mod:`reverse_etl.core.lock`). PostgreSQL: a session advisory lock
  (``pg_try_advisory_lock``), held on its own connection for the run; the server releases it
  when that connection ends, so a killed run leaves no stale lock (PostgreSQL docs, "Explicit
  Locking" → "Advisory Locks"). Either way a second run gets
  :class:`~reverse_etl.core.errors.LockBusyError` (exit 4).
- :meth:`Warehouse.dlt_destination` and :meth:`Warehouse.dbt_target`: where dlt loads and
  which ``profiles.yml`` output dbt builds in; :attr:`Warehouse.loader_file_format`: the file
  format dlt's extract writes for it (the one place each engine's choice is made).
- :attr:`Warehouse.analysts_copy`: whether analysts need a published copy (DuckDB: one writer
  per file) or query the warehouse itself (PostgreSQL's MVCC lets readers and the sync run at
  once).

A third engine is one more class here, its spellings of the few statements that differ in
:mod:`reverse_etl.core.warehouse_sql`, plus its dbt adapter and ``profiles.yml`` output; the
rest of the product treats any engine but DuckDB as a server (no file, no analysts' copy, the
run log's tables checked once per run).
"""

from __future__ import annotations

import hashlib
import os
import re
import socket
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import unquote, urlparse

import duckdb

from reverse_etl.core.errors import ConfigError, LockBusyError
from reverse_etl.core.failures import busy_error
from reverse_etl.core.private_files import shared_folder

POSTGRES_SCHEMES = ("postgresql", "postgres")


class MissingRelation(Exception):
    """A table or schema that does not exist (yet), raised by non-DuckDB connections."""


# `except MISSING_RELATION:` catches "no such table / schema" on every engine.
MISSING_RELATION: tuple[type[Exception], ...] = (duckdb.CatalogException, MissingRelation)


class Connection(Protocol):
    """What the product uses of a warehouse connection (DuckDB's Python API)."""

    def execute(self, sql: str, parameters: Any = None) -> Any: ...

    def executemany(self, sql: str, parameters: Any) -> Any: ...

    def fetchall(self) -> list[tuple[Any, ...]]: ...

    def fetchone(self) -> tuple[Any, ...] | None: ...

    def cursor(self) -> Connection: ...

    def close(self) -> None: ...


class Warehouse(ABC):
    """Where the pipeline's data lives; see the module docstring."""

    engine: str
    analysts_copy: bool
    loader_file_format: str

    @property
    @abstractmethod
    def label(self) -> str:
        """The warehouse for messages: a path, or a URL with its password masked."""

    @abstractmethod
    def connect(self, *, read_only: bool = False) -> Connection:
        """A new connection; ``read_only``: one that refuses writes."""

    @abstractmethod
    def lock(self, purpose: str = "sync") -> AbstractContextManager[None]:
        """Hold the one-run-at-a-time lock for the block, or raise LockBusyError at once."""

    @abstractmethod
    def exists(self) -> bool:
        """Whether the warehouse has been created (a first run creates it)."""

    @abstractmethod
    def dlt_destination(self) -> Any:
        """dlt's destination for this warehouse."""

    @abstractmethod
    def dbt_target(self) -> tuple[str, dict[str, str]]:
        """The ``profiles.yml`` output dbt builds in, and the environment it reads."""


class DuckDBWarehouse(Warehouse):
    """The embedded default: one DuckDB file."""

    engine = "duckdb"
    analysts_copy = True
    loader_file_format = "jsonl"  # DESIGN.md: 3x faster and 8x smaller than insert_values
    memory_limit = "512MB"  # DuckDB's buffer pool while dlt loads; see dlt_destination

    def __init__(self, path: Path) -> None:
        self.path = path

    @property
    def label(self) -> str:
        return str(self.path)

    def connect(self, *, read_only: bool = False) -> Connection:
        """The file opened (for writing unless ``read_only``); a file another process holds is
        "busy" (:class:`~reverse_etl.core.errors.WarehouseBusyError`, exit 4)."""
        shared_folder(self.path.parent)
        try:
            return duckdb.connect(str(self.path), read_only=read_only)
        except duckdb.IOException as exc:
            busy = busy_error(exc, self.path)
            if busy is None:
                raise
            raise busy from exc

    def lock(self, purpose: str = "sync") -> AbstractContextManager[None]:
        from reverse_etl.core.lock import sync_lock  # lock imports nothing of this module

        return sync_lock(self.path, purpose)

    def exists(self) -> bool:
        return self.path.is_file()

    def dlt_destination(self) -> Any:
        """The file, with DuckDB's memory capped at :attr:`memory_limit`.

        DuckDB's default limit is 80 % of the machine's memory, and its buffer pool grows
        towards it while dlt loads and merges a large package (``read_json`` into the staging
        tables, the de-duplicating ``ROW_NUMBER()``, the ``INSERT … SELECT``): measured at
        100,000 invoices the load step's peak RSS was 700 MB against 270 MB for extract and
        normalize, and it grows with the backfill. With a limit DuckDB spills to its temporary
        directory instead (DuckDB docs, "Memory management" / ``memory_limit``).
        ``memory_limit`` is a global setting of the database instance: a connection another
        component holds open on the same file in this process (dbt-duckdb) shares it.
        ``global_config`` is applied on each new connection of dlt's pool (dlt 1.31,
        ``DuckDbCredentials``).
        """
        import dlt  # seconds to import: the extract only
        from dlt.destinations.impl.duckdb.configuration import DuckDbCredentials  # as dlt

        shared_folder(self.path.parent)
        credentials = DuckDbCredentials(
            str(self.path), global_config={"memory_limit": self.memory_limit}
        )
        return dlt.destinations.duckdb(credentials)

    def dbt_target(self) -> tuple[str, dict[str, str]]:
        return "duckdb", {}


class PostgresWarehouse(Warehouse):
    """A PostgreSQL database named by ``WAREHOUSE_URL``."""

    engine = "postgres"
    analysts_copy = False
    loader_file_format = "insert_values"
    """dlt's postgres destination loads insert_values, csv (``COPY``), parquet, model, not
    jsonl. csv was faster (20,000 invoices on a loaded 2-core machine: 47.9 s against 62.5 s,
    the load step 4.8 s against 10.5 s) but loses the empty string: dlt's ``COPY`` reads
    ``NULL ''`` with ``FORCE_NULL`` on every nullable column (dlt 1.31,
    ``PostgresCsvCopyJob``), so a contact's empty text field became NULL where DuckDB
    keeps ``''`` and the raw tables no longer matched (tests/postgres/test_extract_on_postgres.py).
    """

    def __init__(self, url: str) -> None:
        parsed = urlparse(url)
        if parsed.scheme not in POSTGRES_SCHEMES or not parsed.hostname or not parsed.path[1:]:
            raise ConfigError(
                "WAREHOUSE_URL must look like postgresql://user:password@host:5432/database "
                f"(got {masked_url(url)}); unset it to use the DuckDB file at WAREHOUSE_PATH."
            )
        self.url = url
        self._parsed = parsed

    @property
    def label(self) -> str:
        return masked_url(self.url)

    @property
    def database(self) -> str:
        return unquote(self._parsed.path[1:])

    def connect(self, *, read_only: bool = False) -> Connection:
        import psycopg2  # the postgres extra: only when WAREHOUSE_URL is set

        raw = psycopg2.connect(self.url, application_name=_application_name("sync"))
        raw.autocommit = True  # as on DuckDB: each statement commits unless `begin` is sent
        if read_only:
            raw.set_session(readonly=True, autocommit=True)
        return PostgresConnection(raw)

    @contextmanager
    def lock(self, purpose: str = "sync") -> Iterator[None]:
        import psycopg2  # the postgres extra: only when WAREHOUSE_URL is set

        raw = psycopg2.connect(self.url, application_name=_application_name(purpose))
        raw.autocommit = True
        try:
            with raw.cursor() as cursor:
                cursor.execute("select pg_try_advisory_lock(%s)", (self.lock_key,))
                (acquired,) = cursor.fetchone()
                if not acquired:
                    raise LockBusyError(
                        f"Another invoice-sync run holds the lock on {self.label} "
                        f"({self._holder(cursor)}). This run did nothing; the next scheduled "
                        "run will catch up. The lock is a PostgreSQL advisory lock: it ends "
                        "with the holder's connection."
                    )
            yield
        finally:
            raw.close()  # the session's advisory lock ends with it

    @property
    def lock_key(self) -> int:
        """The advisory lock's key: this database's, the same from every host."""
        digest = hashlib.sha256(f"invoice-sync:{self.database}".encode()).digest()
        return int.from_bytes(digest[:8], "big", signed=True)

    def _holder(self, cursor: Any) -> str:
        cursor.execute(
            "select a.application_name, a.client_addr, a.backend_start from pg_locks l "
            "join pg_stat_activity a on a.pid = l.pid where l.locktype = 'advisory' "
            "and l.granted and l.objid = (%s::bigint & 4294967295)::oid limit 1",
            (self.lock_key,),
        )
        row = cursor.fetchone()
        if row is None:
            return "holder unknown"
        name, address, since = row
        return f"{name or 'unnamed session'} from {address or 'a local socket'} since {since}"

    def exists(self) -> bool:
        return True  # a server database exists before the first run; setup creates the schemas

    def dlt_destination(self) -> Any:
        import dlt  # seconds to import: the extract only

        return dlt.destinations.postgres(credentials=self.url)

    def dbt_target(self) -> tuple[str, dict[str, str]]:
        parsed = self._parsed
        return "postgres", {
            "POSTGRES_HOST": parsed.hostname or "127.0.0.1",
            "POSTGRES_PORT": str(parsed.port or 5432),
            "POSTGRES_USER": unquote(parsed.username or ""),
            "DBT_ENV_SECRET_POSTGRES_PASSWORD": unquote(parsed.password or ""),
            "POSTGRES_DBNAME": self.database,
        }


class PostgresConnection:
    """psycopg2 in DuckDB's connection shape: ``?`` placeholders, ``execute`` returning the
    connection (``con.execute(...).fetchall()``), a missing table raising
    :class:`MissingRelation`. ``cursor()`` is another cursor on the same session, and
    closing it closes only that cursor (as a DuckDB cursor's ``close`` leaves its connection
    open)."""

    def __init__(self, raw: Any, *, owns_session: bool = True) -> None:
        self.raw = raw
        self._cursor = raw.cursor()
        self._owns_session = owns_session

    def execute(self, sql: str, parameters: Any = None) -> PostgresConnection:
        import psycopg2.errors  # the postgres extra, imported by connect() already

        try:
            if parameters is None or len(parameters) == 0:
                self._cursor.execute(sql)
            else:
                self._cursor.execute(to_pyformat(sql), tuple(parameters))
        except (psycopg2.errors.UndefinedTable, psycopg2.errors.InvalidSchemaName) as exc:
            raise MissingRelation(str(exc).strip()) from exc
        return self

    def executemany(self, sql: str, parameters: Sequence[Sequence[Any]]) -> PostgresConnection:
        import psycopg2.errors  # the postgres extra, imported by connect() already

        try:
            self._cursor.executemany(to_pyformat(sql), [tuple(row) for row in parameters])
        except (psycopg2.errors.UndefinedTable, psycopg2.errors.InvalidSchemaName) as exc:
            raise MissingRelation(str(exc).strip()) from exc
        return self

    def fetchall(self) -> list[tuple[Any, ...]]:
        return self._cursor.fetchall()

    def fetchone(self) -> tuple[Any, ...] | None:
        return self._cursor.fetchone()

    @property
    def description(self) -> Any:
        return self._cursor.description

    def cursor(self) -> PostgresConnection:
        return PostgresConnection(self.raw, owns_session=False)

    def close(self) -> None:
        if self.raw.closed:
            return
        if self._owns_session:
            self.raw.close()
        else:
            self._cursor.close()


def engine_of(con: Connection) -> str:
    """``postgres`` for the seam's PostgreSQL connection, else ``duckdb``: the one place that
    tells the engines' connections apart (SQL spellings, catalogue checks)."""
    return "postgres" if isinstance(con, PostgresConnection) else "duckdb"


def to_pyformat(sql: str) -> str:
    """DuckDB's ``?`` placeholders as psycopg2's ``%s`` (a literal ``%`` doubled), outside
    quoted strings and identifiers. A statement of many rows' placeholders (a batch insert)
    has no quotes: one ``str.replace`` pass, not a loop over its characters."""
    if "'" not in sql and '"' not in sql:
        return sql.replace("%", "%%").replace("?", "%s")
    parts = _QUOTED.split(sql)  # odd indexes: the quoted parts
    return "".join(
        part.replace("%", "%%") if index % 2 else part.replace("%", "%%").replace("?", "%s")
        for index, part in enumerate(parts)
    )


_QUOTED = re.compile(r"""('(?:[^']|'')*'|"(?:[^"]|"")*")""")


def masked_url(url: str) -> str:
    """``url`` with its password replaced by ``****`` (the user, host and database kept)."""
    parsed = urlparse(url)
    if parsed.password is None:
        return url
    netloc = parsed.netloc.replace(f":{parsed.password}@", ":****@", 1)
    return parsed._replace(netloc=netloc).geturl()


def _application_name(purpose: str) -> str:
    """What ``pg_stat_activity`` shows for our sessions (and the busy message quotes)."""
    return f"invoice-sync {purpose} pid {os.getpid()} on {socket.gethostname()}"[:63]


def warehouse_for(warehouse_url: str | None, warehouse_path: Path) -> Warehouse:
    """The engine ``WAREHOUSE_URL`` selects, else the DuckDB file at ``WAREHOUSE_PATH``."""
    if warehouse_url:
        return PostgresWarehouse(warehouse_url)
    return DuckDBWarehouse(warehouse_path)

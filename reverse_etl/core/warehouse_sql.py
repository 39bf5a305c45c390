"""The SQL that differs between warehouse engines, in one place beside the seam (issue 22).

:mod:`reverse_etl.core.warehouse` says how to reach each engine; this module how each spells
the few statements that differ. Everything else the push sends is SQL both DuckDB and
PostgreSQL take as written (``?`` placeholders: the seam translates them for psycopg2). What
differs is answered here, per engine, by asking the connection which engine it is:

- :func:`rows_source`: many rows as one ``select`` (the source of an ``insert`` or ``merge``).
  DuckDB: one list per column, unnested (~10x faster than a multi-row ``values`` list and
  ~20x faster than ``executemany``; the main thread records every batch while the workers
  wait). PostgreSQL: a multi-row ``values`` list, which psycopg2 interpolates client-side
  (one statement, one round trip; a list becomes an ``ARRAY[...]``, psycopg2 docs "Adaptation
  of Python values to SQL types"). Its columns are cast to the target types, so a column of
  nulls still has its type.
- :func:`table_comment`: DuckDB's ``duckdb_tables().comment``; PostgreSQL's
  ``obj_description(oid, 'pg_class')`` (PostgreSQL docs, "System Information Functions":
  ``obj_description`` returns the comment ``COMMENT ON TABLE`` set; ``to_regclass`` gives null
  for a table that does not exist). dbt's post-hook ``comment on table … is '…'`` is the same
  statement on both.
- :func:`where_is`: the warehouse a connection is open on, for messages.

``IN_LIST`` is the portable "one of these strings" (``unnest`` of a typed array: an empty
Python list is a ``varchar[]`` on both engines, not an untyped ``'{}'``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from reverse_etl.core.warehouse import Connection, engine_of

IN_LIST = "in (select unnest(cast(? as varchar[])))"


def rows_source(
    con: Connection, columns: Sequence[tuple[str, str]], rows: Sequence[Sequence[Any]]
) -> tuple[str, list[Any]]:
    """``(select …, params)`` yielding ``rows`` as columns ``(name, sql type)``; ``rows`` must
    not be empty."""
    if engine_of(con) == "postgres":
        width = len(columns)
        names = ", ".join(f"c{i}" for i in range(width))
        one = "(" + ", ".join("?" for _ in range(width)) + ")"
        select = ", ".join(
            f"cast(c{i} as {kind}) as {name}" for i, (name, kind) in enumerate(columns)
        )
        sql = f"select {select} from (values {', '.join(one for _ in rows)}) as v({names})"
        return sql, [value for row in rows for value in row]
    select = ", ".join(f"cast(unnest(?) as {kind}) as {name}" for name, kind in columns)
    return f"select {select}", [[row[i] for row in rows] for i in range(len(columns))]


def insert_rows(
    con: Connection, table: str, columns: Sequence[tuple[str, str]], rows: Sequence[Sequence[Any]]
) -> None:
    """Insert ``rows`` into ``table``'s ``columns`` (``(name, sql type)``) in one statement."""
    if not rows:
        return
    source, params = rows_source(con, columns, rows)
    names = ", ".join(name for name, _ in columns)
    con.execute(f"insert into {table} ({names}) {source}", params)


def table_comment(con: Connection, schema: str, table: str) -> str | None:
    """The comment on ``schema.table`` (None without one, or without the table)."""
    if engine_of(con) == "postgres":
        row = con.execute(
            "select obj_description(to_regclass(?), 'pg_class')", [f'"{schema}"."{table}"']
        ).fetchone()
    else:
        row = con.execute(
            "select comment from duckdb_tables() where schema_name = ? and table_name = ?",
            [schema, table],
        ).fetchone()
    return str(row[0]) if row and row[0] else None


def where_is(con: Connection) -> str:
    """The warehouse ``con`` is open on: DuckDB's file, or PostgreSQL's database (no URL, so
    no password)."""
    if engine_of(con) == "postgres":
        row = con.execute("select current_database()").fetchone()
        return f"PostgreSQL database {row[0]}" if row else "the warehouse"
    row = con.execute(
        "select path from duckdb_databases() where database_name = current_database()"
    ).fetchone()
    return str(row[0]) if row else "the warehouse"

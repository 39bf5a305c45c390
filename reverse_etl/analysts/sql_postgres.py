"""`invoice-sync sql` on PostgreSQL (``WAREHOUSE_URL``): the warehouse itself, read-only.

There is no analysts' copy on PostgreSQL (:mod:`reverse_etl.analysts.publish`): a query runs on
the warehouse, through the seam's read-only connection
(:meth:`~reverse_etl.core.warehouse.Warehouse.connect` with ``read_only=True``), inside an
explicit ``BEGIN TRANSACTION READ ONLY`` that is rolled back afterwards. In a read-only
transaction PostgreSQL refuses ``INSERT``/``UPDATE``/``DELETE``/``MERGE``, ``CREATE``,
``ALTER``, ``DROP``, ``COPY FROM`` and the rest of what writes (PostgreSQL docs, ``SET
TRANSACTION``: "the transaction is not allowed to execute" those), including a writing CTE
inside a ``SELECT`` and ``EXPLAIN ANALYZE`` of a write; it cannot be switched to read-write
after its first query ("cannot set transaction read-write mode after any query has been
executed").

A read-only transaction is only a default that a *later* ``BEGIN READ WRITE`` overrides, so a
query string must hold exactly one statement that reads: :func:`refuse_non_reads` splits it
with ``sqlparse`` (dbt's own SQL splitter, quotes, dollar quotes and comments understood) and
refuses a second statement or one that does not start like a read, with one clear line. The
engine's refusal is the real guard, the screen its wording and its door against
``commit; begin read write; …``. Rows are rendered exactly as on DuckDB
(:mod:`reverse_etl.analysts.sql`): values as text, never terminal markup.

The role in ``WAREHOUSE_URL`` is the sync's, which may write: the README recommends analysts
and BI tools their own role with ``SELECT`` on ``marts`` only.
"""

from __future__ import annotations

import re
from typing import Any

from reverse_etl.core.errors import AnalystQueryError
from reverse_etl.core.warehouse import MISSING_RELATION, Connection, Warehouse

# What a query may start with on PostgreSQL: the statements that read.
READING_STARTS = frozenset({"SELECT", "WITH", "VALUES", "TABLE", "EXPLAIN", "SHOW", "("})
REFUSAL = (
    "Refused: `invoice-sync sql` is read-only ({what}). Query the warehouse with one SELECT "
    "(or WITH / VALUES / TABLE / EXPLAIN / SHOW); to export, use --format csv or json."
)


def refuse_non_reads(query: str) -> str:
    """The one statement of ``query`` (without a trailing ``;``), or a one-line refusal."""
    import sqlparse  # dbt-core's dependency: installed with dbt

    statements = [s for s in sqlparse.split(query) if _first_word(s)]
    if not statements:
        raise AnalystQueryError("The query is empty: pass one SELECT.")
    if len(statements) > 1:
        raise AnalystQueryError(REFUSAL.format(what="one statement at a time on PostgreSQL"))
    statement = statements[0].strip().rstrip(";").rstrip()
    first = _first_word(statement)
    if first not in READING_STARTS:
        raise AnalystQueryError(REFUSAL.format(what=f"{first} is not allowed"))
    return statement


def _first_word(statement: str) -> str:
    import sqlparse

    text = sqlparse.format(statement, strip_comments=True).strip()
    if text.startswith("("):
        return "("
    match = re.match(r"[A-Za-z_]+", text)
    return match.group(0).upper() if match else ""


def open_read_only(warehouse: Warehouse) -> Connection:
    """The seam's read-only connection, or a one-line error saying why not."""
    try:
        return warehouse.connect(read_only=True)
    except Exception as exc:  # psycopg2.OperationalError: server down, wrong password, …
        raise AnalystQueryError(
            f"Could not connect to {warehouse.label}: {_one_line(exc)}"
        ) from None


def execute_read_only(con: Connection, statement: str) -> tuple[list[str], list[tuple[Any, ...]]]:
    """``statement`` in a read-only transaction, rolled back afterwards: columns and rows."""
    import psycopg2  # the postgres extra: WAREHOUSE_URL is set

    try:
        con.execute("begin transaction read only")
        try:
            con.execute(statement)
            columns = [d[0] for d in getattr(con, "description", None) or []]
            rows = con.fetchall() if columns else []
        finally:
            con.execute("rollback")
    except (psycopg2.errors.ReadOnlySqlTransaction, psycopg2.errors.ActiveSqlTransaction) as exc:
        # a write; or an attempt to make the transaction read-write after its first query
        raise AnalystQueryError(REFUSAL.format(what=f"PostgreSQL: {_reason(exc)}")) from None
    except MISSING_RELATION as exc:
        raise AnalystQueryError(f"PostgreSQL refused the query: {_reason(exc)}") from None
    except psycopg2.Error as exc:
        raise AnalystQueryError(f"PostgreSQL refused the query: {_reason(exc)}") from None
    return columns, rows


def _reason(exc: BaseException) -> str:
    """PostgreSQL's message without its ``LINE 1: …`` query echo and caret."""
    return _one_line(str(exc).split("\nLINE ")[0])


def _one_line(text: object) -> str:
    return " ".join(str(text).split())

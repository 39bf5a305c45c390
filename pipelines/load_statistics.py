"""Planner statistics for the tables a large load just wrote, on a server warehouse.

PostgreSQL plans a query from each table's statistics, which ``ANALYZE`` gathers; for a table
that has never been analysed it guesses. Autovacuum analyses a table once enough of it changed,
but on its own schedule (``autovacuum_naptime``, a minute by default), so the dbt build that
follows a backfill seconds later can be planned on guesses. Measured on the 100k-invoice
benchmark on a quiet machine: ``int_invoice_balance_events`` was still building after 8 minutes
(one core at 100 %) when dbt started before autovacuum had analysed the raw tables. PostgreSQL
docs, "Updating Planner Statistics" (routine vacuuming): "it is a good idea to run ANALYZE
after a bulk load"; ``ANALYZE`` takes a SHARE UPDATE EXCLUSIVE lock, which readers and writers
do not wait for ("Explicit Locking"), so an analyst's open transaction does not hold it up.

DuckDB keeps its statistics up to date as it writes: nothing to do there.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from pipelines.dataset_session import DatasetSession

log = logging.getLogger(__name__)

ANALYZE_ROWS = 10_000
"""A table that received at least this many rows in one load is analysed at once; a smaller
load (an hourly run) leaves it to autovacuum, whose guesses cannot go far wrong that small."""


def tables_to_analyze(row_counts: Mapping[str, int]) -> list[str]:
    """The tables of ``row_counts`` (rows loaded, per table) worth analysing now."""
    return sorted(
        table
        for table, rows in row_counts.items()
        if rows >= ANALYZE_ROWS and not table.startswith("_dlt")
    )


def refresh_statistics(session: DatasetSession, row_counts: Mapping[str, int]) -> list[str]:
    """``ANALYZE`` each table of ``session``'s dataset that a load just wrote many rows into,
    on a server warehouse; the tables analysed."""
    if session.warehouse.engine == "duckdb":
        return []
    tables = tables_to_analyze(row_counts)
    for table in tables:
        session.execute(f'analyze "{session.dataset}"."{table}"')
    if tables:
        log.debug("%s: analysed %s", session.dataset, ", ".join(tables))
    return tables

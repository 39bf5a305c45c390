"""The Xero tables loaded with and without the direct import of flat tables are the same.

``python -m tests.extract.compare_backfill_tables --invoices 100000 --tenants 2``

One emulator; a backfill into warehouse A with :data:`pipelines.dlt_import.IMPORTING` off
(every row through dlt's normalize, as before) and one into warehouse B with it on; then an
hour of business in the emulator and an incremental run into each (merges over loaded rows).
After each step every ``raw_xero`` table is compared (:func:`differences`): the columns (name,
DuckDB type, nullability), the row counts, the rows as multisets without dlt's random ids, the
line items by their invoice's key instead of the random ``_dlt_root_id``, and dlt's own
columns (never null, ``_dlt_id`` unique, ``_dlt_load_id`` a completed load), and the column
hints dlt stored in its schema. Prints the differences (none expected) as JSON and exits 1 if
any. ``tests/extract/test_import_equivalence.py`` runs it on small books.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb

# dlt's random or load-bound columns, compared by their properties instead of their values
RANDOM = ("_dlt_id", "_dlt_load_id", "_dlt_root_id", "_dlt_parent_id")
# columns stamped with the moment of the run (when it finished, when Xero was read)
MOMENTS = {
    "extract_runs": ("finished_at", "load_ids"),
    "organisations": ("read_at",),
    "quarantine": ("quarantined_at",),
}
# the schema hints of a column that decide what the load does (descriptions left out)
HINTS = (
    "data_type",
    "nullable",
    "primary_key",
    "merge_key",
    "unique",
    "row_key",
    "parent_key",
    "root_key",
    "dedup_sort",
    "hard_delete",
    "precision",
    "scale",
    "timezone",
)


def _columns(con: duckdb.DuckDBPyConnection, db: str, table: str) -> list[tuple[Any, ...]]:
    return con.execute(
        "select column_name, data_type, is_nullable from information_schema.columns "
        "where table_catalog = ? and table_schema = 'raw_xero' and table_name = ? "
        "order by column_name",
        [db, table],
    ).fetchall()


def _tables(con: duckdb.DuckDBPyConnection, db: str) -> set[str]:
    rows = con.execute(
        "select table_name from information_schema.tables where table_catalog = ? "
        "and table_schema = 'raw_xero' and table_name not like '\\_dlt%' escape '\\'",
        [db],
    ).fetchall()
    return {r[0] for r in rows}


def _rows_query(db: str, table: str, columns: list[str]) -> str:
    skip = RANDOM + MOMENTS.get(table, ())
    kept = ", ".join(f't."{c}"' for c in columns if c not in skip)
    if table == "invoices__line_items":  # the line's invoice by its key, not dlt's random id
        return (
            f"select {kept}, i.tenant_id as _invoice_tenant, i.invoice_id as _invoice_id "
            f"from {db}.raw_xero.invoices__line_items t "
            f"join {db}.raw_xero.invoices i on i._dlt_id = t._dlt_root_id "
            "and i._dlt_id = t._dlt_parent_id"
        )
    return f"select {kept} from {db}.raw_xero.{table} t"


def _dlt_columns_problems(con: duckdb.DuckDBPyConnection, db: str, table: str) -> list[str]:
    names = {c[0] for c in _columns(con, db, table)}
    problems = []
    if "_dlt_id" in names:
        total, distinct, nulls = con.execute(
            f"select count(*), count(distinct _dlt_id), count(*) - count(_dlt_id) "
            f"from {db}.raw_xero.{table}"
        ).fetchone()
        if distinct != total or nulls:
            problems.append(f"{db}.{table}: _dlt_id not unique/non-null")
    if "_dlt_load_id" in names:
        orphans = con.execute(
            f"select count(*) from {db}.raw_xero.{table} t where t._dlt_load_id is null or "
            f"not exists (select 1 from {db}.raw_xero._dlt_loads l "
            "where l.load_id = t._dlt_load_id and l.status = 0)"
        ).fetchone()[0]
        if orphans:
            problems.append(f"{db}.{table}: {orphans} rows without a completed load")
    return problems


def _schema_hints(con: duckdb.DuckDBPyConnection, db: str) -> dict[str, Any]:
    row = con.execute(
        f"select schema from {db}.raw_xero._dlt_version order by inserted_at desc limit 1"
    ).fetchone()
    tables = json.loads(row[0])["tables"]
    return {
        name: {
            col: {h: spec.get(h) for h in HINTS if spec.get(h) is not None}
            for col, spec in table.get("columns", {}).items()
        }
        | {
            "<table>": {
                k: table.get(k) for k in ("write_disposition", "parent") if table.get(k) is not None
            }
        }
        for name, table in tables.items()
        if not name.startswith("_dlt")
    }


def differences(before: Path, after: Path) -> list[str]:
    """Every way the ``raw_xero`` tables of the two warehouses differ (empty: the same)."""
    con = duckdb.connect()
    con.execute(f"attach '{before}' as a (read_only)")
    con.execute(f"attach '{after}' as b (read_only)")
    out: list[str] = []
    tables_a, tables_b = _tables(con, "a"), _tables(con, "b")
    if tables_a != tables_b:
        out.append(f"tables differ: {sorted(tables_a ^ tables_b)}")
    for table in sorted(tables_a & tables_b):
        cols_a, cols_b = _columns(con, "a", table), _columns(con, "b", table)
        if cols_a != cols_b:
            out.append(f"{table}: columns differ: {sorted(set(cols_a) ^ set(cols_b))}")
            continue
        names = [c[0] for c in cols_a]
        count_a = con.execute(f"select count(*) from a.raw_xero.{table}").fetchone()[0]
        count_b = con.execute(f"select count(*) from b.raw_xero.{table}").fetchone()[0]
        if count_a != count_b:
            out.append(f"{table}: {count_a} rows before, {count_b} after")
        qa, qb = _rows_query("a", table, names), _rows_query("b", table, names)
        only_a = con.execute(f"select count(*) from ({qa} except all {qb})").fetchone()[0]
        only_b = con.execute(f"select count(*) from ({qb} except all {qa})").fetchone()[0]
        if only_a or only_b:
            out.append(f"{table}: {only_a} rows only before, {only_b} only after")
        out += _dlt_columns_problems(con, "a", table) + _dlt_columns_problems(con, "b", table)
    hints_a, hints_b = _schema_hints(con, "a"), _schema_hints(con, "b")
    for name in sorted(set(hints_a) | set(hints_b)):
        if hints_a.get(name) != hints_b.get(name):
            out.append(f"dlt schema of {name} differs: {hints_a.get(name)} / {hints_b.get(name)}")
    con.close()
    return out


@contextmanager
def _emulator(invoices: int, tenants: int) -> Iterator[Any]:
    from sandbox.runner import start_in_thread
    from sandbox.xero import XeroEmulator
    from sandbox.xero.limits import XeroLimits

    emulator = XeroEmulator(limits=XeroLimits.unlimited())
    emulator.seed_demo(invoices, tenants=tenants)
    server = start_in_thread(emulator.app())
    try:
        yield emulator, server.url
    finally:
        server.stop()


def _settings(url: str, warehouse: Path, page_size: int) -> Any:
    from reverse_etl.core.settings import (
        SANDBOX_HUBSPOT_TOKEN,
        SANDBOX_XERO_CLIENT_ID,
        SANDBOX_XERO_CLIENT_SECRET,
        load_settings,
    )

    return load_settings(
        {
            "XERO_BASE_URL": url,
            "XERO_IDENTITY_URL": url,
            "XERO_CLIENT_ID": SANDBOX_XERO_CLIENT_ID,
            "XERO_CLIENT_SECRET": SANDBOX_XERO_CLIENT_SECRET,
            "HUBSPOT_ACCESS_TOKEN": SANDBOX_HUBSPOT_TOKEN,
            "WAREHOUSE_PATH": str(warehouse),
            "XERO_PAGE_SIZE": str(page_size),
            "XERO_CALLS_PER_MINUTE": "10000",
        },
        dotenv_path=None,
    )


def _extract(url: str, warehouse: Path, page_size: int, importing: bool) -> int:
    from pipelines import dlt_import
    from pipelines.run import run_xero_extract

    saved = dlt_import.IMPORTING
    dlt_import.IMPORTING = importing and saved
    try:
        return run_xero_extract(_settings(url, warehouse, page_size)).invoices_loaded
    finally:
        dlt_import.IMPORTING = saved


def compare(
    invoices: int,
    tenants: int,
    page_size: int,
    folder: Path,
    prepare: Callable[[Any], None] | None = None,
) -> dict[str, Any]:
    """Backfill and one incremental run, before (A) and after (B); the differences of each.
    ``prepare(emulator)`` runs before the backfill (e.g. to serve bad records)."""
    before, after = folder / "before" / "wh.duckdb", folder / "after" / "wh.duckdb"
    report: dict[str, Any] = {"invoices": invoices, "tenants": tenants}
    with _emulator(invoices, tenants) as (emulator, url):
        if prepare is not None:
            prepare(emulator)
        for step in ("backfill", "incremental"):
            if step == "incremental":
                report["activity"] = emulator.activity(hours=1.0, seed=11)
            loaded = [_extract(url, wh, page_size, imp) for wh, imp in ((before, 0), (after, 1))]
            report[step] = {"loaded": loaded, "differences": differences(before, after)}
    return report


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--invoices", type=int, default=20_000)
    parser.add_argument("--tenants", type=int, default=2)
    parser.add_argument("--page-size", type=int, default=1000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        report = compare(args.invoices, args.tenants, args.page_size, Path(tmp))
    print(json.dumps(report, default=str))
    same = not (report["backfill"]["differences"] or report["incremental"]["differences"])
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())

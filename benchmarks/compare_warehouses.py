"""Compare the models two dbt builds left in two DuckDB warehouses, row for row.

``python -m benchmarks.compare_warehouses BEFORE.duckdb AFTER.duckdb`` (issue 19: a faster
`dbt build` must build the same tables). Every table of the model schemas (staging,
intermediate, marts, reverse_etl) in either warehouse is compared: the same columns with the
same types, in the same order, and the same multiset of rows (``EXCEPT ALL`` both ways, so
duplicates count). A view's SQL names its warehouse's catalog (the file's stem), so BEFORE is
attached under its own stem and its views are read: a model that became a table is compared
with the view it replaces. AFTER's views are not read (they would resolve to BEFORE's
catalog); the tables built from them are. Both builds should run on the same day (ageing and
days overdue depend on "today"). Exits 1 naming each difference.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import duckdb

SCHEMAS = ("staging", "intermediate", "marts", "reverse_etl")


def relations(con: duckdb.DuckDBPyConnection, catalog: str) -> dict[tuple[str, str], str]:
    rows = con.execute(
        "select table_schema, table_name, table_type from information_schema.tables "
        "where table_catalog = ? and table_schema in (select unnest(?))",
        [catalog, list(SCHEMAS)],
    ).fetchall()
    return {(schema, name): kind for schema, name, kind in rows}


def columns(con: duckdb.DuckDBPyConnection, catalog: str, schema: str, name: str) -> list:
    return con.execute(
        "select column_name, data_type from information_schema.columns "
        "where table_catalog = ? and table_schema = ? and table_name = ? order by ordinal_position",
        [catalog, schema, name],
    ).fetchall()


def compare(before: str, after: str) -> list[str]:
    con = duckdb.connect()
    first = Path(before).stem
    if first == "after_build":
        raise SystemExit("BEFORE's file must not be named after_build.duckdb")
    con.execute(f"attach '{before}' as \"{first}\" (read_only)")
    con.execute(f"attach '{after}' as after_build (read_only)")
    left, right = relations(con, first), relations(con, "after_build")
    problems = [f"only in {before}: {'.'.join(k)}" for k in sorted(set(left) - set(right))]
    problems += [f"only in {after}: {'.'.join(k)}" for k in sorted(set(right) - set(left))]
    for schema, name in sorted(set(left) & set(right)):
        label = f"{schema}.{name}"
        if right[(schema, name)] != "BASE TABLE":
            print(f"{label:55} {right[(schema, name)]:10} (a view after: not read)")
            continue
        cols_before = columns(con, first, schema, name)
        cols_after = columns(con, "after_build", schema, name)
        if cols_before != cols_after:
            problems.append(f"{label}: columns differ: {cols_before} != {cols_after}")
            continue
        a, b = f'"{first}"."{schema}"."{name}"', f'after_build."{schema}"."{name}"'
        count = con.execute(f"select count(*) from {a}").fetchone()[0]
        missing = con.execute(f"select count(*) from (from {a} except all from {b})").fetchone()[0]
        extra = con.execute(f"select count(*) from (from {b} except all from {a})").fetchone()[0]
        status = "same" if not (missing or extra) else f"DIFFERENT (-{missing} +{extra})"
        kinds = f"{left[(schema, name)]} -> {right[(schema, name)]}"
        print(f"{label:55} {kinds:23} {count:>9,} rows  {status}")
        if missing or extra:
            problems.append(f"{label}: {missing} rows only before, {extra} rows only after")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("before")
    parser.add_argument("after")
    args = parser.parse_args(argv)
    problems = compare(args.before, args.after)
    for problem in problems:
        print(problem, file=sys.stderr)
    print("identical" if not problems else f"{len(problems)} difference(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())

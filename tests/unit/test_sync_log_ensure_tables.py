"""sync_log.ensure_tables creates only what is missing (no ALTER for a column that exists:
on PostgreSQL it would wait for analysts' open transactions, issue 22)."""

from __future__ import annotations

import duckdb

from reverse_etl.core import sync_log


class Recording:
    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self.con = con
        self.statements: list[str] = []

    def execute(self, sql: str, *args):
        self.statements.append(" ".join(sql.split()))
        return self.con.execute(sql, *args)


def test_a_missing_column_is_added_and_an_existing_one_left_alone(tmp_path):
    with duckdb.connect(str(tmp_path / "w.duckdb")) as con:
        con.execute("create schema sync_log")
        con.execute(
            "create table sync_log.runs (run_id varchar primary key, started_at timestamptz "
            "not null, finished_at timestamptz, status varchar not null, inserted integer "
            "not null default 0, updated integer not null default 0, rejected integer not "
            "null default 0, hubspot_calls integer not null default 0, error varchar, "
            "command varchar default 'push')"
        )
        first = Recording(con)
        sync_log.ensure_tables(first)
        alters = [s for s in first.statements if s.startswith("alter table")]
        assert not any(" command " in s for s in alters)  # it was there
        assert any(" freshness " in s for s in alters)  # it was not
        columns = {
            c
            for (c,) in con.execute(
                "select column_name from information_schema.columns where table_name = 'runs'"
            ).fetchall()
        }
        assert {"freshness", "build_reason", "dlt_load_ids"} <= columns
        again = Recording(con)
        sync_log.ensure_tables(again)
        assert not [s for s in again.statements if s.startswith("alter table")]

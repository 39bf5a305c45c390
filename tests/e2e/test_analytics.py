"""The published analysts' database (ANALYTICS_PATH) beside the hourly sync, and a warehouse
held open by another process. Real syncs over HTTP, real DuckDB files, real other processes."""

from __future__ import annotations

import json
import re
import stat
import subprocess
import sys
import textwrap
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from reverse_etl.app.cli import app
from reverse_etl.core.errors import EXIT_BUSY
from tests.e2e.test_sync import expected_ids

runner = CliRunner()
# Two or three whole syncs per test: more than the suite's default 300 s on a busy machine.
pytestmark = pytest.mark.timeout(900)
README = Path(__file__).resolve().parents[2] / "README.md"
ANALYST_SCHEMAS = {
    "marts",
    "intermediate",
    "staging",
    "reverse_etl",
    "sync_log",
    "raw_xero",
    "raw_hubspot",
    "meta",
}


def sync() -> tuple[int, str]:
    result = runner.invoke(app, ["sync"])
    return result.exit_code, result.output


def analytics_path(world) -> Path:
    return world.warehouse.parent / "analytics.duckdb"


def published(world, sql: str) -> list[tuple]:
    with duckdb.connect(str(analytics_path(world)), read_only=True) as con:
        return con.execute(sql).fetchall()


class HeldConnection:
    """Another process holding a DuckDB file open (read-only), as a notebook or the CLI would.
    ``query()`` runs a statement on that same connection and returns its rows."""

    SCRIPT = textwrap.dedent(
        """
        import duckdb, json, sys
        con = duckdb.connect(sys.argv[1], read_only=True)
        print("ready", flush=True)
        for line in sys.stdin:
            rows = con.execute(line).fetchall()
            print(json.dumps(rows, default=str), flush=True)
        """
    )

    def __init__(self, path: Path) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-c", self.SCRIPT, str(path)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None and self.proc.stdout.readline().strip() == "ready"

    def query(self, sql: str) -> list:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(sql + "\n")
        self.proc.stdin.flush()
        return json.loads(self.proc.stdout.readline())

    def close(self) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        self.proc.wait(timeout=30)


def readme_queries() -> list[str]:
    """The quick-look ```sql blocks of the README's analyst section, one query each."""
    text = README.read_text()
    section = text.split("## What analysts can query", 1)[1].split("\n## ", 1)[0]
    section = section.split("Questions analysts ask", 1)[0]  # the finance queries: transform tests
    return [block.strip() for block in re.findall(r"```sql\n(.*?)```", section, re.S)]


def test_sync_publishes_a_clean_consistent_analysts_database(world):
    code, output = sync()
    assert code == 0, output
    path = analytics_path(world)
    assert "[publish] Published" in output

    relations = published(
        world,
        "select schema_name, table_name, 'table' from duckdb_tables() union all "
        "select schema_name, view_name, 'view' from duckdb_views() where not internal",
    )
    assert {schema for schema, _, _ in relations} == ANALYST_SCHEMAS
    views = ("staging", "intermediate")  # dbt views, reading only published tables
    assert {kind for schema, _, kind in relations if schema not in views} == {"table"}
    assert published(world, "select count(*) from duckdb_tables() where table_name like '_dlt%'")[
        0
    ] == (0,)
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    assert not list(path.parent.glob(".analytics.duckdb.*")), "a temp file was left behind"

    # The analysts' numbers, against the emulator's own state.
    invoices = world.xero.emulator.invoices(world.tenant_id)
    assert published(world, "select count(*) from marts.fct_invoices") == [(len(invoices),)]
    assert published(world, "select count(*) from staging.stg_xero__invoice_line_items")[0][0] > 0
    assert published(world, "select count(distinct invoice_id) from raw_xero.invoice_versions")[
        0
    ] == (len(invoices),)
    # The action table as this run's push read it (computed before the push).
    assert published(world, "select count(*) from reverse_etl.hubspot_invoice_actions") == [
        (len(expected_ids(world)),)
    ]

    # Freshness: which run, how it ended, and the organisation's Xero cursor.
    (status,) = published(
        world,
        "select run_id, run_status, tenant_id, xero_invoices_cursor, published_at "
        "from meta.sync_status",
    )
    last_run = world.query(
        "select run_id, status, inserted from sync_log.runs order by started_at desc limit 1"
    )[0]
    assert status[0] == last_run[0] and status[1] == "success" == last_run[1]
    assert last_run[2] == len(expected_ids(world))
    assert status[2] == world.tenant_id
    newest_change = max(inv.updated_ms for inv in invoices)
    assert status[3] == datetime.fromtimestamp(newest_change / 1000, UTC)
    assert (datetime.now(UTC) - status[4]).total_seconds() < 600

    # The README's example queries run on it, and return rows.
    queries = readme_queries()
    assert len(queries) >= 3
    for query in queries:
        result = runner.invoke(app, ["sql", query, "--format", "json"])
        assert result.exit_code == 0, (query, result.output)
        assert json.loads(result.output), f"README query returned no rows: {query}"


def test_a_held_analyst_connection_keeps_its_snapshot_and_never_blocks_the_sync(world):
    assert sync()[0] == 0
    path = analytics_path(world)
    held = HeldConnection(path)
    try:
        before = held.query("select count(*) from marts.fct_invoices")[0][0]
        world.xero.clock.advance(hours=1)
        new_ids = {
            world.xero.emulator.create_invoice(
                world.tenant_id,
                contact_name="Held Open Ltd",
                status="AUTHORISED",
                line_items=[{"Description": "Audit", "Quantity": 1, "UnitAmount": 99}],
            )["InvoiceID"]
            for _ in range(3)
        }

        code, output = sync()
        assert code == 0, output

        # The held connection still reads its snapshot, whole and consistent.
        assert held.query("select count(*) from marts.fct_invoices") == [[before]]
        ids = ", ".join(f"'{i}'" for i in sorted(new_ids))
        query = f"select count(*) from marts.fct_invoices where invoice_id in ({ids})"
        assert held.query(query) == [[0]]
        # A new connection sees the new rows.
        assert published(world, "select count(*) from marts.fct_invoices") == [(before + 3,)]
        assert published(world, query) == [(3,)]
        assert published(
            world,
            "select count(*) from sync_log.record_results "
            f"where action = 'INSERT' and xero_invoice_id in ({ids})",
        ) == [(3,)]
    finally:
        held.close()


def test_a_warehouse_held_by_another_process_fails_in_one_line_and_loses_nothing(world):
    assert sync()[0] == 0
    invoices_before = world.query("select count(*) from raw_xero.invoice_versions")[0][0]
    runs_before = world.query("select count(*) from sync_log.runs")[0][0]
    world.xero.clock.advance(hours=1)
    new_id = world.xero.emulator.create_invoice(
        world.tenant_id,
        contact_name="Busy Reader GmbH",
        status="AUTHORISED",
        line_items=[{"Description": "Support", "Quantity": 2, "UnitAmount": 40}],
    )["InvoiceID"]
    published_before = published(world, "select published_at from meta.sync_status")

    held = HeldConnection(world.warehouse)
    try:
        code, output = sync()
    finally:
        held.close()
    assert code == EXIT_BUSY, output  # exit 4: busy (issue 15), nothing done
    errors = [line for line in output.splitlines() if "WarehouseBusyError" in line]
    assert len(errors) == 1, output
    assert f"PID {held.proc.pid}" in errors[0]
    assert str(analytics_path(world)) in output.replace("\n", "")
    assert "Traceback" not in output
    assert published(world, "select published_at from meta.sync_status") == published_before

    # Nothing stored was lost, and nothing half-written.
    assert world.query("select count(*) from raw_xero.invoice_versions")[0][0] == invoices_before
    assert world.query("select count(*) from sync_log.runs")[0][0] == runs_before

    code, output = sync()
    assert code == 0, output
    assert new_id in world.hubspot_by_invoice()
    assert published(
        world, f"select count(*) from marts.fct_invoices where invoice_id = '{new_id}'"
    ) == [(1,)]

"""A team warehouse (issue 22, "Must show"): two syncs started at once from two processes, an
analyst's long transaction beside the hourly sync, and `invoice-sync sql` refusing a write —
whole syncs over real HTTP, real dlt and dbt, real processes, the suite's throwaway PostgreSQL
cluster (tests/fixtures/postgres.py).

What the tests rely on (PostgreSQL docs, "Explicit Locking"): a ``select`` in an open
transaction holds ``ACCESS SHARE`` on the tables it read until the transaction ends, and only
``ACCESS EXCLUSIVE`` (``DROP TABLE``, ``ALTER TABLE … RENAME``, ``TRUNCATE``) conflicts with
it; so a build that swaps a table under an analyst's open transaction waits for that analyst.
"Advisory Locks": a session lock is held until released or the session ends.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from reverse_etl.app.cli import app
from reverse_etl.core.errors import EXIT_BUSY
from tests.e2e.conftest import SyncWorld, both_engines
from tests.e2e.test_sync import assert_hubspot_matches_xero, expected_ids

runner = CliRunner()
# Whole syncs in subprocesses on a shared two-core machine.
pytestmark = pytest.mark.timeout(900)
INVOICES_ROUTE = "GET /api.xro/2.0/Invoices"
# An hourly sync of the 120-invoice books takes well under a minute here; a sync waiting on the
# analyst's transaction would wait for ever (no lock_timeout): 240 s tells the two apart.
HOURLY_SYNC_BOUND_SECONDS = 240


def start_sync(world: SyncWorld, cwd: Path, *args: str) -> subprocess.Popen[str]:
    """``invoice-sync sync`` in its own process, as a scheduler on another host would start it."""
    return subprocess.Popen(
        [sys.executable, "-m", "reverse_etl.app.cli", "sync", *args],
        env={**os.environ, **world.env},
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


@both_engines()
def test_two_syncs_started_at_once_one_runs_and_the_other_is_busy(world, tmp_path):
    """Two processes start ``sync`` together on one warehouse: exactly one runs (exit 0), the
    other says the warehouse is busy and exits 4 having done nothing; nothing is written twice,
    to HubSpot or to ``sync_log``."""
    world.hubspot.emulator.faults.latency_seconds = 0.2  # the run outlasts the other's start-up
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
    first, second = (start_sync(world, tmp_path / name) for name in ("a", "b"))
    outputs = [process.communicate(timeout=600)[0] for process in (first, second)]
    codes = [first.returncode, second.returncode]
    assert sorted(codes) == [0, EXIT_BUSY], outputs
    busy_output = outputs[codes.index(EXIT_BUSY)]
    assert "holds the lock" in busy_output, busy_output
    assert "Traceback" not in busy_output

    expected = expected_ids(world)
    assert set(world.hubspot_by_invoice()) == expected
    assert_hubspot_matches_xero(world, expected)  # also: one record per invoice
    assert world.xero.emulator.counters.total(INVOICES_ROUTE) == 1, "the busy run read nothing"
    runs = world.query("select status, count(*) from sync_log.runs group by status")
    assert dict(runs).get("success") == 1, runs
    written = world.query(
        "select xero_invoice_id, count(*) from sync_log.record_results group by xero_invoice_id"
    )
    assert {invoice_id for invoice_id, _ in written} == expected
    assert all(count == 1 for _, count in written), "a record written twice"


@pytest.mark.postgres
@pytest.mark.parametrize("engine", ["postgres"], indirect=True)
def test_an_analysts_long_transaction_does_not_block_the_hourly_sync(world, tmp_path):
    """An analyst (a BI tool, a notebook) opens a transaction, reads two marts and keeps it open;
    the hourly sync that changes those marts still finishes within the bound, and the analyst's
    session is left working: after its commit it sees the new data."""
    import psycopg2

    assert runner.invoke(app, ["sync"]).exit_code == 0
    assert runner.invoke(app, ["sync"]).exit_code == 0  # HubSpot's echo of the first push
    invoice_id = sorted(
        i.invoice_id
        for i in world.xero.emulator.invoices(world.tenant_id)
        if i.type == "ACCREC" and i.status == "AUTHORISED"
    )[0]

    analyst = psycopg2.connect(world.warehouse_url, application_name="analyst notebook")
    analyst.autocommit = True  # the transaction is the analyst's own `begin` … `commit`
    try:
        with analyst.cursor() as cursor:
            cursor.execute("begin")
            cursor.execute("select count(*) from marts.dim_customers")  # a table mart
            (customers,) = cursor.fetchone()
            cursor.execute(
                "select status from marts.fct_invoices where invoice_id = %s", (invoice_id,)
            )
            assert cursor.fetchone() == ("AUTHORISED",)
        assert customers > 0

        world.xero.clock.advance(hours=1)
        world.xero.emulator.pay(invoice_id)
        started = time.monotonic()
        process = start_sync(world, tmp_path, "--json")
        try:
            output, _ = process.communicate(timeout=HOURLY_SYNC_BOUND_SECONDS)
        except subprocess.TimeoutExpired:
            waits = world.query(
                "select a.application_name, a.wait_event_type, a.query from pg_stat_activity a "
                "where a.wait_event_type = 'Lock'"
            )
            process.kill()
            process.communicate(timeout=30)
            pytest.fail(f"the sync waited on the analyst's transaction: {waits}")
        seconds = time.monotonic() - started
        assert process.returncode == 0, output
        summary = json.loads(output.strip().splitlines()[-1])  # after the progress lines
        assert summary["stages"]["transform"]["scope"] == "hourly"
        assert summary["stages"]["push"]["updated"] == 1
        assert world.hubspot_by_invoice()[invoice_id]["properties"]["status"] == "PAID"
        assert seconds < HOURLY_SYNC_BOUND_SECONDS

        with analyst.cursor() as cursor:  # the analyst's session still works, then commits
            cursor.execute("select count(*) from marts.dim_customers")
            assert cursor.fetchone()[0] > 0
            cursor.execute("commit")
            cursor.execute(
                "select status from marts.fct_invoices where invoice_id = %s", (invoice_id,)
            )
            assert cursor.fetchone() == ("PAID",)
    finally:
        analyst.close()


@pytest.mark.postgres
@pytest.mark.parametrize("engine", ["postgres"], indirect=True)
def test_sql_on_postgres_reads_and_refuses_every_write(world):
    """`invoice-sync sql` on PostgreSQL queries the warehouse itself (no analysts' copy) in a
    read-only transaction: reads answer; a write is refused, whether the statement says so or
    hides it in a ``select`` (a data-modifying ``with``), and the warehouse is unchanged."""
    assert runner.invoke(app, ["sync"]).exit_code == 0
    (runs,) = world.query("select count(*) from sync_log.runs")[0]
    (invoices,) = world.query("select count(*) from marts.fct_invoices")[0]
    statuses = world.query("select status, count(*) from marts.fct_invoices group by 1 order by 1")
    assert runs == 1 and invoices > 50

    read = runner.invoke(
        app, ["sql", "select count(*) as n from marts.fct_invoices", "--format", "json"]
    )
    assert read.exit_code == 0, read.output
    assert json.loads(read.stdout) == [{"n": invoices}]

    writes = [
        "delete from sync_log.runs",
        "with gone as (delete from sync_log.runs returning 1) select count(*) from gone",
        "create table public.scratch (a int)",
        "update marts.fct_invoices set status = 'VOIDED'",
    ]
    for sql in writes:
        result = runner.invoke(app, ["sql", sql])
        assert result.exit_code != 0, (sql, result.output)
        assert "read-only" in result.output.lower(), (sql, result.output)
        assert "Traceback" not in result.output
    assert world.query("select count(*) from sync_log.runs") == [(runs,)]
    after = world.query("select status, count(*) from marts.fct_invoices group by 1 order by 1")
    assert after == statuses
    assert world.query(
        "select count(*) from information_schema.tables where table_name = 'scratch'"
    ) == [(0,)]

"""With ``WAREHOUSE_URL`` set, the transform builds in PostgreSQL (dbt's ``postgres`` target, its
environment from the seam) and the quiet-hour fast path skips work exactly as on DuckDB: a sync
with nothing changed records ``build_scope = 'skipped'`` in PostgreSQL's ``sync_log.runs``
(issue 22, "Must show"). Real HTTP to both emulators, a real server, real dlt and dbt.

The extract loads into PostgreSQL through :mod:`tests.postgres.warehouse_glue` until the
pipelines ask the seam themselves; the first sync's push (HubSpot confirming the build's writes)
and the whole project's build are stood in for by a recorded build marked pushed
(:func:`reverse_etl.core.build_plan.mark_pushed`): the push on PostgreSQL and the portability
of ``int_changed_invoices`` are other branches' work; dbt runs here on the staging models."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlparse

import psycopg2
import pytest
from rich.console import Console

from pipelines.run import run_extract
from reverse_etl.app.sync import run_sync_once
from reverse_etl.core import build_plan, sync_log
from reverse_etl.core.settings import load_settings
from reverse_etl.transform import build_inputs, run_transform
from tests.postgres.warehouse_glue import extract_into_postgres

pytestmark = pytest.mark.postgres


class _Database:
    """What the glue uses of a cluster (``url``, ``connect``), for the test's own database."""

    def __init__(self, url: str) -> None:
        self.url = url

    def connect(self) -> Any:
        return psycopg2.connect(self.url)


def test_transform_and_a_quiet_sync_on_postgres(
    xero_sandbox, hubspot_sandbox, postgres_warehouse_url, tmp_path, monkeypatch
) -> None:
    xero_sandbox.emulator.seed_demo(invoices=30, seed=11, tenants=1)
    monkeypatch.chdir(tmp_path)
    env = {
        **xero_sandbox.env(),
        **hubspot_sandbox.env(),
        "WAREHOUSE_PATH": str(tmp_path / "warehouse" / "invoices.duckdb"),
        "WAREHOUSE_URL": postgres_warehouse_url,
    }
    settings = load_settings(env, dotenv_path=None)
    database = _Database(postgres_warehouse_url)

    with extract_into_postgres(monkeypatch, database):
        run_extract(settings)
        # as on DuckDB (tests/e2e/test_fast_path.py), the second extract re-reads the records
        # at the cursors' boundary once; the third finds nothing
        run_extract(settings)
    # dbt on PostgreSQL: the target and its environment from the seam. The staging models
    # and the tests whose every parent is selected (dbt's "cautious" indirect selection), with
    # the seeds and int_invoice_line_items they are tested against; the whole project's build
    # waits for int_changed_invoices' dispatch (another branch).
    monkeypatch.setenv("DBT_INDIRECT_SELECTION", "cautious")
    report = run_transform(settings, select="path:seeds path:models/staging int_invoice_line_items")
    assert report.models >= 10 and report.tests >= 10, report.summary()
    assert str(report.warehouse_path) == settings.warehouse.label  # the masked URL
    assert urlparse(postgres_warehouse_url).password not in report.summary()
    with sync_log.open_warehouse(settings) as con:
        (invoices,) = con.execute("select count(*) from staging.stg_xero__invoices").fetchone()
        assert invoices == 30
        # the first sync's build, and its push that HubSpot confirmed
        inputs = build_inputs(settings)
        assert all(inputs.load_marks.values()), inputs.load_marks
        now = datetime.now(UTC)
        build_plan.record_build(
            con, scope=build_plan.DAILY, inputs=inputs, started_at=now, finished_at=now
        )
        build_plan.mark_pushed(con)

    out = io.StringIO()
    with extract_into_postgres(monkeypatch, database):
        quiet = run_sync_once(settings, console=Console(file=out), progress=False)
    assert quiet.plan is not None and quiet.plan.skipped, quiet.plan
    assert "[transform] skipped: nothing changed in Xero or HubSpot" in out.getvalue()
    assert quiet.transform is None and quiet.push is None
    with sync_log.open_warehouse(settings) as con:
        rows = con.execute(
            "select status, command, stage, build_scope, build_reason from sync_log.runs "
            "where run_id = ?",
            [quiet.run_id],
        ).fetchall()
        assert con.execute("select count(*) from sync_log.builds").fetchone() == (1,)
    assert len(rows) == 1
    status, command, stage, scope, reason = rows[0]
    assert (status, command, stage, scope) == ("success", "sync", "done", "skipped")
    assert reason.startswith("nothing changed in Xero or HubSpot since the daily build")
    assert quiet.freshness is not None and quiet.freshness.status == "pass"
    assert not settings.warehouse_path.exists()  # nothing of the run went to a DuckDB file

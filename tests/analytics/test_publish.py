"""publish_analytics on a real DuckDB warehouse shaped like the sync's (no sync needed)."""

from __future__ import annotations

import os
import stat
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from reverse_etl.analysts import publish
from reverse_etl.analysts.publish import RunOutcome, publish_analytics
from reverse_etl.core.errors import PublishError, WarehouseBusyError
from reverse_etl.core.settings import load_settings
from tests.analytics.conftest import held_open


def make_warehouse(path: Path, invoices: int = 3) -> None:
    """The schemas the sync leaves behind, analyst-facing and scratch, with dbt-style views
    that name their tables with the warehouse's catalog (as dbt-duckdb writes them)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with duckdb.connect(str(path)) as con:
        for schema in (
            "raw_xero",
            "raw_xero_staging",
            "raw_hubspot",
            "staging",
            "marts",
            "reverse_etl",
            "sync_log",
            "test_failures",
        ):
            con.execute(f"create schema {schema}")
        con.execute(
            "create table raw_xero.invoice_versions as select 'inv-' || i as invoice_id, "
            "(i * 10.05)::decimal(18,2) as total from range(?) t(i)",
            [invoices],
        )
        con.execute("create table raw_xero.payments as select 'pay-1' as payment_id")
        con.execute("create table raw_xero._dlt_loads as select 'load' as load_id")
        con.execute("create table raw_xero._dlt_pipeline_state as select 'x' as state")
        con.execute("create table raw_xero_staging.invoice_versions as select 1 as scratch")
        con.execute("create table raw_hubspot.invoice_records as select '1' as hs_object_id")
        con.execute(
            "create view staging.stg_xero__invoices as "
            "select * from invoices.raw_xero.invoice_versions"
        )
        con.execute("create table marts.fct_invoices as select * from staging.stg_xero__invoices")
        con.execute("create table reverse_etl.hubspot_invoice_actions as select 1 as a")
        con.execute("create table sync_log.runs as select 'run-1' as run_id")
        con.execute("create view test_failures.not_null_x as select 1 as failing")
        con.execute("create table main.leftover as select 1 as x")


@pytest.fixture
def settings(tmp_path: Path):
    warehouse = tmp_path / "warehouse" / "invoices.duckdb"
    make_warehouse(warehouse)
    return load_settings(
        {"WAREHOUSE_PATH": str(warehouse), "INVOICE_SYNC_STATE_DIR": str(tmp_path / "state")},
        dotenv_path=None,
    )


def tables(path: Path) -> dict[str, str]:
    with duckdb.connect(str(path), read_only=True) as con:
        rows = con.execute(
            "select schema_name || '.' || table_name, 'table' from duckdb_tables() union all "
            "select schema_name || '.' || view_name, 'view' from duckdb_views() "
            "where not internal"
        ).fetchall()
    return dict(rows)


def query(path: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(path), read_only=True) as con:
        return con.execute(sql).fetchall()


def test_publishes_the_analyst_schemas_as_tables_and_nothing_scratch(settings):
    report = publish_analytics(settings, RunOutcome("run-1", "success"))
    target = settings.analytics_path
    assert report.path == target.resolve() and report.size_bytes == target.stat().st_size
    assert tables(target) == {
        "marts.fct_invoices": "table",
        "staging.stg_xero__invoices": "view",  # reads the copy's own raw_xero, not the warehouse
        "raw_xero.invoice_versions": "table",
        "raw_xero.payments": "table",
        "raw_hubspot.invoice_records": "table",
        "reverse_etl.hubspot_invoice_actions": "table",
        "sync_log.runs": "table",
        "meta.sync_status": "table",
        "meta.xero_cursors": "table",
        "meta.published_tables": "table",
    }
    assert query(target, "select sum(total) from staging.stg_xero__invoices") == [
        (Decimal("30.15"),)
    ]
    assert query(target, "select run_id, run_status, tenant_id from meta.sync_status") == [
        ("run-1", "success", None)
    ]
    assert ("raw_xero", "invoice_versions", 3) in query(target, "from meta.published_tables")
    assert stat.S_IMODE(target.stat().st_mode) == 0o640
    assert sorted(p.name for p in target.parent.iterdir()) == [
        "analytics.duckdb",
        "invoices.duckdb",
    ]


def test_an_open_analyst_session_keeps_its_snapshot_and_does_not_block(settings):
    publish_analytics(settings, RunOutcome("run-1", "success"))
    with duckdb.connect(str(settings.warehouse_path)) as con:
        con.execute("insert into raw_xero.invoice_versions values ('inv-new', 1.00)")
        con.execute("create or replace table marts.fct_invoices as from staging.stg_xero__invoices")
    # Held read-write, the strongest lock an analyst's client can take: publish never opens it.
    with held_open(settings.analytics_path, read_only=False):
        publish_analytics(settings, RunOutcome("run-2", "partial", "1 rejected"))
    assert query(settings.analytics_path, "select count(*) from marts.fct_invoices") == [(4,)]
    assert query(settings.analytics_path, "select run_id, run_status from meta.sync_status") == [
        ("run-2", "partial")
    ]


def test_a_failed_publish_leaves_the_previous_copy_and_no_temp_file(settings, monkeypatch):
    publish_analytics(settings, RunOutcome("run-1", "success"))
    before = settings.analytics_path.read_bytes()

    def broken(*_args, **_kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(publish, "_write_meta", broken)
    with pytest.raises(PublishError, match=r"No space left on device.*previous copy"):
        publish_analytics(settings, RunOutcome("run-2", "success"))
    assert settings.analytics_path.read_bytes() == before
    assert sorted(os.listdir(settings.analytics_path.parent)) == [
        "analytics.duckdb",
        "invoices.duckdb",
    ]


def test_a_warehouse_held_for_writing_elsewhere_is_a_busy_error(settings):
    with (
        held_open(settings.warehouse_path, read_only=False) as pid,
        pytest.raises(WarehouseBusyError, match=f"PID {pid}") as caught,
    ):
        publish_analytics(settings, RunOutcome("run-1", "success"))
    assert caught.value.pid == pid
    assert not settings.analytics_path.exists()


def test_xero_cursors_come_from_the_extracts_dlt_state(settings):
    import dlt

    from pipelines.run import XERO_PIPELINE
    from pipelines.xero_cursors import xero_cursors

    pipelines_dir = settings.state_dir / "dlt"

    @dlt.resource(name="xero_invoices")
    def invoices():
        dlt.current.resource_state()["cursors"] = {"t-1": "2026-11-30T04:00:00+00:00"}
        yield {"x": 1}

    pipeline = dlt.pipeline(
        pipeline_name=XERO_PIPELINE,
        pipelines_dir=str(pipelines_dir),
        destination=dlt.destinations.duckdb(str(settings.state_dir / "other.duckdb")),
        dataset_name="raw_xero",
    )
    pipeline.run(invoices())
    cursors = tuple(xero_cursors(settings))  # the sync hands the publish the extract's cursors
    publish_analytics(settings, RunOutcome("run-1", "success", xero_cursors=cursors))
    rows = query(
        settings.analytics_path,
        "select tenant_id, strftime(xero_invoices_cursor at time zone 'UTC', '%Y-%m-%d %H:%M') "
        "from meta.sync_status",
    )
    assert rows == [("t-1", "2026-11-30 04:00")]


def test_a_temp_file_left_by_a_killed_publish_is_cleared(settings):
    stale = settings.analytics_path.with_name(".analytics.duckdb.999999.publishing")
    stale.write_bytes(b"half a database")
    publish_analytics(settings, RunOutcome("run-1", "success"))
    assert not stale.exists()
    assert settings.analytics_path.is_file()


def test_a_view_that_would_not_resolve_in_the_copy_stops_the_publish(settings):
    publish_analytics(settings, RunOutcome("run-1", "success"))
    before = settings.analytics_path.read_bytes()
    with duckdb.connect(str(settings.warehouse_path)) as con:
        con.execute(
            "create view staging.stg_reads_scratch as select * from test_failures.not_null_x"
        )
    with pytest.raises(PublishError, match=r"staging\.stg_reads_scratch does not resolve"):
        publish_analytics(settings, RunOutcome("run-2", "success"))
    assert settings.analytics_path.read_bytes() == before
    assert sorted(os.listdir(settings.analytics_path.parent)) == [
        "analytics.duckdb",
        "invoices.duckdb",
    ]


def test_no_copy_is_ever_more_readable_than_0640_even_under_umask_000(settings, monkeypatch):
    """Modes are read at each step of the publish (after the copy, inside the transaction,
    after the commit when DuckDB has written the copy's own .wal), under umask 000."""
    with duckdb.connect(str(settings.warehouse_path)) as con:  # leave a WAL to copy
        con.execute("set checkpoint_threshold = '1GB'")
        con.execute("pragma disable_checkpoint_on_shutdown")
        con.execute("insert into raw_xero.payments values ('pay-2')")
    assert settings.warehouse_path.with_name("invoices.duckdb.wal").exists()
    folder = settings.analytics_path.parent
    folder.mkdir(parents=True, exist_ok=True)
    seen: dict[str, set[int]] = {}

    def look(step):
        def wrapped(*args, **kwargs):
            for path in folder.glob(".analytics.duckdb.*"):
                kind = "wal" if path.name.endswith(".wal") else "copy"
                seen.setdefault(kind, set()).add(stat.S_IMODE(path.stat().st_mode))
            return step(*args, **kwargs)

        return wrapped

    for name in ("_drop_scratch", "_write_meta", "_check_views_bind"):
        monkeypatch.setattr(publish, name, look(getattr(publish, name)))
    previous = os.umask(0)
    try:
        publish_analytics(settings, RunOutcome("run-1", "success"))
        assert os.umask(0) == 0  # the publish's stricter umask was undone
    finally:
        os.umask(previous)
    assert set(seen) == {"copy", "wal"}, seen  # both the copied and DuckDB's own WAL seen
    for kind, modes in seen.items():
        for mode in modes:
            assert mode & 0o037 == 0, (kind, oct(mode))  # no group write, nothing for others
    assert stat.S_IMODE(settings.analytics_path.stat().st_mode) == 0o640
    assert query(settings.analytics_path, "select count(*) from raw_xero.payments") == [(2,)]

"""One webhook batch: the invoices Xero named, extracted, built, pushed — in about a second.

Under the sync lock (the hourly job and a batch never overlap), logged in ``sync_log.runs``
with ``command = 'webhook'`` by the run-log functions `sync` uses (stage reached, seconds per
stage, dlt load ids, dbt invocation id, ``build_scope = 'webhook'``):

1. extract: ``GET /Invoices?IDs=…`` for the named invoices, one call per organisation
   (:func:`pipelines.run.run_xero_extract`; the incremental cursor stays where it was);
2. transform: the fast path (:mod:`reverse_etl.fast_path`) — only the models on the path to
   the invoice actions, only for those invoices, into the ``webhook_*`` schemas, with the
   manifest parsed once per process; not recorded in ``sync_log.builds``;
3. push: ``webhook_reverse_etl.hubspot_invoice_actions`` to HubSpot, and the status-change
   alerts of ``webhook_reverse_etl.invoice_status_changes``;
4. quarantine reported as `sync` reports it (logged in ``sync_log.quarantine``, alerted once).

It does not publish the analysts' database, nor write the customers' side (company balances,
associations): the next hourly sync sees this batch's dlt load, builds the whole project
(``hourly``, :mod:`reverse_etl.core.build_plan`), pushes what is left and publishes.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar

import duckdb

from pipelines.run import run_xero_extract
from reverse_etl.app.sync import SyncReport, finish_run_log
from reverse_etl.core import sync_log
from reverse_etl.core.build_plan import BuildPlan
from reverse_etl.core.lock import sync_lock
from reverse_etl.core.settings import Settings
from reverse_etl.core.warehouse_busy import warehouse_busy_is_typed
from reverse_etl.fast_path import ACTIONS_SCHEMA, FAST_PATH, SCOPE, FastPathBuild
from reverse_etl.push.invoices import run_push
from reverse_etl.push.quarantine_report import report_quarantine

log = logging.getLogger(__name__)

T = TypeVar("T")


def sync_invoices(
    settings: Settings, invoice_ids: Sequence[str], *, fast_path: FastPathBuild = FAST_PATH
) -> SyncReport:
    """Extract, build and push the named invoices (module docstring). Raises as `sync` does:
    :class:`~reverse_etl.core.errors.RejectedRecordsError` or
    :class:`~reverse_etl.core.errors.QuarantinedRecordsError` after a batch that went through with
    records set aside; anything else when a stage failed (the run log says which)."""
    ids = sorted(set(invoice_ids))
    report = SyncReport()
    with (
        warehouse_busy_is_typed(settings),
        sync_lock(settings.warehouse_path, purpose="webhook sync"),
        _warehouse_kept_open(settings) as con,
    ):

        def stage(name: str, work: Callable[[], T]) -> T:
            report.stage = name
            sync_log.update_run(con, report.run_id, stage=name)
            started = time.monotonic()
            try:
                return work()
            finally:
                report.stage_seconds[name] = time.monotonic() - started

        sync_log.start_run(con, report.run_id, sync_log.now(), command="webhook", stage="extract")
        error: BaseException | None = None
        try:
            report.extract = stage("extract", lambda: run_xero_extract(settings, invoice_ids=ids))
            report.plan = BuildPlan(
                SCOPE,
                f"a webhook named {len(ids)} invoice(s): their path only; "
                "the next sync builds the whole project",
            )
            report.transform = stage("transform", lambda: fast_path.build(settings, ids))
            report.push = stage(
                "push",
                lambda: run_push(settings, run_id=report.run_id, actions_schema=ACTIONS_SCHEMA),
            )
            report.quarantined = report_quarantine(settings, report.run_id)
        except BaseException as exc:
            error = exc
            raise
        finally:
            finish_run_log(settings, report, error)
    log.info("Webhook batch of %d invoice(s): %s", len(ids), _timings(report.stage_seconds))
    for record in report.quarantined:
        log.warning("Quarantined: %s", record.line())
    report.raise_for_problems()
    return report


@contextmanager
def _warehouse_kept_open(settings: Settings) -> Iterator[duckdb.DuckDBPyConnection]:
    """The warehouse open for the whole batch, so that each stage's own connections (the run
    log's, dlt's, dbt-duckdb's, the push's) attach to this process's open database instead of
    opening the file again. Opening the file and closing it (DuckDB checkpoints when the last
    connection to a database closes) cost ~80 ms each at 100,000 invoices, some fifteen times
    a batch; a connection to a database already open in the process costs under 1 ms (DuckDB
    shares one database instance per file within a process: the instance cache,
    https://duckdb.org/docs/clients/c/connect). Closed when the batch ends, so the hourly
    job's process can open the file between batches."""
    con = sync_log.connect_warehouse(settings.warehouse_path)
    try:
        sync_log.ensure_tables(con)
        yield con
    finally:
        con.close()


def _timings(seconds: dict[str, Any]) -> str:
    return ", ".join(f"{name} {value:.2f}s" for name, value in seconds.items())

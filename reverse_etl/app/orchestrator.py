"""The one orchestrator of a run: the hourly `sync` and the webhook batch both go through it.

What a run's stages are differs (the hourly extract, build plan, transform, push and publish:
:func:`reverse_etl.app.sync.run_sync_once`; the webhook batch's extract by id, fast path and
push: :func:`reverse_etl.app.webhook_batch.sync_invoices`); what surrounds them is written here
once (issue 21):

- the run's environment (:func:`~reverse_etl.app.run_environment.run_environment`): busy errors
  typed, the warehouse lock, sandbox mode;
- the run log: a ``sync_log.runs`` row started before the first stage, so a run that fails in
  its extract is logged too, updated with the stage running, and closed with the outcome, the
  stage reached, the seconds per stage, the dlt load ids, the dbt invocation id, the build
  (``build_scope``, ``build_reason``) and the source-freshness result;
- the quarantine report (:func:`~reverse_etl.push.quarantine_report.report_quarantine`);
- source freshness, for the runs that measure it (:attr:`RunKind.measures_freshness`).

A :class:`RunKind` says what differs around the stages: the ``command`` written in the run log,
the lock's purpose, whether sandbox mode applies, whether the warehouse stays open for the
whole run, whether freshness is measured.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from typing import Any

from rich.console import Console

from reverse_etl.app.run_environment import run_environment
from reverse_etl.app.run_report import SyncReport
from reverse_etl.app.stage_progress import StageProgress
from reverse_etl.core import sync_log
from reverse_etl.core.safe_text import printable
from reverse_etl.core.settings import Settings
from reverse_etl.core.warehouse import Connection
from reverse_etl.push.quarantine_report import report_quarantine
from reverse_etl.transform import FreshnessReport, run_source_freshness

log = logging.getLogger(__name__)

# stage(name, work): runs ``work`` as the stage ``name`` (logged, timed); returns its result
Stage = Callable[[str, Callable[[], Any]], Any]


@dataclass(frozen=True)
class RunKind:
    """What differs around the stages of a run (module docstring)."""

    command: str  # sync_log.runs.command
    lock_purpose: str  # who holds the lock, as another run is told
    sandbox: bool = True
    keep_warehouse_open: bool = False
    measures_freshness: bool = True


HOURLY_RUN = RunKind(command="sync", lock_purpose="sync")
# The webhook batch: its server holds the sandbox for its lifetime; the warehouse stays open for
# the batch (:func:`_warehouse_kept_open`); freshness is not measured — a batch reads the named
# invoices only, not HubSpot, so its extract is not what dbt's freshness measures, and measuring
# would cost a dbt invocation per batch; the next hourly run measures it.
WEBHOOK_RUN = RunKind(
    command="webhook",
    lock_purpose="webhook sync",
    sandbox=False,
    keep_warehouse_open=True,
    measures_freshness=False,
)


class RunLog:
    """The run's row in ``sync_log.runs``: through the connection kept open for the run when
    there is one, else through a short-lived one per write."""

    def __init__(self, settings: Settings, run_id: str, con: Connection | None = None) -> None:
        self.settings, self.run_id, self._con = settings, run_id, con

    def start(self, command: str, *, dry_run: bool = False) -> None:
        with self._connection() as con:
            sync_log.start_run(
                con, self.run_id, sync_log.now(), command=command, dry_run=dry_run, stage="extract"
            )

    def update(self, **columns: Any) -> None:
        with self._connection() as con:
            sync_log.update_run(con, self.run_id, **columns)

    def _connection(self) -> Any:
        if self._con is not None:
            return nullcontext(self._con)
        return sync_log.open_warehouse(self.settings.warehouse)


def orchestrate(
    settings: Settings,
    kind: RunKind,
    stages: Callable[[Stage], None],
    *,
    report: SyncReport,
    out: Console | None = None,
    display: StageProgress | None = None,
) -> SyncReport:
    """Run ``stages`` (handed the :data:`Stage` runner) in the run's environment, logged in
    ``sync_log.runs`` from the start; then the quarantine report, and freshness when ``kind``
    measures it. ``out``: where each stage's summary line is printed (nowhere when None).
    Raises what a stage raised, after the run log is closed; returns ``report``, filled."""
    with (
        run_environment(settings, kind.lock_purpose, sandbox=kind.sandbox),
        _warehouse_kept_open(settings, kind.keep_warehouse_open) as con,
    ):
        run_log = RunLog(settings, report.run_id, con)
        run_log.start(kind.command, dry_run=report.dry_run)
        error: BaseException | None = None
        try:
            stages(_stage_runner(report, run_log, out, display))
            report.quarantined = report_quarantine(settings, report.run_id)
        except BaseException as exc:
            error = exc
            raise
        finally:
            if kind.measures_freshness and not isinstance(error, KeyboardInterrupt):
                _measure_freshness(settings, report, error, out)
            finish_run_log(run_log, report, error)
    return report


def _stage_runner(
    report: SyncReport, run_log: RunLog, out: Console | None, display: StageProgress | None
) -> Stage:
    def stage(name: str, work: Callable[[], Any]) -> Any:
        report.stage = name
        run_log.update(stage=name)
        started = time.monotonic()
        try:
            result = work()
        finally:
            report.stage_seconds[name] = time.monotonic() - started
            if display is not None:
                display.stop()
        if out is not None:
            summary = result.summary() if hasattr(result, "summary") else ""
            out.print(
                printable(f"[{name}] {summary}", keep_newlines=True), highlight=False, markup=False
            )
        return result

    return stage


@contextmanager
def _warehouse_kept_open(settings: Settings, keep: bool) -> Iterator[Connection | None]:
    """With ``keep``, the warehouse open for the whole run, so that each stage's own connections
    (the run log's, dlt's, dbt-duckdb's, the push's) attach to this process's open database
    instead of opening the file again. Opening the file and closing it (DuckDB checkpoints when
    the last connection to a database closes) cost ~80 ms each at 100,000 invoices, some
    fifteen times a webhook batch; a connection to a database already open in the process costs
    under 1 ms (DuckDB shares one database instance per file within a process: the instance
    cache, https://duckdb.org/docs/clients/c/connect). Closed when the run ends, so the hourly
    job's process can open the file between batches. Without ``keep``: None (the hourly run's
    dbt build and publish open the file themselves). Only on DuckDB: a server's connections
    are independent of each other, so one held open saves nothing (and would keep a session
    idle for the batch)."""
    warehouse = settings.warehouse
    if not keep or warehouse.engine != "duckdb":
        yield None
        return
    con = sync_log.connect_warehouse(warehouse)
    try:
        sync_log.ensure_tables(con)
        yield con
    finally:
        con.close()


def _measure_freshness(
    settings: Settings, report: SyncReport, error: BaseException | None, out: Console | None
) -> None:
    started = time.monotonic()
    report.freshness = _freshness(settings, report, error)
    report.stage_seconds["freshness"] = time.monotonic() - started
    if out is not None and report.freshness is not None and report.freshness.status != "pass":
        out.print(report.freshness.summary(), highlight=False, markup=False)


def _freshness(settings: Settings, report: SyncReport, error: BaseException | None) -> Any:
    """Source freshness, best effort: its result is information, never a failure. When this
    run's extract succeeded, both extract logs (``raw_xero.extract_runs``,
    ``raw_hubspot.extract_runs``, the sources dbt measures) got a row just now, so freshness
    is a pass without asking dbt; after a failed extract, `dbt source freshness` measures how
    stale the warehouse is."""
    if not settings.warehouse.exists():
        return None
    if report.extract is not None:
        sources = {"xero.extract_runs": "pass", "hubspot.extract_runs": "pass"}
        return FreshnessReport("pass", sources, 0.0, measured_by="this run's extract")
    try:
        return run_source_freshness(settings)
    except Exception as exc:
        log.warning("Source freshness could not be measured: %s: %s", type(exc).__name__, exc)
        return None


def finish_run_log(run_log: RunLog, report: SyncReport, error: BaseException | None) -> None:
    """Close the run's row: outcome, the stage reached, timings, load and invocation ids."""
    columns: dict[str, Any] = {
        "finished_at": sync_log.now(),
        "stage": report.stage if error is not None else "done",
        "stage_seconds": json.dumps({k: round(v, 3) for k, v in report.stage_seconds.items()}),
    }
    if report.extract is not None:
        columns["dlt_load_ids"] = list(report.extract.load_ids)
    if report.transform is not None:
        columns["dbt_invocation_id"] = report.transform.invocation_id
    if report.freshness is not None:
        columns["freshness"] = report.freshness.summary()
    if report.plan is not None:
        columns["build_scope"] = report.plan.scope
        columns["build_reason"] = report.plan.reason
    if error is not None:
        columns["status"] = "failed"
        columns["error"] = f"{type(error).__name__}: {error}"[:2000]
    elif report.push is not None:
        columns["status"] = report.push.status
    elif report.plan is not None and report.plan.skipped:
        columns["status"] = "success"
    try:
        run_log.update(**columns)
    except Exception as exc:  # the run's own error matters more than its log line
        log.warning("Could not finish the run log of %s: %s", report.run_id, exc)

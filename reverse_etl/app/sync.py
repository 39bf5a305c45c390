"""The sync job: extract → transform → push, once or on a schedule, under the warehouse lock.

Exit codes (documented in the README, :mod:`reverse_etl.core.errors`): 0 everything synced; 1 the
run failed (nothing after the failing stage ran; what earlier stages stored is kept); 3 the run
finished but HubSpot rejected some records (they are listed in ``sync_log.record_results`` and
retried next run) or some Xero records are in quarantine (named in the output,
``sync_log.quarantine`` and the alert; retried when they change in Xero —
:mod:`reverse_etl.push.quarantine_report`); 4 another run holds the warehouse (nothing was
done); 75 the Xero read stopped at Xero's day limit: what it read was transformed and pushed,
and the next run resumes the read where it stopped (rejections and quarantines, which need a
person, win over 75). 2 is Click's usage error.

Run log (written by the one orchestrator, :mod:`reverse_etl.app.orchestrator`, which the
webhook batch goes through too): every run that got the lock has a ``sync_log.runs`` row,
started before the extract, so a run that fails in the extract is logged too, with the stage
it failed in, its error, the seconds per stage, the dlt load ids, the dbt invocation id, the
build it chose and why (``build_scope``, ``build_reason``) and the source-freshness result.

Pay only for what changed: after the extract, :mod:`reverse_etl.core.build_plan` decides the build.
A run that loaded nothing new, on a day already built for, after a build HubSpot confirmed in
full, skips the transform, the push and the publish (and says so in its summary line and in
``sync_log.runs``); new data gets an ``hourly`` build (every model, the data tests that guard
the writes to HubSpot); the first run of a day in an organisation's time zone, or after the
project or the mirroring settings changed, gets the ``daily`` build with every data test.
Freshness is a pass when this run's extract succeeded (it has just written both extract logs
that dbt's freshness measures); after a failed extract `dbt source freshness` measures it. It
is a warning in the log, never a failure.
"""

from __future__ import annotations

import functools
import logging
import re
import time
from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from rich.console import Console

from reverse_etl.app.orchestrator import HOURLY_RUN, Stage, orchestrate
from reverse_etl.app.run_report import SyncReport
from reverse_etl.app.stage_progress import StageProgress
from reverse_etl.core import sync_log
from reverse_etl.core.build_plan import HOURLY, BuildPlan, plan_build
from reverse_etl.core.errors import (
    ConfigError,
    InvoiceSyncError,
    LockBusyError,
    WarehouseBusyError,
)
from reverse_etl.core.failures import as_project_error, one_line
from reverse_etl.core.health import LoopHealth
from reverse_etl.core.safe_text import printable
from reverse_etl.core.settings import Settings
from reverse_etl.push.alerts import deliver
from reverse_etl.transform import build_inputs

__all__ = ["LoopHealth", "SyncReport", "parse_interval", "run_sync_command", "run_sync_once"]

log = logging.getLogger(__name__)

_INTERVAL = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd])\s*$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_interval(text: str) -> float:
    """``"90s"``, ``"15m"``, ``"1h"``, ``"1d"`` → seconds (at least 10 s)."""
    match = _INTERVAL.match(text)
    if not match:
        raise ConfigError(
            f"--every {text!r} is not an interval: use a number and s/m/h/d, e.g. 1h."
        )
    seconds = float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
    if seconds < 10:
        raise ConfigError(f"--every {text!r} is too short: use 10s or more.")
    return seconds


def run_sync_once(
    settings: Settings,
    *,
    full_refresh: bool = False,
    console: Console | None = None,
    dry_run: bool = False,
    since: date | None = None,
    report: SyncReport | None = None,
    progress: bool = True,
    now: datetime | None = None,
) -> SyncReport:
    """One extract → transform → push under the lock, logged in ``sync_log.runs`` from the
    start (the one orchestrator, :mod:`reverse_etl.app.orchestrator`). ``dry_run``: extract and
    transform, then print the plan; nothing is written to HubSpot. ``since``: read Xero from
    this date, once. Raises on failure; returns the report (pass ``report`` to keep what a
    failed run did). Whenever the transform succeeded (even if the push then failed or HubSpot
    rejected records) the analysts' database is published (reverse_etl/analysts/publish.py;
    ``meta.sync_status`` says which); a dry run publishes nothing. A warehouse held by another
    process raises :class:`WarehouseBusyError`. ``now`` stands in for the clock in the build
    decision (tests of a new day)."""
    out = console or Console(markup=False, highlight=False)
    report = report or SyncReport()
    report.dry_run = dry_run
    display = StageProgress(out if progress else None)
    hourly = functools.partial(
        _hourly_stages,
        settings,
        report,
        out=out,
        display=display,
        full_refresh=full_refresh,
        since=since,
        now=now,
    )
    orchestrate(settings, HOURLY_RUN, hourly, report=report, out=out, display=display)
    for record in report.quarantined:  # Xero's text: never rendered as markup
        out.print(f"Quarantined: {printable(record.line())}", highlight=False, markup=False)
    out.print(printable(report.summary(), keep_newlines=True), highlight=False, markup=False)
    return report


def _hourly_stages(
    settings: Settings,
    report: SyncReport,
    stage: Stage,
    *,
    out: Console,
    display: StageProgress,
    full_refresh: bool,
    since: date | None,
    now: datetime | None,
) -> None:
    """The hourly run's stages: extract, the build plan, transform, push then publish."""
    # imported here for the tests that replace these functions in their modules, and for
    # start-up time: dlt (pipelines.run) and the HubSpot SDK (push) take seconds to import
    from pipelines.run import run_extract
    from pipelines.xero_cursors import xero_cursors
    from reverse_etl.analysts.publish import push_then_publish
    from reverse_etl.push.invoices import run_push
    from reverse_etl.transform import run_transform

    report.extract = stage(
        "extract",
        lambda: run_extract(
            settings, full_refresh=full_refresh, since=since, progress=display.extract_hook()
        ),
    )
    report.plan = _plan(settings, full_refresh=full_refresh, since=since, now=now)
    if report.dry_run and report.plan.skipped:  # the plan printed must be this hour's
        report.plan = BuildPlan(HOURLY, "a dry run prints the plan of a fresh build")
    if report.plan.skipped:  # HubSpot holds what the last build computed; analysts have its copy
        out.print(f"[transform] skipped: {report.plan.reason}.", markup=False)
        return
    report.transform = stage(
        "transform",
        lambda: run_transform(
            settings,
            scope=report.plan.scope,
            progress=display.transform_hook(),
            run_id=report.run_id,
            now=now,
        ),
    )
    _alert_analyst_failures(settings, report.transform)
    if report.dry_run:
        report.push = stage(
            "push", lambda: run_push(settings, console=out, dry_run=True, run_id=report.run_id)
        )
    else:
        report.push, report.publish = push_then_publish(
            settings,
            lambda run_id: run_push(settings, console=out, run_id=run_id),
            run_id=report.run_id,
            timed=stage,
            cursors=lambda: xero_cursors(settings),
        )


def _alert_analyst_failures(settings: Settings, transform: Any, notify: Any = None) -> None:
    """Tests of analyst-only marts that failed do not stop the push (reverse_etl/core/push_path.py):
    they are named in the transform's summary line and sent as an alert, best effort."""
    failures = getattr(transform, "analyst_failures", ())
    if not failures:
        return
    body = "The push went on; the failing rows are in dbt_test_failures:\n" + "\n".join(
        f"- {line}" for line in failures
    )
    try:
        deliver(settings, f"Xero → HubSpot: {len(failures)} analyst test(s) failed", body, notify)
    except Exception as exc:  # alerts never fail the sync
        log.warning("Analyst test alert could not be sent: %s", type(exc).__name__)


def _plan(
    settings: Settings, *, full_refresh: bool, since: date | None, now: datetime | None
) -> BuildPlan:
    """This run's build (:mod:`reverse_etl.core.build_plan`), decided after the extract."""
    force = None
    if full_refresh:
        force = "--full-refresh"
    elif since is not None:
        force = f"--since {since.isoformat()}"
    inputs = build_inputs(settings, now=now)
    with sync_log.open_warehouse(settings.warehouse) as con:
        return plan_build(con, inputs, force=force)


def run_sync_command(
    settings: Settings,
    *,
    every: str | None = None,
    full_refresh: bool = False,
    console: Console | None = None,
    max_runs: int | None = None,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
    health: LoopHealth | None = None,
    dry_run: bool = False,
    since: date | None = None,
    report: SyncReport | None = None,
    progress: bool = True,
) -> None:
    """`invoice-sync sync`: once (errors propagate: exit 1, or 3 for rejected or quarantined
    records), or on a schedule with ``every``, where a failed tick is logged and the next tick
    runs regardless.

    On a schedule nothing stops the loop but Ctrl-C: any exception of a tick is turned into its
    one-line project error (:func:`reverse_etl.core.failures.as_project_error`), logged with the
    count of failures in a row, and recorded in ``health``. A tick that found the warehouse busy
    (another process holds DuckDB's file lock, or another invoice-sync run holds ours) is
    retried within the interval after :data:`BUSY_BACKOFF` fractions of it (1, 2, 4 and 8
    minutes for ``--every 1h``) before it counts as failed."""
    if every is not None and (dry_run or since is not None):
        raise ConfigError("--dry-run and --since apply to one run: use them without --every.")
    if every is None:
        report = run_sync_once(
            settings,
            full_refresh=full_refresh,
            console=console,
            dry_run=dry_run,
            since=since,
            report=report,
            progress=progress,
        )
        report.raise_for_problems()
        if report.extract is not None and hasattr(report.extract, "raise_for_limit_stops"):
            report.extract.raise_for_limit_stops()
        return
    interval = parse_interval(every)
    out = console or Console(markup=False, highlight=False)
    out.print(f"Running every {every}; Ctrl-C to stop.", highlight=False, markup=False)
    _run_every(
        lambda first: run_sync_once(settings, full_refresh=full_refresh and first, console=out),
        interval=interval,
        max_runs=max_runs,
        sleep=sleep,
        clock=clock,
        health=health or LoopHealth(),
    )


def _run_every(
    run: Callable[[bool], SyncReport],
    *,
    interval: float,
    max_runs: int | None,
    sleep: Callable[[float], None],
    clock: Callable[[], float],
    health: LoopHealth,
) -> None:
    """The schedule: a run every ``interval`` seconds (``run(first)``), keeping the cadence."""
    runs = 0
    next_start = clock()
    while max_runs is None or runs < max_runs:
        runs += 1
        _tick(
            lambda first=(runs == 1): run(first),
            number=runs,
            interval=interval,
            sleep=sleep,
            health=health,
        )
        if max_runs is not None and runs >= max_runs:
            break
        next_start += interval
        now = clock()
        if next_start < now:  # the run overran: skip the missed ticks, keep the cadence
            next_start += interval * ((now - next_start) // interval + 1)
        sleep(next_start - now)


# Retry delays of a tick that found the warehouse busy, as fractions of the interval.
BUSY_BACKOFF = (1 / 60, 2 / 60, 4 / 60, 8 / 60)


def _tick(
    run: Callable[[], SyncReport],
    *,
    number: int,
    interval: float,
    sleep: Callable[[float], None],
    health: LoopHealth,
) -> None:
    """One scheduled run: never raises (but for Ctrl-C); busy warehouses are retried."""
    retries = iter(BUSY_BACKOFF)
    while True:
        try:
            report = run()
        except Exception as exc:  # an unattended loop survives anything; it reports it
            error = as_project_error(exc)
            delay = next(retries, None) if _is_busy(error) else None
            if delay is not None:
                log.warning(
                    "Run %d: %s; retrying in %.0fs.", number, one_line(str(error)), delay * interval
                )
                sleep(delay * interval)
                continue
            message = f"{type(error).__name__}: {one_line(str(error))}"
            health.failed(message)
            log.error(
                "Run %d failed (%d in a row): %s The next run starts on schedule.",
                number,
                health.consecutive_failures,
                message,
            )
            return
        health.succeeded()
        if report.rejected or report.quarantined:
            log.warning(
                "Run %d finished with %d rejected and %d quarantined records (see sync_log; "
                "they are retried next run).",
                number,
                report.rejected,
                len(report.quarantined),
            )
        stopped = getattr(getattr(report.extract, "xero", None), "stopped", None)
        if stopped:
            log.warning("Run %d is incomplete: %s", number, " ".join(stopped.values()))
        return


def _is_busy(error: InvoiceSyncError) -> bool:
    return isinstance(error, WarehouseBusyError | LockBusyError)

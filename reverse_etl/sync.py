"""The sync job: extract → transform → push, once or on a schedule, under the warehouse lock.

Exit codes (documented in the README): 0 everything synced; 1 the run failed (nothing after
the failing stage ran; what earlier stages stored is kept); 2 the run finished but HubSpot
rejected some records (they are listed in ``sync_log.record_results`` and retried next run).
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from rich.console import Console

from reverse_etl.errors import ConfigError, InvoiceSyncError, LockBusyError, WarehouseBusyError
from reverse_etl.failures import as_project_error, one_line
from reverse_etl.health import LoopHealth
from reverse_etl.lock import sync_lock
from reverse_etl.sandbox_mode import sandbox_if_needed
from reverse_etl.settings import Settings

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


@dataclass
class SyncReport:
    """What one run did, stage by stage."""

    stage_seconds: dict[str, float] = field(default_factory=dict)
    extract: Any = None
    transform: Any = None
    push: Any = None

    @property
    def rejected(self) -> int:
        return int(getattr(self.push, "rejected", 0) or 0)

    def summary(self) -> str:
        timings = ", ".join(f"{name} {secs:.1f}s" for name, secs in self.stage_seconds.items())
        return f"Sync finished in {sum(self.stage_seconds.values()):.1f}s ({timings})."


def run_sync_once(
    settings: Settings, *, full_refresh: bool = False, console: Console | None = None
) -> SyncReport:
    """One extract → transform → push under the lock. Raises on failure; returns the report."""
    from pipelines.run import run_extract
    from reverse_etl.push import run_push
    from reverse_etl.transform import run_transform

    out = console or Console(markup=False, highlight=False)
    report = SyncReport()

    def stage(name: str, work: Callable[[], Any]) -> Any:
        started = time.monotonic()
        result = work()
        report.stage_seconds[name] = time.monotonic() - started
        summary = result.summary() if hasattr(result, "summary") else ""
        out.print(f"[{name}] {summary}", highlight=False, markup=False)
        return result

    with sync_lock(settings.warehouse_path), sandbox_if_needed(settings):
        report.extract = stage("extract", lambda: run_extract(settings, full_refresh=full_refresh))
        report.transform = stage("transform", lambda: run_transform(settings))
        report.push = stage("push", lambda: run_push(settings, console=out))
    out.print(report.summary(), highlight=False, markup=False)
    return report


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
) -> None:
    """`invoice-sync sync`: once (errors propagate: exit 1, or 2 for rejected records), or on a
    schedule with ``every``, where a failed tick is logged and the next tick runs regardless.

    On a schedule nothing stops the loop but Ctrl-C: any exception of a tick is turned into its
    one-line project error (:func:`reverse_etl.failures.as_project_error`), logged with the count
    of failures in a row, and recorded in ``health``. A tick that found the warehouse busy
    (another process holds DuckDB's file lock, or another invoice-sync run holds ours) is
    retried within the interval after :data:`BUSY_BACKOFF` fractions of it (1, 2, 4 and 8
    minutes for ``--every 1h``) before it counts as failed."""
    if every is None:
        report = run_sync_once(settings, full_refresh=full_refresh, console=console)
        push = report.push
        if push is not None and hasattr(push, "raise_for_rejections"):
            push.raise_for_rejections()
        return
    interval = parse_interval(every)
    out = console or Console(markup=False, highlight=False)
    health = health or LoopHealth()
    out.print(f"Running every {every}; Ctrl-C to stop.", highlight=False, markup=False)
    runs = 0
    next_start = clock()
    while max_runs is None or runs < max_runs:
        runs += 1
        _tick(
            lambda first=(runs == 1): run_sync_once(
                settings, full_refresh=full_refresh and first, console=out
            ),
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
        if report.rejected:
            log.warning(
                "Run %d finished with %d rejected records (see sync_log.record_results; "
                "they are retried next run).",
                number,
                report.rejected,
            )
        return


def _is_busy(error: InvoiceSyncError) -> bool:
    return isinstance(error, WarehouseBusyError | LockBusyError)

"""The sync job: extract → transform → push, once or on a schedule, under the warehouse lock.

Exit codes (documented in the README): 0 everything synced; 1 the run failed (nothing after
the failing stage ran; what earlier stages stored is kept); 2 the run finished but HubSpot
rejected some records (they are listed in ``sync_log.record_results`` and retried next run)
or some Xero records are in quarantine (named in the output, ``sync_log.quarantine`` and the
alert; retried when they change in Xero — :mod:`reverse_etl.quarantine_report`); 75 the Xero
read stopped at Xero's day limit: what it read was transformed and pushed, and the next run
resumes the read where it stopped (rejections and quarantines, which need a person, win over 75).
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from rich.console import Console

from reverse_etl.errors import (
    ConfigError,
    InvoiceSyncError,
    QuarantinedRecordsError,
    RejectedRecordsError,
)
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
    quarantined: list[Any] = field(default_factory=list)

    @property
    def rejected(self) -> int:
        return int(getattr(self.push, "rejected", 0) or 0)

    def raise_for_problems(self) -> None:
        """Exit 2 when HubSpot rejected records or Xero records are in quarantine."""
        from reverse_etl.quarantine_report import quarantine_message

        quarantine = quarantine_message(self.quarantined) if self.quarantined else ""
        try:
            if self.push is not None and hasattr(self.push, "raise_for_rejections"):
                self.push.raise_for_rejections()
        except RejectedRecordsError as exc:
            if quarantine:
                raise RejectedRecordsError(f"{exc} Also: {quarantine}") from None
            raise
        if quarantine:
            raise QuarantinedRecordsError(quarantine)

    def summary(self) -> str:
        timings = ", ".join(f"{name} {secs:.1f}s" for name, secs in self.stage_seconds.items())
        return f"Sync finished in {sum(self.stage_seconds.values()):.1f}s ({timings})."


def run_sync_once(
    settings: Settings, *, full_refresh: bool = False, console: Console | None = None
) -> SyncReport:
    """One extract → transform → push under the lock. Raises on failure; returns the report."""
    from pipelines.run import run_extract
    from reverse_etl.push import run_push
    from reverse_etl.quarantine_report import report_quarantine
    from reverse_etl.transform import run_transform

    out = console or Console()
    report = SyncReport()

    def stage(name: str, work: Callable[[], Any]) -> Any:
        started = time.monotonic()
        result = work()
        report.stage_seconds[name] = time.monotonic() - started
        summary = result.summary() if hasattr(result, "summary") else ""
        out.print(f"[{name}] {summary}", highlight=False, markup=False)  # Xero text inside
        return result

    with sync_lock(settings.warehouse_path), sandbox_if_needed(settings):
        report.extract = stage("extract", lambda: run_extract(settings, full_refresh=full_refresh))
        report.transform = stage("transform", lambda: run_transform(settings))
        report.push = stage("push", lambda: run_push(settings, console=out))
        report.quarantined = report_quarantine(settings, getattr(report.push, "run_id", None))
    for record in report.quarantined:  # Xero's text: never rendered as markup
        out.print(f"Quarantined: {record.line()}", highlight=False, markup=False)
    out.print(report.summary(), highlight=False)
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
) -> None:
    """`invoice-sync sync`: once (errors propagate: exit 1, or 2 for rejected records), or on a
    schedule with ``every``, where a failed run is logged and the next tick runs regardless."""
    if every is None:
        report = run_sync_once(settings, full_refresh=full_refresh, console=console)
        report.raise_for_problems()
        if report.extract is not None and hasattr(report.extract, "raise_for_limit_stops"):
            report.extract.raise_for_limit_stops()
        return
    interval = parse_interval(every)
    out = console or Console()
    out.print(f"Running every {every}; Ctrl-C to stop.", highlight=False)
    runs = 0
    next_start = clock()
    while max_runs is None or runs < max_runs:
        runs += 1
        try:
            report = run_sync_once(settings, full_refresh=full_refresh and runs == 1, console=out)
            if report.rejected or report.quarantined:
                log.warning(
                    "Run %d finished with %d rejected and %d quarantined records (see sync_log).",
                    runs,
                    report.rejected,
                    len(report.quarantined),
                )
            stopped = getattr(getattr(report.extract, "xero", None), "stopped", None)
            if stopped:
                log.warning("Run %d is incomplete: %s", runs, " ".join(stopped.values()))
        except InvoiceSyncError as exc:
            log.error("Run %d failed: %s: %s", runs, type(exc).__name__, exc)
        if max_runs is not None and runs >= max_runs:
            break
        next_start += interval
        now = clock()
        if next_start < now:  # the run overran: skip the missed ticks, keep the cadence
            next_start += interval * ((now - next_start) // interval + 1)
        sleep(next_start - now)

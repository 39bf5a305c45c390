"""Plumbing shared by the benchmarks: sizes, the time budget, emulator processes, stage runs.

Every measured stage runs in its own process (:mod:`benchmarks.stage`) with the environment
contract pointing at emulators that run in processes of their own (:mod:`benchmarks.serve`),
so neither shares a GIL with the other and each peak RSS is the stage's alone.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from benchmarks.emulators import REPO, EmulatorProcess
from reverse_etl.core.settings import (
    SANDBOX_HUBSPOT_TOKEN,
    SANDBOX_XERO_CLIENT_ID,
    SANDBOX_XERO_CLIENT_SECRET,
)

CONTRACT_PREFIXES = (
    "XERO_",
    "HUBSPOT_",
    "WAREHOUSE_PATH",
    "WAREHOUSE_URL",  # set per world by benchmarks/engines.py, never inherited
    "ALERT_URLS",
    "INVOICE_SYNC_",
)
# With BENCH_MIRROR_ALL=1, mirror every invoice (both types, drafts, voided and deleted), so
# that N invoices in Xero are N HubSpot records. Off by default: the project's defaults mirror
# approved sales invoices only (dbt_project.yml vars), about 3/4 of the generated ledger, and
# the dbt unit test test_desired_values_in_hubspot_formats assumes those defaults.
MIRROR_ALL = {
    "hubspot_invoice_types": ["ACCREC", "ACCPAY"],
    "hubspot_include_drafts": True,
    "hubspot_include_voided_and_deleted": True,
}
# Share of the time budget by which a benchmark must be done with its repeat runs, so that
# the later benchmarks still fit (full mode: 30 minutes on 2 cores).
DEADLINES = {"backfill": 0.25, "tap-xero": 0.33, "push": 0.6, "hourly": 0.7, "scaling": 0.9}


@dataclass(frozen=True)
class Sizes:
    """How big each benchmark is; ``full()`` for `make bench`, ``quick()`` for bench-quick."""

    invoices: int
    tenants: int
    updates: int
    naive_creates: int
    naive_updates: int
    scaling: tuple[int, ...]
    scaling_big: int | None
    loadgen_seconds: float
    budget_seconds: float
    runs: int
    hubspot_limit: int = 190
    hubspot_latency_ms: int = 100
    hourly_activity_hours: float = 1.0
    webhook_events: int = 50
    webhook_interval_seconds: float = 1.0
    webhook_drain_seconds: float = 600.0
    big_invoices: int = 1_000_000

    @classmethod
    def full(cls) -> Sizes:
        return cls(
            invoices=100_000,
            tenants=2,
            updates=10_000,
            naive_creates=1_000,
            naive_updates=250,
            scaling=(1_000, 10_000),
            scaling_big=1_000_000,
            loadgen_seconds=5.0,
            budget_seconds=30 * 60,
            runs=3,
        )

    @classmethod
    def quick(cls) -> Sizes:
        return cls(
            invoices=2_000,
            tenants=2,
            updates=200,
            naive_creates=60,
            naive_updates=30,
            scaling=(500,),
            scaling_big=None,
            loadgen_seconds=2.0,
            budget_seconds=3 * 60,
            runs=1,
            webhook_events=8,
            webhook_drain_seconds=300.0,
            big_invoices=20_000,
        )

    @property
    def ceiling_records_per_second(self) -> float:
        """HubSpot's limit × 100 records a batch: the most any client can write."""
        return self.hubspot_limit / 10 * 100

    def public(self) -> dict[str, Any]:
        out = asdict(self)
        out["scaling"] = list(self.scaling)
        out["ceiling_records_per_second"] = self.ceiling_records_per_second
        return out


class StageError(RuntimeError):
    """A stage process failed; the message carries the end of its log."""


class Harness:
    """One harness run: its temp root, logs, time budget, and how to start things.

    ``code_root`` is the tree whose code the stage processes run (its ``benchmarks.stage``,
    ``reverse_etl``, ``pipelines`` and ``dbt_project``): this checkout, or a temporary worktree
    of the baseline commit (:mod:`benchmarks.baseline`). The emulators always run this
    checkout's ``sandbox`` (a newer emulator serves older code the same API).
    """

    def __init__(self, sizes: Sizes, root: Path, log: Any = print, code_root: Path = REPO) -> None:
        self.sizes = sizes
        self.root = root
        self.code_root = code_root
        self.logs = root / "logs"
        self.logs.mkdir(parents=True, exist_ok=True)
        self.started = time.monotonic()
        self.log = log
        self._emulators: list[EmulatorProcess] = []

    # -- time ------------------------------------------------------------------------------
    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def remaining(self) -> float:
        return self.sizes.budget_seconds - self.elapsed()

    def another_run(self, name: str, done: int, last_seconds: float) -> bool:
        """Start run ``done + 1``? Always the first; a repeat only if it ends by the benchmark's
        share of the budget (then the JSON says how many runs the median is of)."""
        if done >= self.sizes.runs:
            return False
        if done == 0:
            return True
        deadline = self.sizes.budget_seconds * DEADLINES.get(name, 1.0)
        return self.elapsed() + last_seconds <= deadline

    def runs(self, name: str) -> Iterator[int]:
        """Run indexes for ``name``, stopping early when the budget says so."""
        done, last = 0, 0.0
        while self.another_run(name, done, last):
            began = time.monotonic()
            yield done
            done += 1
            last = time.monotonic() - began

    # -- emulators -------------------------------------------------------------------------
    def xero(self, invoices: int, *, unlimited: bool = True) -> EmulatorProcess:
        args = ["--invoices", str(invoices), "--tenants", str(self.sizes.tenants)]
        if unlimited:
            args.append("--unlimited")
        return self._start("xero", args)

    def hubspot(self, *, unlimited: bool = False) -> EmulatorProcess:
        args = ["--latency-ms", str(self.sizes.hubspot_latency_ms)]
        if unlimited:
            args = ["--unlimited"]
        else:
            args += ["--requests-per-10s", str(self.sizes.hubspot_limit)]
        return self._start("hubspot", args)

    def _start(self, api: str, args: list[str]) -> EmulatorProcess:
        emulator = EmulatorProcess(api, *args, log_dir=self.logs)
        self._emulators.append(emulator)
        return emulator

    def stop(self, emulator: EmulatorProcess | None) -> None:
        if emulator is None:
            return
        emulator.stop()
        if emulator in self._emulators:
            self._emulators.remove(emulator)

    def stop_all(self) -> None:
        for emulator in list(self._emulators):
            self.stop(emulator)

    # -- warehouses and environments -------------------------------------------------------
    def workdir(self, label: str) -> Path:
        path = self.root / f"{label}-{time.time_ns()}"
        path.mkdir(parents=True)
        return path

    def copy_workdir(self, source: Path, label: str) -> Path:
        target = self.root / f"{label}-{time.time_ns()}"
        shutil.copytree(source, target)
        return target

    def env(
        self, xero: EmulatorProcess, hubspot: EmulatorProcess, workdir: Path, **extra: str
    ) -> dict[str, str]:
        """The environment contract pointing the tool at these emulators and this warehouse."""
        env = {k: v for k, v in os.environ.items() if not k.startswith(CONTRACT_PREFIXES)}
        env.update(
            {
                "XERO_BASE_URL": xero.url,
                "XERO_IDENTITY_URL": xero.url,
                "XERO_CLIENT_ID": SANDBOX_XERO_CLIENT_ID,
                "XERO_CLIENT_SECRET": SANDBOX_XERO_CLIENT_SECRET,
                "HUBSPOT_BASE_URL": hubspot.url,
                "HUBSPOT_ACCESS_TOKEN": SANDBOX_HUBSPOT_TOKEN,
                "HUBSPOT_REQUESTS_PER_10S": str(self.sizes.hubspot_limit),
                "WAREHOUSE_PATH": str(workdir / "invoices.duckdb"),
                "INVOICE_SYNC_STATE_DIR": str(workdir),
                "DLT_DATA_DIR": str(workdir / "dlt-data"),
                "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
                "RUNTIME__DLTHUB_TELEMETRY": "false",
                "DO_NOT_TRACK": "1",
            }
        )
        env.update(extra)
        return env

    # -- stages ----------------------------------------------------------------------------
    def stage(
        self, name: str, env: dict[str, str], *args: str, timeout: float = 3600
    ) -> dict[str, Any]:
        """Run ``python -m benchmarks.stage name`` and return its JSON line (+ process time).

        ``timeout`` is for 100,000 invoices; bigger ledgers get it in proportion."""
        timeout *= max(1.0, self.sizes.invoices / 100_000)
        if name in ("transform", "sync") and mirror_all():
            args = ("--dbt-vars", json.dumps(MIRROR_ALL), *args)
        log_path = self.logs / f"stage-{name}-{time.time_ns()}.log"
        started = time.perf_counter()
        with log_path.open("w") as log:
            proc = subprocess.run(
                [sys.executable, "-m", "benchmarks.stage", name, *args],
                cwd=self.code_root,
                env=self.code_env(env),
                stdout=subprocess.PIPE,
                stderr=log,
                text=True,
                timeout=timeout,
            )
        process_seconds = time.perf_counter() - started
        result = _last_json(proc.stdout)
        if proc.returncode != 0 or result is None:
            tail = log_path.read_text()[-1500:].strip()
            raise StageError(f"stage {name} exited {proc.returncode}: {tail}")
        result["process_seconds"] = process_seconds
        return result

    def code_env(self, env: dict[str, str]) -> dict[str, str]:
        """``env`` with ``code_root`` first on the import path (ahead of the editable install,
        whose finder comes after ``sys.path``)."""
        return {**env, "PYTHONPATH": str(self.code_root)}


def mirror_all() -> bool:
    return os.environ.get("BENCH_MIRROR_ALL", "") not in ("", "0")


def _last_json(stdout: str) -> dict[str, Any] | None:
    for line in reversed(stdout.splitlines()):
        if line.startswith("{"):
            try:
                return json.loads(line)
            except ValueError:
                return None
    return None


def error_text(exc: BaseException, limit: int = 600) -> str:
    """One short line for the JSON: the exception type and the end of its message."""
    text = f"{type(exc).__name__}: {exc}".replace("\n", " ")
    return text if len(text) <= limit else "…" + text[-limit:]

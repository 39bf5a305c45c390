"""The shape of a benchmark run's results: metrics with their raw runs, medians and targets.

Written to ``benchmarks/results/latest.json``. A metric keeps every run's raw value; its
headline is the median. Targets are ``(operator, value)`` pairs checked against the median.
"""

from __future__ import annotations

import math
import os
import platform
import statistics
import subprocess
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

PACKAGES = (
    "xero-hubspot-invoices",
    "dlt",
    "duckdb",
    "dbt-core",
    "dbt-duckdb",
    "hubspot-api-client",
    "aiohttp",
    "requests",
    "urllib3",
)


def median(values: list[float]) -> float | None:
    """The median of the finite values (None when there are none)."""
    clean = [v for v in values if v is not None and not math.isnan(v)]
    return statistics.median(clean) if clean else None


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    """``numerator / denominator``, or None when either is missing or the denominator is 0."""
    if numerator is None or denominator in (None, 0):
        return None
    return numerator / denominator


@dataclass
class Metric:
    label: str
    unit: str
    values: list[float] = field(default_factory=list)
    target: tuple[str, float] | None = None
    note: str = ""

    @property
    def median(self) -> float | None:
        return median(self.values)

    @property
    def meets_target(self) -> bool | None:
        value = self.median
        if self.target is None or value is None:
            return None
        op, bound = self.target
        return {
            ">=": value >= bound,
            ">": value > bound,
            "<=": value <= bound,
            "<": value < bound,
            "==": value == bound,
        }[op]

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "label": self.label,
            "unit": self.unit,
            "runs": [_round(v) for v in self.values],
            "median": _round(self.median),
        }
        if self.target is not None:
            out["target"] = f"{self.target[0]} {_fmt_number(self.target[1])}"
            out["meets_target"] = self.meets_target
        if self.note:
            out["note"] = self.note
        return out


@dataclass
class BenchResult:
    """One benchmark: ``status`` is ok, failed (with the error), skipped or blocked (why)."""

    name: str
    title: str
    status: str = "ok"
    reason: str = ""
    metrics: dict[str, Metric] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    runs: int = 0
    seconds: float = 0.0

    def metric(self, key: str, label: str, unit: str, **options: Any) -> Metric:
        if key not in self.metrics:
            self.metrics[key] = Metric(label, unit, **options)
        return self.metrics[key]

    def add(self, key: str, value: float | None, label: str, unit: str, **options: Any) -> None:
        metric = self.metric(key, label, unit, **options)
        if value is not None:
            metric.values.append(float(value))

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "title": self.title,
            "status": self.status,
            "runs": self.runs,
            "seconds": round(self.seconds, 1),
            "metrics": {k: m.to_json() for k, m in self.metrics.items()},
        }
        if self.reason:
            out["reason"] = self.reason
        if self.notes:
            out["notes"] = self.notes
        if self.details:
            out["details"] = self.details
        return out


def _round(value: float | None) -> float | None:
    if value is None:
        return None
    if value == int(value) and abs(value) < 1e15:
        return int(value)
    return round(value, 4 if abs(value) < 10 else 2)


def _fmt_number(value: float) -> str:
    return f"{value:g}"


def machine() -> dict[str, Any]:
    """Cores, memory, CPU model, OS, Python, and the load average (was the machine busy?)."""
    info: dict[str, Any] = {
        "cores": os.cpu_count(),
        "cpu_model": _cpu_model(),
        "platform": platform.platform(),
        "python": sys.version.split()[0],
    }
    try:
        import psutil

        info["memory_gb"] = round(psutil.virtual_memory().total / 2**30, 1)
        info["memory_available_gb"] = round(psutil.virtual_memory().available / 2**30, 1)
    except ImportError:  # psutil is in the bench extra; the harness still runs without it
        info["memory_gb"] = None
    info["load_average_at_start"] = [round(x, 2) for x in os.getloadavg()]
    return info


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def package_versions() -> dict[str, str | None]:
    versions: dict[str, str | None] = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def git_commit(repo: Path) -> str | None:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=repo, capture_output=True, text=True
        )
    except OSError:
        return None
    return out.stdout.strip() or None


def document(
    *,
    mode: str,
    sizes: dict[str, Any],
    settings: dict[str, Any],
    results: list[BenchResult],
    comparisons: dict[str, Any],
    started: datetime,
    seconds: float,
    repo: Path,
) -> dict[str, Any]:
    """The whole JSON document of one harness run."""
    machine_info = machine()
    machine_info["load_average_at_end"] = machine_info.pop("load_average_at_start")
    return {
        "format": "invoice-sync-bench/1",
        "date": started.astimezone(UTC).isoformat(timespec="seconds"),
        "mode": mode,
        "total_seconds": round(seconds, 1),
        "git_commit": git_commit(repo),
        "machine": machine_info,
        "packages": package_versions(),
        "sizes": sizes,
        "settings": settings,
        "benchmarks": {r.name: r.to_json() for r in results},
        "comparisons": comparisons,
    }

"""Scaling: time and peak memory of extract, transform and push as the ledger grows.

Small sizes are measured here, each with fresh emulators; the main size reuses the backfill,
transform and push benchmarks' medians (same set-up); the largest size (1M) runs extract and
transform (and the publish of the analysts' database) once, only if the time budget and the
memory left allow, and says why not otherwise.
"""

from __future__ import annotations

from typing import Any

from benchmarks.harness import Harness, error_text
from benchmarks.results import BenchResult, median
from benchmarks.suite_tool import Shared

STAGES = ("extract", "transform", "push", "publish")
BIG_STAGES = ("extract", "transform", "publish")


def bench_scaling(harness: Harness, shared: Shared) -> BenchResult:
    sizes = harness.sizes
    result = BenchResult("scaling", "Scaling: seconds and peak memory per stage")
    points: list[dict[str, Any]] = []
    for n in sizes.scaling:
        points.append(_measure(harness, n, STAGES, sizes.runs))
    main = _from_benchmarks(shared, sizes.invoices)
    if main is not None:
        points.append(main)
    elif sizes.invoices not in sizes.scaling:
        points.append(_measure(harness, sizes.invoices, STAGES, 1))
    if sizes.scaling_big:
        verdict = _big_verdict(harness, shared, points, sizes.scaling_big)
        if verdict is None:
            try:
                points.append(_measure(harness, sizes.scaling_big, BIG_STAGES, 1))
            except Exception as exc:
                result.notes.append(f"{sizes.scaling_big:,}: failed: {error_text(exc)}")
        else:
            result.notes.append(f"{sizes.scaling_big:,} invoices not measured: {verdict}")
    else:
        result.notes.append("1,000,000 invoices: full mode only.")
    for point in points:
        n = point["invoices"]
        for stage in STAGES:
            data = point["stages"].get(stage)
            if not data:
                continue
            result.add(f"{stage}_seconds_{n}", data["seconds"], f"{stage} at {n:,}", "s")
            result.add(
                f"{stage}_peak_rss_mb_{n}", data["peak_rss_mb"], f"{stage} RSS at {n:,}", "MB"
            )
            if data.get("size_mb") is not None:
                result.add(f"{stage}_size_mb_{n}", data["size_mb"], f"{stage} size at {n:,}", "MB")
    result.details["points"] = points
    result.runs = max((p["runs"] for p in points), default=0)
    return result


def _measure(harness: Harness, n: int, stages: tuple[str, ...], runs: int) -> dict[str, Any]:
    harness.log(f"  scaling: {n:,} invoices ({', '.join(stages)}, {runs} run(s))")
    samples: dict[str, dict[str, list[float]]] = {
        s: {"seconds": [], "cpu_seconds": [], "peak_rss_mb": [], "size_mb": []} for s in stages
    }
    xero = harness.xero(n)
    try:
        for _ in harness.runs("scaling") if runs > 1 else range(1):
            hubspot = harness.hubspot()
            try:
                workdir = harness.workdir(f"scale{n}")
                env = harness.env(xero, hubspot, workdir, XERO_CALLS_PER_MINUTE="10000")
                harness.stage("setup", env)
                for stage in stages:
                    out = harness.stage(stage, env, timeout=3600)
                    samples[stage]["seconds"].append(out["seconds"])
                    samples[stage]["peak_rss_mb"].append(out["peak_rss_mb"])
                    samples[stage]["cpu_seconds"].append(out.get("cpu_seconds"))
                    if "size_mb" in out["report"]:  # the publish: the analysts' file
                        samples[stage]["size_mb"].append(out["report"]["size_mb"])
            finally:
                harness.stop(hubspot)
    finally:
        harness.stop(xero)
    return {
        "invoices": n,
        "runs": len(samples[stages[0]]["seconds"]),
        "source": "measured",
        "stages": {
            stage: {
                "seconds": median(values["seconds"]),
                "peak_rss_mb": median(values["peak_rss_mb"]),
                "size_mb": median(values["size_mb"]) if values["size_mb"] else None,
                "seconds_runs": values["seconds"],
                "cpu_seconds_runs": values["cpu_seconds"],
            }
            for stage, values in samples.items()
        },
    }


def _from_benchmarks(shared: Shared, n: int) -> dict[str, Any] | None:
    backfill, transform, push = (shared.results.get(k) for k in ("backfill", "transform", "push"))
    if not (backfill and transform and push) or backfill.status != "ok":
        return None
    stages: dict[str, Any] = {}
    for stage, result, prefix in (
        ("extract", backfill, ""),
        ("transform", transform, ""),
        ("push", push, "insert_"),
    ):
        seconds = result.metrics.get(f"{prefix}seconds")
        peak = result.metrics.get(f"{prefix}peak_rss_mb")
        if seconds is None or peak is None or seconds.median is None:
            continue
        stages[stage] = {"seconds": seconds.median, "peak_rss_mb": peak.median}
    return {
        "invoices": n,
        "runs": backfill.runs,
        "source": "the backfill, transform and push benchmarks (medians)",
        "stages": stages,
    }


def _big_verdict(
    harness: Harness, shared: Shared, points: list[dict[str, Any]], big: int
) -> str | None:
    """None when the big size fits the remaining budget and memory; otherwise why not."""
    largest = max(points, key=lambda p: p["invoices"], default=None)
    if largest is None or "extract" not in largest["stages"]:
        return "no smaller size was measured to extrapolate from"
    factor = big / largest["invoices"]
    stage = largest["stages"]
    estimate = factor * (stage["extract"]["seconds"] + stage.get("transform", {}).get("seconds", 0))
    seed = shared.xero.start_seconds * factor if shared.xero is not None else 60.0
    estimate = 1.25 * estimate + seed + 30
    remaining = harness.remaining()
    if estimate > remaining:
        return (
            f"estimated {estimate / 60:.0f} min (linear from {largest['invoices']:,}) but only "
            f"{max(remaining, 0) / 60:.0f} min of the 30-minute budget were left"
        )
    try:
        import psutil

        available_mb = psutil.virtual_memory().available / 2**20
    except ImportError:
        return None
    peak = max(s["peak_rss_mb"] for s in stage.values())
    needed = peak * factor + 4096  # the tool, linearly, plus the emulator holding 1M invoices
    if needed > 0.8 * available_mb:
        return f"estimated {needed / 1024:.1f} GB needed, {available_mb / 1024:.1f} GB available"
    return None

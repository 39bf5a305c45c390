"""Our tool's benchmarks: emulator headroom, backfill extract, transform, push, hourly sync.

They share one Xero emulator seeded with ``sizes.invoices`` (:class:`Shared`), because the
warehouses they build hold cursors into that emulator's data. Each backfill run gets its own
HubSpot emulator and warehouse, which the push run of the same index then writes from.
"""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks.emulators import REPO, EmulatorProcess, calls, split_hubspot, status_count
from benchmarks.goals import goal_target
from benchmarks.harness import Harness, Sizes, error_text
from benchmarks.results import BenchResult

XERO_INVOICES_ROUTE = "GET /api.xro/2.0/Invoices"


@dataclass
class World:
    """A warehouse and the HubSpot emulator it is synced (or about to be synced) with."""

    workdir: Path
    hubspot: EmulatorProcess
    env: dict[str, str]


@dataclass
class Shared:
    """State that benchmarks build on: the Xero emulator and the backfilled worlds."""

    xero: EmulatorProcess | None = None
    backfilled: list[World] = field(default_factory=list)
    synced: World | None = None
    results: dict[str, BenchResult] = field(default_factory=dict)

    def ensure_xero(self, harness: Harness) -> EmulatorProcess:
        if self.xero is None:
            self.xero = harness.xero(harness.sizes.invoices)
        return self.xero


def new_world(harness: Harness, shared: Shared, label: str, **env: str) -> World:
    """A fresh warehouse and HubSpot emulator with the custom object set up (untimed)."""
    xero = shared.ensure_xero(harness)
    hubspot = harness.hubspot()
    workdir = harness.workdir(label)
    world = World(workdir, hubspot, harness.env(xero, hubspot, workdir, **env))
    harness.stage("setup", world.env)
    return world


# -- emulators' own throughput ---------------------------------------------------------------
def bench_emulators(harness: Harness, shared: Shared) -> BenchResult:
    result = BenchResult("emulators", "Emulator raw throughput (limits off)")
    xero = harness.xero(min(harness.sizes.invoices, 2_000))
    hubspot = harness.hubspot(unlimited=True)
    try:
        for api, emulator in (("xero", xero), ("hubspot", hubspot)):
            proc = subprocess.run(
                [
                    *(sys.executable, "-m", "benchmarks.loadgen", api, emulator.url),
                    *("--seconds", str(harness.sizes.loadgen_seconds)),
                ],
                cwd=REPO,
                capture_output=True,
                text=True,
                timeout=120,
            )
            if proc.returncode != 0:
                raise RuntimeError(proc.stderr[-800:])
            out = _json_line(proc.stdout)
            target = (">=", 1000.0)
            label = "GET /connections" if api == "xero" else "GET /crm/v3/schemas"
            result.add(
                f"{api}_requests_per_second",
                out["simple"]["per_second"],
                f"{'Xero' if api == 'xero' else 'HubSpot'} emulator, {label}, 16 concurrent",
                "req/s",
                target=target,
            )
            if "invoice_pages" in out:
                result.add(
                    "xero_invoices_served_per_second",
                    out["invoice_pages"]["invoices_per_second"],
                    "Xero emulator, 1,000-invoice pages",
                    "invoices/s",
                )
            result.details[api] = out
        result.runs = 1
        result.notes.append(
            "Load generator (aiohttp, own process) and emulator share the 2 cores: a floor."
        )
    finally:
        harness.stop(xero)
        harness.stop(hubspot)
    return result


def _json_line(text: str) -> dict[str, Any]:
    import json

    return json.loads([line for line in text.splitlines() if line.startswith("{")][-1])


# -- 1 + 2: backfill extract and transform -------------------------------------------------
def bench_backfill(harness: Harness, shared: Shared) -> tuple[BenchResult, BenchResult]:
    sizes = harness.sizes
    backfill = BenchResult("backfill", f"Backfill extract, {sizes.invoices:,} invoices")
    transform = BenchResult("transform", f"Transform (dbt build), {sizes.invoices:,} invoices")
    xero = shared.ensure_xero(harness)
    xero.set_limits(unlimited=True)
    backfill.details["xero_emulator_seed_seconds"] = round(xero.start_seconds, 2)
    for run in harness.runs("backfill"):
        harness.log(f"  backfill run {run + 1}/{sizes.runs}")
        world = new_world(harness, shared, f"backfill{run}", XERO_CALLS_PER_MINUTE="10000")
        xero.reset_counters()
        world.hubspot.reset_counters()
        out = harness.stage("extract", world.env, timeout=1800)
        counters = xero.counters()
        report = out["report"]
        loaded = report.get("invoices_loaded") or sizes.invoices
        backfill.add(
            "invoices_per_second",
            loaded / out["seconds"],
            "Invoices extracted per second",
            "invoices/s",
            target=goal_target("backfill_rate"),  # issue 19: >= 3,000 invoices/s
        )
        backfill.add("seconds", out["seconds"], "Extract wall time", "s")
        backfill.add("peak_rss_mb", out["peak_rss_mb"], "Extract peak RSS", "MB")
        backfill.add("xero_calls", calls(counters), "Xero calls (all routes)", "calls")
        backfill.add(
            "xero_invoice_calls",
            calls(counters, XERO_INVOICES_ROUTE),
            "Xero Invoices calls",
            "calls",
        )
        backfill.add("invoices_loaded", loaded, "Invoices loaded", "invoices")
        backfill.details.setdefault("reports", []).append(report)
        backfill.details.setdefault("xero_counters", []).append(counters)
        backfill.runs += 1

        # A fresh warehouse: the build is from scratch (--full-refresh where the tree has it).
        out = harness.stage("transform", world.env, "--full-refresh", timeout=1800)
        transform.add("seconds", out["seconds"], "dbt build wall time", "s", target=("<", 15.0))
        transform.add("peak_rss_mb", out["peak_rss_mb"], "Transform peak RSS", "MB")
        transform.details.setdefault("reports", []).append(out["report"])
        transform.runs += 1
        shared.backfilled.append(world)
    backfill.notes.append(
        "Xero emulator limits off; the tool's own XERO_CALLS_PER_MINUTE raised to 10000 so "
        "only the extract's speed is measured (real Xero allows 60 calls/min per organisation)."
    )
    return backfill, transform


# -- 3: push -------------------------------------------------------------------------------
def bench_push(harness: Harness, shared: Shared) -> BenchResult:
    sizes = harness.sizes
    ceiling = sizes.ceiling_records_per_second
    result = BenchResult(
        "push",
        f"Push: INSERT each mirrored invoice of {sizes.invoices:,}, then {sizes.updates:,} UPDATEs",
    )
    xero = shared.ensure_xero(harness)
    available = len(shared.backfilled)  # worlds the backfill benchmark left (none: build)
    for run in harness.runs("push"):
        if run >= len(shared.backfilled):
            if available:
                break
            _backfill_untimed(harness, shared, 1)
        world = shared.backfilled[run]
        harness.log(f"  push run {run + 1}/{sizes.runs}")
        world.hubspot.reset_counters()
        out = harness.stage("push", world.env, timeout=3600)
        _push_metrics(result, "insert", out, world.hubspot.counters(), sizes)
        # UPDATEs: edit the reference of `updates` invoices in Xero, re-extract, transform.
        touched = xero.control("POST", "/_sandbox/bench/xero/touch", {"count": sizes.updates})
        prep = harness.stage("extract", world.env, timeout=1800)
        prep_transform = harness.stage("transform", world.env, timeout=1800)
        result.details.setdefault("untimed_update_preparation", []).append(
            {
                "extract_seconds": prep["seconds"],
                "extract": prep["report"],
                "transform_seconds": prep_transform["seconds"],
            }
        )
        world.hubspot.reset_counters()
        out = harness.stage("push", world.env, timeout=3600)
        _push_metrics(result, "update", out, world.hubspot.counters(), sizes)
        result.details.setdefault("touched_in_xero", []).append(touched.get("touched"))
        result.runs += 1
        shared.synced = world
    for world in shared.backfilled:
        if world is not shared.synced:
            harness.stop(world.hubspot)
    shared.backfilled = []
    result.notes.append(
        f"HubSpot emulator at {sizes.hubspot_limit} requests/10 s with "
        f"{sizes.hubspot_latency_ms} ms latency; HUBSPOT_REQUESTS_PER_10S={sizes.hubspot_limit} "
        f"for the tool. Ceiling = {ceiling:,.0f} records/s (limit × 100 per batch), the "
        "long-run rate; a finite push also gets the first window's burst, so it can exceed "
        "100 %. The 90 % target applies only to pushes of at least two windows' worth of calls."
    )
    return result


def _push_metrics(
    result: BenchResult, kind: str, out: dict[str, Any], counters: dict[str, Any], sizes: Sizes
) -> None:
    report = out["report"]
    written = int(report.get("inserted" if kind == "insert" else "updated") or 0)
    hub = split_hubspot(counters)
    rate = written / out["seconds"] if out["seconds"] else None
    ceiling = sizes.ceiling_records_per_second
    # The rolling window lets the first `limit` calls through at once: a push of fewer than two
    # windows' worth of calls is mostly burst, and is not held to the sustained-rate target.
    sustained = hub["writes"] >= 2 * sizes.hubspot_limit
    upper = kind.upper() + "s"
    result.add(f"{kind}_records_per_second", rate, f"{upper}: records/s", "records/s")
    result.add(
        f"{kind}_fraction_of_ceiling",
        rate / ceiling if rate is not None else None,
        f"{upper}: fraction of the rate-limit ceiling",
        "ratio",
        target=(">=", 0.9) if sustained else None,
    )
    result.add(f"{kind}_seconds", out["seconds"], f"{upper}: push wall time", "s")
    result.add(f"{kind}_records", written, f"{upper}: records written", "records")
    result.add(
        f"{kind}_calls_per_record",
        hub["total"] / written if written else None,
        f"{upper}: HubSpot calls per record",
        "calls",
    )
    result.add(f"{kind}_429s", hub["429"], f"{upper}: 429s received", "responses")
    result.add(f"{kind}_peak_rss_mb", out["peak_rss_mb"], f"{upper}: push peak RSS", "MB")
    result.details.setdefault(f"{kind}_reports", []).append(report)
    result.details.setdefault(f"{kind}_hubspot_calls", []).append(hub)


def _backfill_untimed(harness: Harness, shared: Shared, count: int) -> None:
    for n in range(count):
        world = new_world(harness, shared, f"base{n}", XERO_CALLS_PER_MINUTE="10000")
        harness.stage("extract", world.env, timeout=1800)
        harness.stage("transform", world.env, timeout=1800)
        shared.backfilled.append(world)


def ensure_transformed(harness: Harness, shared: Shared) -> World:
    """A warehouse with the reverse-ETL tables built (synced or not)."""
    if shared.synced is not None:
        return shared.synced
    if not shared.backfilled:
        _backfill_untimed(harness, shared, 1)
    return shared.backfilled[0]


def ensure_synced(harness: Harness, shared: Shared) -> World:
    """A warehouse whose records are all in its HubSpot emulator (from the push benchmark)."""
    if shared.synced is None:
        if not shared.backfilled:
            _backfill_untimed(harness, shared, 1)
        world = shared.backfilled[0]
        push_untimed(harness, world)
        shared.synced = world
    return shared.synced


def push_untimed(harness: Harness, world: World) -> None:
    """Set-up push (not measured): HubSpot's limits off for it, then back as they were."""
    hubspot = world.hubspot
    hubspot.set_limits(unlimited=True)
    try:
        harness.stage("push", {**world.env, "HUBSPOT_REQUESTS_PER_10S": "10000"}, timeout=3600)
    finally:
        hubspot.set_limits(requests_per_window=harness.sizes.hubspot_limit)


# -- 4: hourly steady state ------------------------------------------------------------------
def bench_hourly(harness: Harness, shared: Shared) -> BenchResult:
    sizes = harness.sizes
    result = BenchResult(
        "hourly", f"Hourly sync on {sizes.invoices:,} invoices after an hour of activity"
    )
    world = ensure_synced(harness, shared)
    xero = shared.ensure_xero(harness)
    env = {k: v for k, v in world.env.items() if k != "XERO_CALLS_PER_MINUTE"}
    try:
        xero.set_limits(default=True)  # Xero's real limits for a steady-state run
        # Untimed: let the HubSpot snapshot catch up with the push benchmark's writes.
        warmup = harness.stage("extract", env, timeout=1800)
        result.details["untimed_warmup_extract"] = {
            "seconds": warmup["seconds"],
            "report": warmup["report"],
        }
        _first_hour(harness, result, world, xero, env)
        for run in harness.runs("hourly"):
            harness.log(f"  hourly run {run + 1}/{sizes.runs}")
            activity = xero.control(
                "POST", "/_sandbox/activity", {"hours": sizes.hourly_activity_hours}
            )
            result.details.setdefault("activity", []).append(activity)
            for kind in ("changed", "unchanged"):
                xero.reset_counters()
                world.hubspot.reset_counters()
                out = harness.stage("sync", env, timeout=1800)
                xc, hc = xero.counters(), split_hubspot(world.hubspot.counters())
                label = "after an hour" if kind == "changed" else "no changes"
                result.add(f"{kind}_seconds", out["seconds"], f"Sync, {label}: wall time", "s")
                result.add(
                    f"{kind}_xero_calls", calls(xc), f"Sync, {label}: Xero calls (all)", "calls"
                )
                result.add(
                    f"{kind}_xero_invoice_calls_per_tenant",
                    calls(xc, XERO_INVOICES_ROUTE) / sizes.tenants,
                    f"Sync, {label}: Xero Invoices calls per organisation",
                    "calls",
                    target=("<=", 1.0) if kind == "unchanged" else None,
                )
                result.add(
                    f"{kind}_hubspot_calls", hc["total"], f"Sync, {label}: HubSpot calls", "calls"
                )
                result.add(
                    f"{kind}_hubspot_writes",
                    hc["writes"],
                    f"Sync, {label}: HubSpot write calls",
                    "calls",
                    target=("==", 0.0) if kind == "unchanged" else None,
                )
                result.add(
                    f"{kind}_peak_rss_mb", out["peak_rss_mb"], f"Sync, {label}: peak RSS", "MB"
                )
                _publish_metrics(result, kind, label, out)
                result.details.setdefault(f"{kind}_reports", []).append(out["report"])
                result.details.setdefault(f"{kind}_xero_counters", []).append(xc)
                result.details.setdefault(f"{kind}_hubspot_calls", []).append(hc)
                result.details.setdefault(f"{kind}_429s", []).append(
                    status_count(world.hubspot.counters(), 429)
                )
            result.runs += 1
    finally:
        xero.set_limits(unlimited=True)
    result.notes.append(
        "Xero emulator at its real limits (60/min, 5/concurrent per organisation) and the tool "
        "at its defaults; HubSpot as for the push benchmark."
    )
    return result


def _first_hour(
    harness: Harness, result: BenchResult, world: World, xero: EmulatorProcess, env: dict
) -> None:
    """The first hour of business after the initial sync, measured apart from the goal row.

    Its build compares every invoice again: the initial push wrote every record back into
    the snapshot after the last build (int_hubspot_changed_invoices lists what a push wrote
    since), so the actions of all of them are recomputed once. Every later hour compares
    only what changed since the hour before: that steady state is what an hourly user lives
    in and what the goal row (``changed_seconds``) measures; this figure is reported beside
    it (``first_hour_seconds``, the row's note)."""
    activity = xero.control(
        "POST", "/_sandbox/activity", {"hours": harness.sizes.hourly_activity_hours}
    )
    result.details["first_hour_activity"] = activity
    xero.reset_counters()
    world.hubspot.reset_counters()
    out = harness.stage("sync", env, timeout=1800)
    result.add(
        "first_hour_seconds",
        out["seconds"],
        "Sync, first hour after the initial sync: wall time",
        "s",
    )
    result.details["first_hour_report"] = out["report"]
    result.details["first_hour_hubspot_calls"] = split_hubspot(world.hubspot.counters())


def _publish_metrics(result: BenchResult, kind: str, label: str, out: dict[str, Any]) -> None:
    """The analysts' database the sync publishes at its end: seconds, size, share of the run."""
    report = out["report"]
    publish_seconds = report.get("stage_seconds", {}).get("publish")
    if publish_seconds is None:
        return
    result.add(f"{kind}_publish_seconds", publish_seconds, f"Sync, {label}: publish", "s")
    result.add(
        f"{kind}_publish_share",
        publish_seconds / out["seconds"],
        f"Sync, {label}: publish share of the run",
        "ratio",
        target=("<", 0.05) if kind == "changed" else None,
    )
    size = (report.get("publish") or {}).get("size_mb")
    if size is not None:
        result.add(f"{kind}_publish_size_mb", size, f"Sync, {label}: analysts' file size", "MB")


def run_safely(name: str, title: str, work: Any, *args: Any) -> Any:
    """Call a benchmark; a failure becomes a 'failed' result naming the error."""
    try:
        return work(*args)
    except Exception as exc:
        return BenchResult(name, title, status="failed", reason=error_text(exc))

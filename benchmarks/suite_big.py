"""The goals at 1,000,000 invoices: the hourly run (``hourly-1m``) and the backfill's peak
memory (``backfill-1m``).

Each needs a Xero emulator seeded with ``sizes.big_invoices`` and, for the hourly run, a warehouse
backfilled, transformed and pushed at that size (set-up, not measured; the push with HubSpot's
limits off). Too long for the normal full run (see the README for the minutes): selected by
name with ``--only``. The measured parts are the same functions as at 100,000
(:func:`bench_hourly`, the backfill's extract stage), on a harness sized for the big ledger.
"""

from __future__ import annotations

from dataclasses import replace

from benchmarks.emulators import calls
from benchmarks.harness import Harness
from benchmarks.results import BenchResult
from benchmarks.suite_tool import XERO_INVOICES_ROUTE, Shared, bench_hourly, new_world


def big_harness(harness: Harness) -> Harness:
    """A harness on the same temp root and tree, sized for the big ledger, one run each."""
    sizes = replace(harness.sizes, invoices=harness.sizes.big_invoices, runs=1)
    return Harness(sizes, harness.root, log=harness.log, code_root=harness.code_root)


def bench_hourly_big(harness: Harness) -> BenchResult:
    big = big_harness(harness)
    try:
        result = bench_hourly(big, Shared())
    finally:
        big.stop_all()
    result.name = "hourly-1m"
    result.title = f"Hourly sync on {big.sizes.invoices:,} invoices after an hour of activity"
    return result


def bench_backfill_big(harness: Harness) -> BenchResult:
    big = big_harness(harness)
    n = big.sizes.invoices
    result = BenchResult("backfill-1m", f"Backfill extract, {n:,} invoices (peak memory)")
    shared = Shared()
    try:
        xero = shared.ensure_xero(big)
        result.details["xero_emulator_seed_seconds"] = round(xero.start_seconds, 2)
        world = new_world(big, shared, "backfill-big", XERO_CALLS_PER_MINUTE="10000")
        xero.reset_counters()
        out = big.stage("extract", world.env, timeout=3600)
        loaded = out["report"].get("invoices_loaded") or n
        result.add(
            "peak_rss_mb", out["peak_rss_mb"], "Extract peak RSS", "MB", target=("<", 1024.0)
        )
        result.add("invoices_per_second", loaded / out["seconds"], "Invoices/s", "invoices/s")
        result.add("seconds", out["seconds"], "Extract wall time", "s")
        result.add(
            "xero_invoice_calls",
            calls(xero.counters(), XERO_INVOICES_ROUTE),
            "Xero Invoices calls",
            "calls",
        )
        result.details["report"] = out["report"]
        result.runs = 1
    finally:
        big.stop_all()
    result.notes.append("Xero emulator limits off; XERO_CALLS_PER_MINUTE=10000; one run.")
    return result

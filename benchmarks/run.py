"""`make bench`: every benchmark against the sandbox emulators, side by side with the peers.

    python -m benchmarks.run [--quick] [--only NAME ...] [--runs N]

Writes ``benchmarks/results/latest.json`` (machine, package versions, sizes, each metric's
runs and median), ``latest.md`` (a table for the README) and ``scaling.png``, and prints a
table. Full mode fits 30 minutes on a 2-core machine; ``--quick`` (2,000 invoices, one run)
fits 3. Nothing here is asserted by `make test`: speed is written down, not gated.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console

from benchmarks import report
from benchmarks.harness import MIRROR_ALL, Harness, Sizes, error_text, mirror_all
from benchmarks.results import BenchResult, document, machine, ratio
from benchmarks.suite_associations import bench_associations_result
from benchmarks.suite_peers import bench_naive, bench_reexport, bench_tap_xero
from benchmarks.suite_scaling import bench_scaling
from benchmarks.suite_tool import Shared, bench_backfill, bench_emulators, bench_hourly, bench_push

RESULTS = Path(__file__).resolve().parent / "results"
REPO = RESULTS.parent.parent
PEERS_NOT_RUN = {
    "drt-core 1.2.1": (
        "Its HubSpot destination cannot write a custom object: the sync config accepts "
        "object_type contacts, deals or companies only (HubSpotDestinationConfig.object_type "
        "is a Literal of those three). Its per-row behaviour (one POST per row, PATCH after a "
        "409, ~9 requests/s) is what the 'naive' benchmark measures with the official SDK."
    ),
    "localstack-xero 0.1.2": "An emulator of Xero, not a tool users run instead of ours.",
}
REPEATED = ("backfill", "transform", "push", "hourly", "tap-xero")
NAMES = (
    "emulators",
    "backfill",
    "transform",
    "tap-xero",
    "push",
    "hourly",
    "naive",
    "reexport",
    "scaling",
    "associations",
)


def comparisons(results: dict[str, BenchResult]) -> dict[str, Any]:
    """Ratios between our tool and the peers, from medians measured in this same run."""

    def get(bench: str, key: str) -> float | None:
        result = results.get(bench)
        if result is None or result.status != "ok" or key not in result.metrics:
            return None
        return result.metrics[key].median

    pairs = {
        "push_vs_naive_records_per_second": (
            "Push records/s: ours ÷ naive per-record SDK client",
            get("push", "insert_records_per_second"),
            get("naive", "create_records_per_second"),
        ),
        "hourly_hubspot_calls_naive_vs_ours": (
            "HubSpot calls per hourly run: naive client (extrapolated) ÷ ours",
            get("naive", "hourly_calls_extrapolated"),
            get("hourly", "changed_hubspot_calls"),
        ),
        "hourly_hubspot_calls_reexport_vs_ours": (
            "HubSpot calls per hourly run: full re-export ÷ ours",
            get("reexport", "hourly_hubspot_calls"),
            get("hourly", "changed_hubspot_calls"),
        ),
        "backfill_vs_tap_xero_invoices_per_second": (
            "Backfill invoices/s: ours (into DuckDB) ÷ tap-xero (messages only)",
            get("backfill", "invoices_per_second"),
            get("tap-xero", "invoices_per_second"),
        ),
        "backfill_xero_calls_tap_xero_vs_ours": (
            "Xero Invoices calls for the backfill: tap-xero ÷ ours",
            get("tap-xero", "xero_invoice_calls"),
            get("backfill", "xero_invoice_calls"),
        ),
    }
    return {
        key: {"label": label, "value": _round(ratio(a, b)), "numerator": a, "denominator": b}
        for key, (label, a, b) in pairs.items()
    }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def run(selected: list[str], sizes: Sizes, mode: str, console: Console) -> dict[str, Any]:
    started_at = datetime.now(UTC)
    machine_at_start = machine()
    root = Path(tempfile.mkdtemp(prefix="invoice-sync-bench-"))
    harness = Harness(sizes, root, log=lambda text: console.print(text, highlight=False))
    shared = Shared()
    results = shared.results

    def step(names: tuple[str, ...], work: Callable[[], Any]) -> None:
        if not any(n in selected for n in names):
            return
        console.rule(", ".join(names))
        begun = time.monotonic()
        try:
            out = work()
            out = out if isinstance(out, tuple) else (out,)
        except Exception as exc:
            logging.getLogger(__name__).debug("benchmark failed", exc_info=True)
            out = tuple(BenchResult(n, n, status="failed", reason=error_text(exc)) for n in names)
        for result in out:
            result.seconds = time.monotonic() - begun
            if result.status == "ok" and result.name in REPEATED and result.runs < sizes.runs:
                result.notes.append(
                    f"Median of {result.runs} run(s), not {sizes.runs}: the time budget."
                )
            results[result.name] = result
            console.print(
                f"{result.name}: {result.status} in {result.seconds:.0f}s"
                + (f" — {result.reason}" if result.reason else ""),
                highlight=False,
            )

    try:
        step(("emulators",), lambda: bench_emulators(harness, shared))
        step(("backfill", "transform"), lambda: bench_backfill(harness, shared))
        step(("tap-xero",), lambda: bench_tap_xero(harness, shared))
        step(("push",), lambda: bench_push(harness, shared))
        step(("hourly",), lambda: bench_hourly(harness, shared))
        step(("naive",), lambda: bench_naive(harness, shared))
        step(("reexport",), lambda: bench_reexport(harness, shared))
        step(("scaling",), lambda: bench_scaling(harness, shared))
        step(
            ("associations",),
            lambda: bench_associations_result(
                sizes.invoices, sizes.hubspot_limit, sizes.hubspot_latency_ms
            ),
        )
    finally:
        harness.stop_all()
        if os.environ.get("BENCH_KEEP_TMP"):
            console.print(f"Kept {root}", highlight=False)
        else:
            shutil.rmtree(root, ignore_errors=True)
    ordered = [results[n] for n in NAMES if n in results]
    doc = document(
        mode=mode,
        sizes=sizes.public(),
        settings={
            "xero_emulator": "own process; rate limits off except in the hourly benchmark",
            "hubspot_emulator": (
                f"own process; {sizes.hubspot_limit} requests/10 s, "
                f"{sizes.hubspot_latency_ms} ms latency per call"
            ),
            "stages": "each in its own process (python -m benchmarks.stage); seconds = the "
            "stage function alone; peak RSS = that process's ru_maxrss",
            "dbt_vars": MIRROR_ALL if mirror_all() else "the project's defaults",
            "selected": selected,
        },
        results=ordered,
        comparisons=comparisons(results),
        started=started_at,
        seconds=harness.elapsed(),
        repo=REPO,
    )
    doc["machine"]["load_average_at_start"] = machine_at_start["load_average_at_start"]
    doc["peers_not_run"] = PEERS_NOT_RUN
    return doc


def write(doc: dict[str, Any], directory: Path, console: Console) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    json_path = directory / "latest.json"
    tmp = json_path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(doc, indent=2, default=str) + "\n")
    tmp.replace(json_path)
    (directory / "latest.md").write_text(report.markdown(doc))
    plot = report.plot_scaling(doc, directory / "scaling.png")
    report.print_table(doc, console)
    console.print(f"\nWrote {json_path}, {directory / 'latest.md'}", highlight=False)
    if plot is not None:
        console.print(f"Wrote {plot}", highlight=False)
    console.rule("Markdown for the README")
    console.print(report.markdown(doc), highlight=False, markup=False, soft_wrap=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, one run (≤3 min)")
    parser.add_argument("--only", nargs="+", choices=NAMES, metavar="NAME", help=", ".join(NAMES))
    parser.add_argument("--runs", type=int, help="runs per benchmark (median reported)")
    parser.add_argument("--invoices", type=int, help="override the main size (for trying out)")
    parser.add_argument("--output", type=Path, default=RESULTS, help="results directory")
    args = parser.parse_args(argv)
    os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
    os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")
    sizes = Sizes.quick() if args.quick else Sizes.full()
    if args.runs:
        sizes = replace(sizes, runs=max(1, args.runs))
    if args.invoices:
        n = max(100, args.invoices)
        scaling = tuple(s for s in sizes.scaling if s < n)
        sizes = replace(sizes, invoices=n, updates=max(10, n // 10), scaling=scaling)
    selected = list(args.only or NAMES)
    if "transform" in selected and "backfill" not in selected:
        selected.append("backfill")  # the transform runs on the backfilled warehouse
    console = Console()
    console.print(
        f"Benchmarks ({'quick' if args.quick else 'full'}): {', '.join(selected)}; "
        f"{sizes.invoices:,} invoices, {sizes.runs} run(s) each.",
        highlight=False,
    )
    mode = "quick" if args.quick else "full"
    if args.invoices or args.runs:
        mode += " (sizes or runs overridden)"
    doc = run(selected, sizes, mode, console)
    write(doc, args.output, console)
    failed = [n for n, b in doc["benchmarks"].items() if b["status"] == "failed"]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

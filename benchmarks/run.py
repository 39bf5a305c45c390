"""`make bench`: issue 19's goals table, before and after, measured in one run.

    python -m benchmarks.run [--quick] [--only NAME ...] [--all] [--runs N]
                             [--baseline REF | --no-baseline]

By default it runs the benchmarks behind the goals table (backfill, transform, hourly,
webhook, reexport) with this checkout's code, then the same ones (runs=1) with the baseline
commit's code from a temporary worktree (:mod:`benchmarks.baseline`), and prints the goals
table: before, after, goal, met?, the full re-export peer. ``--all`` adds the other
benchmarks and peers (emulators, tap-xero, push, naive, scaling, associations); the 1M rows
run only when named (``--only hourly-1m backfill-1m``).

Writes ``benchmarks/results/latest.json`` (machine, package versions, sizes, each metric's
runs and median, the baseline's benchmarks, the goals rows), ``latest.md`` (the goals table
and the details, for the README) and ``scaling.png``. Nothing here is asserted by
`make test`: speed is written down, not gated.
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

from benchmarks import goals, report
from benchmarks.baseline import BASELINE_REF, baseline_tree
from benchmarks.engines import ENGINES, bench_on_postgres, engine_filter
from benchmarks.harness import MIRROR_ALL, Harness, Sizes, error_text, mirror_all
from benchmarks.results import BenchResult, document, git_commit, machine, ratio
from benchmarks.suite_associations import bench_associations_result
from benchmarks.suite_big import bench_backfill_big, bench_hourly_big
from benchmarks.suite_peers import bench_naive, bench_reexport, bench_tap_xero
from benchmarks.suite_scaling import bench_scaling
from benchmarks.suite_tool import Shared, bench_backfill, bench_emulators, bench_hourly, bench_push
from benchmarks.suite_webhook import bench_webhook

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
    "webhook",
    "naive",
    "reexport",
    "scaling",
    "associations",
    "backfill-postgres",
    "hourly-postgres",
    "backfill-1m",
    "hourly-1m",
)
# `make bench`: what the goals table needs, and the backfill and hourly rows again on a
# PostgreSQL warehouse (benchmarks/engines.py). The 1M rows take too long for the normal run.
GOAL_NAMES = (
    "backfill",
    "transform",
    "hourly",
    "webhook",
    "reexport",
    "backfill-postgres",
    "hourly-postgres",
)
BIG_NAMES = ("backfill-1m", "hourly-1m")
# Benchmarks run again with the baseline's code (the peers are the same code in both: once).
BASELINE_NAMES = ("backfill", "transform", "hourly", "webhook", *BIG_NAMES)
# Each pass of the goals run (this code, then the baseline) gets this much of the budget,
# so that the two fit 40 minutes on 2 cores even when both trees are as slow as the baseline.
GOALS_BUDGET_SECONDS = 20 * 60
TEST_SUITE_FILE = "test_suite.json"


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


def run_pass(
    selected: list[str], sizes: Sizes, console: Console, root: Path, code_root: Path = REPO
) -> dict[str, BenchResult]:
    """Run the ``selected`` benchmarks with ``code_root``'s code; their results by name."""
    root.mkdir(parents=True, exist_ok=True)
    harness = Harness(
        sizes, root, log=lambda text: console.print(text, highlight=False), code_root=code_root
    )
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
        # Before the re-export: its upsert of every record would be "changed in HubSpot".
        step(("webhook",), lambda: bench_webhook(harness, shared))
        step(("naive",), lambda: bench_naive(harness, shared))
        step(("reexport",), lambda: bench_reexport(harness, shared))
        step(("scaling",), lambda: bench_scaling(harness, shared))
        step(
            ("associations",),
            lambda: bench_associations_result(
                sizes.invoices, sizes.hubspot_limit, sizes.hubspot_latency_ms
            ),
        )
        step(
            ("backfill-postgres", "hourly-postgres"),
            lambda: bench_on_postgres(harness, shared.ensure_xero(harness), selected),
        )
        for world in [shared.synced, *shared.backfilled]:  # free the 100k emulators first
            harness.stop(world.hubspot if world else None)
        harness.stop(shared.xero)
        step(("backfill-1m",), lambda: bench_backfill_big(harness))
        step(("hourly-1m",), lambda: bench_hourly_big(harness))
    finally:
        harness.stop_all()
    return results


def run(
    selected: list[str],
    sizes: Sizes,
    mode: str,
    console: Console,
    baseline: str | None = BASELINE_REF,
    baseline_sizes: Sizes | None = None,
) -> dict[str, Any]:
    """This code's pass, then the baseline's (``baseline`` None: none), as one document."""
    started_at = datetime.now(UTC)
    machine_at_start = machine()
    commit = git_commit(REPO)  # the code measured, even if HEAD moves during the run
    began = time.monotonic()
    root = Path(tempfile.mkdtemp(prefix="invoice-sync-bench-"))
    try:
        console.rule(f"This checkout ({REPO})")
        results = run_pass(selected, sizes, console, root / "current")
        before = None
        wanted = [n for n in selected if n in BASELINE_NAMES]
        if baseline and wanted:
            before = baseline_pass(wanted, baseline, baseline_sizes or sizes, console, root)
    finally:
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
        seconds=time.monotonic() - began,
        repo=REPO,
    )
    doc["machine"]["load_average_at_start"] = machine_at_start["load_average_at_start"]
    doc["git_commit"] = commit
    doc["peers_not_run"] = PEERS_NOT_RUN
    doc["baseline"] = before or {}
    return doc


def baseline_pass(
    wanted: list[str], ref: str, sizes: Sizes, console: Console, root: Path
) -> dict[str, Any]:
    """The ``wanted`` benchmarks with ``ref``'s code: its JSON part (status, commit, results)."""
    began = time.monotonic()
    try:
        with baseline_tree(ref, root) as (tree, commit):
            console.rule(f"Baseline {ref} ({commit[:12]}), temporary worktree {tree}")
            results = run_pass(wanted, sizes, console, root / "baseline", code_root=tree)
    except Exception as exc:
        logging.getLogger(__name__).debug("baseline failed", exc_info=True)
        console.print(f"baseline {ref}: failed — {error_text(exc)}", highlight=False)
        return {"status": "failed", "ref": ref, "reason": f"baseline failed: {error_text(exc)}"}
    return {
        "status": "ok",
        "ref": ref,
        "commit": commit,
        "runs": sizes.runs,
        "seconds": round(time.monotonic() - began, 1),
        "benchmarks": {n: results[n].to_json() for n in NAMES if n in results},
    }


def write(doc: dict[str, Any], directory: Path, console: Console) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    json_path = directory / "latest.json"
    tmp = json_path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(doc, indent=2, default=str) + "\n")
    tmp.replace(json_path)
    (directory / "latest.md").write_text(report.markdown(doc))
    plot = report.plot_scaling(doc, directory / "scaling.png")
    report.print_table(doc, console)
    report.print_goals(doc, console)
    console.print(f"\nWrote {json_path}, {directory / 'latest.md'}", highlight=False)
    if plot is not None:
        console.print(f"Wrote {plot}", highlight=False)
    console.rule("Markdown for the README")
    console.print(report.markdown(doc), highlight=False, markup=False, soft_wrap=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, one run")
    parser.add_argument("--only", nargs="+", choices=NAMES, metavar="NAME", help=", ".join(NAMES))
    parser.add_argument(
        "--all", action="store_true", help="every benchmark and peer (the 1M ones only by name)"
    )
    parser.add_argument("--runs", type=int, help="runs per benchmark (median reported)")
    parser.add_argument("--invoices", type=int, help="override the main size (for trying out)")
    parser.add_argument(
        "--big-invoices", type=int, help="size of hourly-1m and backfill-1m (for trying out)"
    )
    parser.add_argument("--output", type=Path, default=RESULTS, help="results directory")
    parser.add_argument(
        "--baseline",
        default=BASELINE_REF,
        metavar="REF",
        help=f"commit for the 'before' column (default {BASELINE_REF}: before issue 19's work)",
    )
    parser.add_argument("--no-baseline", action="store_true", help="skip the 'before' pass")
    parser.add_argument(
        "--engine",
        choices=(*ENGINES, "both"),
        default="both",
        help="warehouse engine of the rows run: duckdb, postgres (the -postgres rows), both",
    )
    args = parser.parse_args(argv)
    os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
    os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")
    sizes = Sizes.quick() if args.quick else Sizes.full()
    mode = "quick" if args.quick else "full"
    if args.invoices or args.runs or args.big_invoices:
        mode += " (sizes or runs overridden)"
    if not (args.all or args.quick):
        sizes = replace(sizes, budget_seconds=GOALS_BUDGET_SECONDS)
    if args.runs:
        sizes = replace(sizes, runs=max(1, args.runs))
    if args.invoices:
        n = max(100, args.invoices)
        scaling = tuple(s for s in sizes.scaling if s < n)
        sizes = replace(sizes, invoices=n, updates=max(10, n // 10), scaling=scaling)
    if args.big_invoices:
        sizes = replace(sizes, big_invoices=max(100, args.big_invoices))
    selected = engine_filter(selection(args.only, args.all), args.engine)
    console = Console()
    baseline = None if args.no_baseline else args.baseline
    console.print(
        f"Benchmarks ({'quick' if args.quick else 'full'}): {', '.join(selected)}; "
        f"{sizes.invoices:,} invoices, {sizes.runs} run(s) each"
        + (f"; then the baseline {baseline}, 1 run each." if baseline else "; no baseline."),
        highlight=False,
    )
    baseline_sizes = replace(sizes, runs=1, budget_seconds=GOALS_BUDGET_SECONDS)
    if args.quick:
        baseline_sizes = replace(baseline_sizes, budget_seconds=sizes.budget_seconds)
    doc = run(selected, sizes, mode, console, baseline, baseline_sizes)
    doc["test_suite"] = goals.load_test_suite(RESULTS / TEST_SUITE_FILE)
    doc["goals"] = goals.rows(doc, doc["test_suite"])
    write(doc, args.output, console)
    failed = [n for n, b in doc["benchmarks"].items() if b["status"] == "failed"]
    return 1 if failed else 0


def selection(only: list[str] | None, everything: bool) -> list[str]:
    """What runs: the names given, else the goals' benchmarks (``--all``: all but the 1M)."""
    if only:
        selected = list(only)
    elif everything:
        selected = [n for n in NAMES if n not in BIG_NAMES]
    else:
        selected = list(GOAL_NAMES)
    if "transform" in selected and "backfill" not in selected:
        selected.append("backfill")  # the transform runs on the backfilled warehouse
    return [n for n in NAMES if n in selected]


if __name__ == "__main__":
    sys.exit(main())

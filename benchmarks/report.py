"""Show a run's results: the goals table (before/after), the details table, the Markdown for
the README, the scaling plot.

    python -m benchmarks.report [benchmarks/results/latest.json]

re-renders ``latest.md`` beside the JSON and prints it (the goals rows are recomputed from the
JSON and ``results/test_suite.json``, so a later `make bench-tests` shows up without a re-run).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from benchmarks import goals

# Per benchmark, the metrics worth a line in the README (others stay in the JSON).
HEADLINES: dict[str, tuple[str, ...]] = {
    "emulators": (
        "xero_requests_per_second",
        "hubspot_requests_per_second",
        "xero_invoices_served_per_second",
    ),
    "backfill": ("invoices_per_second", "seconds", "peak_rss_mb", "xero_calls"),
    "transform": ("seconds", "peak_rss_mb"),
    "push": (
        "insert_records_per_second",
        "insert_fraction_of_ceiling",
        "insert_calls_per_record",
        "insert_429s",
        "update_records_per_second",
        "update_fraction_of_ceiling",
        "update_429s",
    ),
    "hourly": (
        "changed_seconds",
        "changed_xero_calls",
        "changed_hubspot_calls",
        "unchanged_seconds",
        "unchanged_xero_invoice_calls_per_tenant",
        "unchanged_hubspot_writes",
    ),
    "naive": (
        "create_records_per_second",
        "update_calls_per_record",
        "hourly_calls_extrapolated",
        "hourly_run_hours_extrapolated",
    ),
    "reexport": ("hourly_hubspot_calls", "seconds"),
    "tap-xero": ("invoices_per_second", "xero_calls", "peak_rss_mb"),
    "associations": (
        "calls_per_1000_invoices",
        "hubspot_calls",
        "seconds",
        "percent_of_rate_ceiling",
    ),
}


def fmt(value: float | None, unit: str = "") -> str:
    """A number for people: thousands separated, 3 significant figures or so, unit after."""
    if value is None:
        return "—"
    if unit == "ratio":
        return f"{value:.0%}"
    if value == int(value) or abs(value) >= 100:
        text = f"{value:,.0f}"
    elif abs(value) >= 10:
        text = f"{value:,.1f}"
    else:
        text = f"{value:,.2f}".rstrip("0").rstrip(".")
    return f"{text} {unit}".strip() if unit else text


def _rows(doc: dict[str, Any], headline_only: bool) -> list[tuple[str, str, str, str, str]]:
    rows = []
    for name, bench in doc["benchmarks"].items():
        if bench["status"] != "ok":
            reason = bench.get("reason", "")[:300].replace("|", "/")
            rows.append((bench["title"], bench["status"], reason, "", ""))
            continue
        keys = list(bench["metrics"])
        if headline_only and name in HEADLINES:
            keys = [k for k in HEADLINES[name] if k in bench["metrics"]]
        for key in keys:
            metric = bench["metrics"][key]
            runs = ", ".join(fmt(v) for v in metric["runs"]) if len(metric["runs"]) > 1 else ""
            ok = {True: "yes", False: "NO", None: ""}[metric.get("meets_target")]
            target = metric.get("target", "")
            rows.append(
                (
                    bench["title"],
                    metric["label"],
                    fmt(metric["median"], metric["unit"]),
                    runs,
                    f"{target} {ok}".strip(),
                )
            )
    return rows


def print_table(doc: dict[str, Any], console: Console) -> None:
    table = Table(title=f"Benchmarks ({doc['mode']}, {doc['date']})", show_lines=False)
    for column in ("Benchmark", "Metric", "Median", "Runs", "Target"):
        table.add_column(column, overflow="fold")
    last = None
    for bench, metric, value, runs, target in _rows(doc, headline_only=False):
        table.add_row(bench if bench != last else "", metric, value, runs, target)
        last = bench
    console.print(table)
    for line in comparison_lines(doc):
        console.print(line, highlight=False)


def comparison_lines(doc: dict[str, Any]) -> list[str]:
    return [
        f"- {c['label']}: **{fmt(c['value'])}×**" for c in doc["comparisons"].values() if c["value"]
    ]


GOAL_COLUMNS = ("measure", "before", "after", "goal", "met?", "full re-export", "note")


def goal_cells(doc: dict[str, Any]) -> list[tuple[str, ...]]:
    """The goals table's rows as text (computed from the document when it has none)."""
    rows = doc.get("goals") or goals.rows(doc, doc.get("test_suite"))
    met = {True: "yes", False: "NO", None: "—"}
    return [
        (
            row["measure"],
            row["before_text"],
            row["after_text"],
            row["goal"],
            met[row["met"]],
            row["reexport_peer_text"],
            row["note"],
        )
        for row in rows
    ]


def where(doc: dict[str, Any]) -> str:
    """Which machine, how loaded, which code: the sentence above the goals table."""
    m = doc["machine"]
    start = m.get("load_average_at_start") or ["?"]
    end = m.get("load_average_at_end") or ["?"]
    baseline = doc.get("baseline") or {}
    if baseline.get("status") == "ok":
        before = f"before = commit {baseline['commit'][:9]} ({baseline['ref']}), 1 run each"
    elif baseline:
        before = f"before: {baseline.get('reason', 'failed')}"
    else:
        before = "before: not measured (--no-baseline)"
    command = "make bench-quick" if doc["mode"].startswith("quick") else "make bench"
    return (
        f"Measured {doc['date'][:16].replace('T', ' ')} UTC, `{command}` ({doc['mode']}), "
        f"{doc['sizes']['invoices']:,} invoices in 2 organisations, on {m['cores']} cores "
        f"({m['cpu_model']}), {m.get('memory_gb')} GB, Python {m['python']}; load average "
        f"{start[0]} at start, {end[0]} at end (1 min); after = commit {doc.get('git_commit')}, "
        f"medians of up to {doc['sizes']['runs']} runs; {before}; "
        f"{doc.get('total_seconds', 0) / 60:.0f} min in all. Emulators in their own processes "
        "on the same machine."
    )


def goals_markdown(doc: dict[str, Any]) -> str:
    lines = [where(doc), ""]
    sizes = doc["sizes"]
    if sizes["invoices"] < 100_000 or sizes.get("big_invoices", 1_000_000) < 1_000_000:
        lines += [
            f"Sizes: {sizes['invoices']:,} invoices (1M rows: {sizes.get('big_invoices', 0):,}), "
            "not the 100k and 1M the goals name (quick or overridden sizes).",
            "",
        ]
    lines.append("| " + " | ".join(GOAL_COLUMNS) + " |")
    lines.append("|---|---:|---:|---:|---|---:|---|")
    for cells in goal_cells(doc):
        lines.append("| " + " | ".join(c.replace("|", "/") for c in cells) + " |")
    return "\n".join(lines) + "\n"


def print_goals(doc: dict[str, Any], console: Console) -> None:
    table = Table(title="Issue 19 goals: before and after, same run", show_lines=False)
    for column in GOAL_COLUMNS:
        table.add_column(column, overflow="fold")
    for cells in goal_cells(doc):
        table.add_row(*cells)
    console.print(table)
    console.print(where(doc), highlight=False, markup=False)


def markdown(doc: dict[str, Any]) -> str:
    m = doc["machine"]
    suffix = "-quick" if doc["mode"].startswith("quick") else ""
    lines = [
        goals_markdown(doc),
        "All measurements of this checkout's code:",
        "",
        f"Measured {doc['date'][:10]} with `make bench{suffix}` "
        f"on {m['cores']} cores ({m['cpu_model']}), {m.get('memory_gb')} GB, Python {m['python']}; "
        f"{doc['sizes']['invoices']:,} invoices; medians of {doc['sizes']['runs']} run(s). "
        "Emulators run in their own processes on the same machine.",
        "",
        "| Benchmark | Metric | Median | Target |",
        "|---|---|---:|---|",
    ]
    last = None
    for bench, metric, value, _runs, target in _rows(doc, headline_only=True):
        lines.append(f"| {bench if bench != last else ''} | {metric} | {value} | {target} |")
        last = bench
    comparisons = comparison_lines(doc)
    if comparisons:
        lines += ["", "Side by side, same emulators and data, same run:", "", *comparisons]
    return "\n".join(lines) + "\n"


def plot_scaling(doc: dict[str, Any], path: Path) -> Path | None:
    """Seconds and peak RSS per stage against invoices (log-log), as a PNG."""
    scaling = doc["benchmarks"].get("scaling", {})
    points = scaling.get("details", {}).get("points") if scaling.get("status") == "ok" else None
    if not points:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    points = sorted(points, key=lambda p: p["invoices"])
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
    for stage in ("extract", "transform", "push", "publish"):
        xs = [p["invoices"] for p in points if stage in p["stages"]]
        if not xs:
            continue
        seconds = [p["stages"][stage]["seconds"] for p in points if stage in p["stages"]]
        memory = [p["stages"][stage]["peak_rss_mb"] for p in points if stage in p["stages"]]
        left.plot(xs, seconds, marker="o", label=stage)
        right.plot(xs, memory, marker="o", label=stage)
    ceiling = doc["sizes"].get("ceiling_records_per_second")
    pushed = [p["invoices"] for p in points if "push" in p["stages"]]
    if ceiling and pushed:
        left.plot(
            pushed,
            [n / ceiling for n in pushed],
            linestyle=":",
            color="grey",
            label=f"invoices ÷ {ceiling:,.0f}/s (rate limit, long run)",
        )
    for axis, ylabel in ((left, "seconds (median)"), (right, "peak RSS, MB")):
        axis.set_xscale("log")
        axis.set_yscale("log")
        axis.set_xlabel("invoices")
        axis.set_ylabel(ylabel)
        axis.grid(True, which="both", alpha=0.3)
        axis.legend(fontsize=8, loc="best")
    left.set_title("Time per stage")
    right.set_title("Peak memory per stage (stage process)")
    fig.suptitle(
        f"invoice-sync scaling ({doc['mode']}, {doc['date'][:10]}, {doc['machine']['cores']} cores)"
    )
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Re-render latest.md from latest.json.")
    default = Path(__file__).resolve().parent / "results" / "latest.json"
    parser.add_argument("json", nargs="?", type=Path, default=default)
    args = parser.parse_args(argv)
    doc = json.loads(args.json.read_text())
    suite = goals.load_test_suite(Path(__file__).resolve().parent / "results" / "test_suite.json")
    if suite is not None:
        doc["test_suite"] = suite
    doc["goals"] = goals.rows(doc, doc.get("test_suite"))
    text = markdown(doc)
    (args.json.parent / "latest.md").write_text(text)
    sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())

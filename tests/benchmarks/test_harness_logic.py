"""The benchmark harness's arithmetic and rendering (no emulator, no stage is run here)."""

from __future__ import annotations

from benchmarks.report import fmt, markdown
from benchmarks.results import BenchResult, Metric, median, ratio
from benchmarks.run import comparisons


def test_median_ignores_missing_values_and_ratio_refuses_zero() -> None:
    assert median([3.0, 1.0, 2.0]) == 2.0
    assert median([4.0, 1.0]) == 2.5
    assert median([]) is None
    assert ratio(10.0, 4.0) == 2.5
    assert ratio(10.0, 0.0) is None
    assert ratio(None, 4.0) is None


def test_metric_checks_its_median_against_the_target() -> None:
    metric = Metric("Invoices/s", "invoices/s", [1500.0, 2500.0, 2100.0], target=(">=", 2000.0))
    assert metric.median == 2100.0
    assert metric.meets_target is True
    assert Metric("dbt build", "s", [16.0], target=("<", 15.0)).meets_target is False
    assert Metric("no target", "s", [1.0]).meets_target is None
    assert metric.to_json()["runs"] == [1500, 2500, 2100]


def test_comparisons_are_ratios_of_medians_from_the_same_run() -> None:
    push = BenchResult("push", "Push")
    push.add("insert_records_per_second", 1800.0, "INSERTs", "records/s")
    naive = BenchResult("naive", "Naive")
    naive.add("create_records_per_second", 9.0, "Creates", "records/s")
    failed = BenchResult("tap-xero", "tap", status="failed", reason="boom")
    out = comparisons({"push": push, "naive": naive, "tap-xero": failed})
    assert out["push_vs_naive_records_per_second"]["value"] == 200.0
    assert out["backfill_vs_tap_xero_invoices_per_second"]["value"] is None


def test_markdown_lists_headlines_failures_and_comparisons() -> None:
    backfill = BenchResult("backfill", "Backfill extract")
    backfill.add("invoices_per_second", 2400.0, "Invoices/s", "invoices/s", target=(">=", 2000.0))
    backfill.add("invoices_loaded", 100_000.0, "Invoices loaded", "invoices")
    doc = {
        "mode": "full",
        "date": "2026-11-25T12:00:00+00:00",
        "machine": {"cores": 2, "cpu_model": "AMD EPYC", "memory_gb": 23.5, "python": "3.11.7"},
        "sizes": {"invoices": 100_000, "runs": 3},
        "benchmarks": {
            "backfill": backfill.to_json(),
            "tap-xero": BenchResult("tap-xero", "tap-xero", "blocked", "no venv").to_json(),
        },
        "comparisons": {"x": {"label": "Ours ÷ theirs", "value": 3.5}},
    }
    text = markdown(doc)
    assert "| Backfill extract | Invoices/s | 2,400 invoices/s | >= 2000 yes |" in text
    assert "Invoices loaded" not in text  # not a headline: stays in the JSON
    assert "| tap-xero | blocked | no venv |" in text
    assert "- Ours ÷ theirs: **3.5×**" in text


def test_fmt_is_readable() -> None:
    assert fmt(None) == "—"
    assert fmt(0.934, "ratio") == "93%"
    assert fmt(24.0, "calls") == "24 calls"
    assert fmt(1234.5, "records/s") == "1,234 records/s"
    assert fmt(3.14159, "s") == "3.14 s"


def test_repeat_runs_stop_when_they_would_overrun_the_budget_share(tmp_path) -> None:
    from dataclasses import replace

    from benchmarks.harness import Harness, Sizes

    harness = Harness(replace(Sizes.full(), runs=3, budget_seconds=1000), tmp_path)
    assert harness.another_run("push", 0, 0.0)  # the first run always happens
    assert harness.another_run("push", 1, 100.0)  # ends well inside 60 % of the budget
    assert not harness.another_run("push", 1, 700.0)  # would end past it
    assert not harness.another_run("push", 3, 1.0)  # all runs done

"""The goals table, the baseline pass's plumbing and the webhook benchmark's pure parts (no
emulator, no stage, no worktree is run here except a git rev-parse)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmarks import goals
from benchmarks.baseline import BASELINE_REF, BaselineError, missing_parts, resolve
from benchmarks.emulators import REPO
from benchmarks.report import goals_markdown
from benchmarks.results import BenchResult
from benchmarks.run import GOAL_NAMES, selection
from benchmarks.suite_webhook import cli_command, event_payload, percentile, sign
from benchmarks.time_tests import make_command, record
from reverse_etl.webhooks.receiver import invoice_ids_from, verify_signature


def _bench(name: str, runs: int = 1, **metrics: float) -> dict:
    result = BenchResult(name, name)
    for key, value in metrics.items():
        for _ in range(runs):
            result.add(key, value, key, "s")
    result.runs = runs
    return result.to_json()


def _doc(after: dict, before: dict | None, invoices: int = 100_000) -> dict:
    baseline = {"status": "ok", "ref": "ab1299d", "commit": "ab1299d" + "0" * 33}
    return {
        "date": "2026-12-07T09:30:00+00:00",
        "mode": "full",
        "git_commit": "abc1234",
        "total_seconds": 1800,
        "machine": {
            "cores": 2,
            "cpu_model": "AMD EPYC",
            "memory_gb": 23.5,
            "python": "3.11.7",
            "load_average_at_start": [0.5, 0.4, 0.3],
            "load_average_at_end": [1.5, 1.0, 0.8],
        },
        "sizes": {"invoices": invoices, "runs": 3},
        "benchmarks": after,
        "baseline": {**baseline, "benchmarks": before} if before is not None else {},
    }


AFTER = {
    "hourly": _bench(
        "hourly",
        runs=3,
        unchanged_seconds=2.5,
        changed_seconds=8.0,
        unchanged_hubspot_calls=2,
        changed_hubspot_calls=10,
    ),
    "reexport": _bench("reexport", hourly_hubspot_calls=760, seconds=61.3),
    "transform": _bench("transform", seconds=12.0),
    "backfill": _bench("backfill", invoices_per_second=2500.0),
    "webhook": BenchResult("webhook", "w", status="failed", reason="boom").to_json(),
}
BEFORE = {
    "hourly": _bench(
        "hourly",
        unchanged_seconds=128.0,
        changed_seconds=125.0,
        unchanged_hubspot_calls=286,
        changed_hubspot_calls=296,
    ),
    "transform": _bench("transform", seconds=45.6),
    "backfill": _bench("backfill"),  # ran, but this tree's benchmark lacks the metric
}


def _by_key(rows: list[dict]) -> dict[str, dict]:
    return {row["key"]: row for row in rows}


def test_each_row_reads_before_after_goal_and_met() -> None:
    rows = _by_key(goals.rows(_doc(AFTER, BEFORE)))
    quiet = rows["hourly_unchanged"]
    assert (quiet["before"], quiet["after"], quiet["met"]) == (128.0, 2.5, True)
    assert quiet["goal"] == "< 3 s"
    assert quiet["reexport_peer_text"] == "61.3 s"
    assert quiet["note"] == "after: median of 3 runs"
    assert rows["hourly_changed"]["met"] is True
    assert rows["dbt_full_refresh"]["after_text"] == "12 s"
    assert rows["backfill_rate"]["met"] is False
    assert rows["backfill_rate"]["before_text"] == "n/a"  # the metric is missing: no failure
    assert rows["hubspot_calls_unchanged"]["met"] is True


def test_the_hourly_row_shows_the_first_hour_after_the_initial_sync_in_its_note() -> None:
    after = {**AFTER, "hourly": _bench("hourly", changed_seconds=8.0, first_hour_seconds=17.5)}
    row = _by_key(goals.rows(_doc(after, BEFORE)))["hourly_changed"]
    assert row["after"] == 8.0  # the steady-state hour is the goal's figure
    assert row["note"] == "first hour after the initial sync: 17.5 s"
    # a tree whose benchmark does not measure it: no note
    assert _by_key(goals.rows(_doc(AFTER, BEFORE)))["hourly_changed"]["note"] == (
        "after: median of 3 runs"
    )


def test_reexport_ratio_divides_the_peer_of_this_run_by_each_trees_calls() -> None:
    row = _by_key(goals.rows(_doc(AFTER, BEFORE)))["reexport_calls_ratio"]
    assert row["after"] == pytest.approx(76.0)
    assert row["before"] == pytest.approx(760 / 296)
    assert row["met"] is True
    assert row["after_text"] == "76.0×"
    assert row["reexport_peer_text"] == "760 calls"


def test_missing_failed_and_not_run_rows_say_so_instead_of_raising() -> None:
    rows = _by_key(goals.rows(_doc(AFTER, BEFORE)))
    assert rows["webhook_p50"]["after_text"] == "failed"
    assert rows["webhook_p50"]["before_text"] == "not run"
    assert rows["webhook_p50"]["met"] is None
    big = rows["hourly_changed_1m"]
    assert big["after_text"] == "not run"
    assert "--only hourly-1m" in big["note"]
    no_baseline = _by_key(goals.rows(_doc(AFTER, None)))
    assert no_baseline["hourly_unchanged"]["before_text"] == "no baseline run"
    failed = _doc(AFTER, None)
    failed["baseline"] = {"status": "failed", "reason": "baseline failed: git said no"}
    assert _by_key(goals.rows(failed))["dbt_full_refresh"]["before_text"] == (
        "baseline failed: git said no"
    )


def test_backfill_memory_at_1m_falls_back_to_the_scaling_point() -> None:
    after = {"scaling": _bench("scaling", extract_peak_rss_mb_1000000=900.0)}
    row = _by_key(goals.rows(_doc(after, None)))["backfill_memory_1m"]
    assert (row["after"], row["met"]) == (900.0, True)


def test_test_suite_row_reads_minutes_and_says_when_measured() -> None:
    suite = {
        "current": {
            "seconds": 900,
            "returncode": 0,
            "date": "2026-12-07T10:00:00+00:00",
            "commit": "abc1234",
            "cores": 2,
            "target": "test",
        },
        "baseline": {
            "seconds": 3000,
            "returncode": 1,
            "date": "2026-12-06T10:00:00+00:00",
            "commit": "ab1299d",
            "cores": 2,
            "target": "test",
        },
    }
    row = goals.test_suite_row(suite)
    assert (row["after"], row["before"], row["met"]) == (15.0, 50.0, True)
    assert "after: measured 2026-12-07T10:00 at abc1234 on 2 cores" in row["note"]
    assert "exit 1" in row["note"]
    assert goals.test_suite_row(None)["after_text"] == "not measured"


def test_goals_markdown_names_machine_load_and_baseline() -> None:
    text = goals_markdown({**_doc(AFTER, BEFORE), "goals": goals.rows(_doc(AFTER, BEFORE))})
    assert "on 2 cores (AMD EPYC)" in text
    assert "load average 0.5 at start, 1.5 at end" in text
    assert "before = commit ab1299d00" in text
    assert "| measure | before | after | goal | met? | full re-export | note |" in text
    assert "| `make test` on 2 cores | not measured | not measured | < 20 min | — |" in text
    small = goals_markdown(_doc(AFTER, BEFORE, invoices=2_000))
    assert "not the 100k and 1M the goals name" in small


def test_selection_defaults_to_the_goals_and_keeps_the_big_rows_for_only() -> None:
    assert selection(None, False) == list(GOAL_NAMES)
    everything = selection(None, True)
    assert "tap-xero" in everything and "hourly-1m" not in everything
    assert selection(["transform"], False) == ["backfill", "transform"]
    assert selection(["hourly-1m"], False) == ["hourly-1m"]


def test_the_webhook_benchmark_signs_and_shapes_events_as_the_receiver_expects() -> None:
    body = event_payload("tenant-1", "invoice-9", 4)
    assert verify_signature("k", body, sign("k", body))
    assert not verify_signature("other", body, sign("k", body))
    assert invoice_ids_from(json.loads(body)) == [("tenant-1", "invoice-9")]


def test_percentile_is_nearest_rank() -> None:
    values = [float(v) for v in range(1, 51)]
    assert percentile(values, 0.5) == 25.0
    assert percentile(values, 0.95) == 48.0
    assert percentile([], 0.5) is None


def test_cli_command_runs_the_trees_own_entry_point() -> None:
    command = cli_command(REPO, "webhooks", "serve")
    assert "from reverse_etl.app.cli import app as app" in command[2]
    assert command[-2:] == ["webhooks", "serve"]


def test_baseline_ref_resolves_and_this_tree_can_be_driven(tmp_path: Path) -> None:
    assert resolve(BASELINE_REF).startswith("ab1299d")
    with pytest.raises(BaselineError):
        resolve("no-such-ref-anywhere")
    assert missing_parts(REPO) == []
    assert "benchmarks/stage.py" in missing_parts(tmp_path)


def test_time_tests_replaces_only_its_own_entry(tmp_path: Path) -> None:
    path = tmp_path / "test_suite.json"
    record(path, "baseline", {"seconds": 3000})
    record(path, "current", {"seconds": 900})
    record(path, "current", {"seconds": 800})
    assert json.loads(path.read_text()) == {
        "baseline": {"seconds": 3000},
        "current": {"seconds": 800},
    }
    borrowed = make_command(tmp_path, "test", own_venv=False)
    assert borrowed[:4] == ["make", "-C", str(tmp_path), "test"]
    assert "STAMP=" in borrowed  # never reinstalls the package into our virtualenv

"""Issue 19's goals table: each row's before (baseline code) and after (this code), its goal,
whether it is met, and the full re-export peer beside the hourly rows.

Pure logic over the JSON of a run (``doc["benchmarks"]`` for this code,
``doc["baseline"]["benchmarks"]`` for the baseline's) and of ``results/test_suite.json``: a
metric that one tree's benchmarks do not produce reads as 'n/a', a benchmark that did not run
as 'not run', one that failed as 'failed'; nothing here raises on a missing piece.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

Benches = dict[str, Any]  # doc["benchmarks"]: name → {"status", "metrics": {key: {"median"}}}
OPS: dict[str, Callable[[float, float], bool]] = {
    "<": lambda v, b: v < b,
    "<=": lambda v, b: v <= b,
    ">=": lambda v, b: v >= b,
    ">": lambda v, b: v > b,
}


@dataclass(frozen=True)
class Read:
    """What one cell read: a value, or why there is none ('not run', 'failed', 'n/a')."""

    value: float | None
    why: str = ""
    runs: int = 0


def read(benches: Benches | None, bench: str, metric: str) -> Read:
    if benches is None:
        return Read(None, "not run")
    entry = benches.get(bench)
    if entry is not None and entry.get("status") == "skipped" and entry.get("reason"):
        return Read(None, f"skipped: {_short(str(entry['reason']))}")  # e.g. a PostgreSQL row
    if entry is None or entry.get("status") in (None, "skipped"):
        return Read(None, "not run")
    if entry["status"] != "ok":
        return Read(None, str(entry["status"]))
    found = entry.get("metrics", {}).get(metric)
    if found is None or found.get("median") is None:
        return Read(None, "n/a")
    return Read(float(found["median"]), runs=int(entry.get("runs") or len(found.get("runs", []))))


def _short(text: str, limit: int = 120) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def first(*reads: Read) -> Read:
    """The first read with a value, else the first one's reason."""
    return next((r for r in reads if r.value is not None), reads[0])


def calls_ratio(peer: Read, ours: Read) -> Read:
    if peer.value is None:
        return Read(None, f"re-export {peer.why}")
    if ours.value is None:
        return ours
    if ours.value == 0:
        return Read(None, "n/a (0 calls)")
    return Read(peer.value / ours.value, runs=ours.runs)


# A row's value from (this tree's benches, the peers' benches: always this run's main pass).
Source = Callable[[Benches | None, Benches | None], Read]


def metric(bench: str, key: str) -> Source:
    return lambda benches, _peers: read(benches, bench, key)


def peer(bench: str, key: str) -> Source:
    return lambda _benches, peers: read(peers, bench, key)


def reexport_ratio(benches: Benches | None, peers: Benches | None) -> Read:
    return calls_ratio(
        read(peers, "reexport", "hourly_hubspot_calls"),
        read(benches, "hourly", "changed_hubspot_calls"),
    )


def backfill_memory_big(benches: Benches | None, _peers: Benches | None) -> Read:
    return first(
        read(benches, "backfill-1m", "peak_rss_mb"),
        read(benches, "scaling", "extract_peak_rss_mb_1000000"),
    )


@dataclass(frozen=True)
class Goal:
    key: str
    label: str
    unit: str
    op: str
    bound: float
    source: Source
    peer: Source | None = None
    runs_with: str = ""  # the --only name that produces it
    aside: tuple[str, Source] | None = None  # a related figure the row's note shows

    @property
    def goal_text(self) -> str:
        op = {"<=": "≤", ">=": "≥"}.get(self.op, self.op)
        return f"{op} {fmt_value(self.bound, self.unit)}"

    def met(self, value: float | None) -> bool | None:
        return None if value is None else OPS[self.op](value, self.bound)


GOALS: tuple[Goal, ...] = (
    Goal(
        "hourly_unchanged",
        "hourly run, nothing changed in Xero or HubSpot, 100k invoices, end to end",
        "s",
        "<",
        3.0,
        metric("hourly", "unchanged_seconds"),
        peer("reexport", "seconds"),
        "hourly",
    ),
    Goal(
        "hourly_changed",
        "hourly run after an hour of business (≈0.5 % changed), 100k, Xero's real rate limits",
        "s",
        "<",
        10.0,
        metric("hourly", "changed_seconds"),
        peer("reexport", "seconds"),
        "hourly",
        # the hour before the measured one; benchmarks/README.md, "hourly"
        ("first hour after the initial sync", metric("hourly", "first_hour_seconds")),
    ),
    Goal(
        "hourly_changed_1m",
        "same at 1M invoices",
        "s",
        "<",
        20.0,
        metric("hourly-1m", "changed_seconds"),
        None,
        "hourly-1m",
    ),
    Goal(
        "webhook_p50",
        "webhook: signed POST → HubSpot shows the change, 100k warehouse, ≥ 50 events at ~1/s: p50",
        "s",
        "<",
        3.0,
        metric("webhook", "p50_seconds"),
        None,
        "webhook",
    ),
    Goal(
        "webhook_p95",
        "webhook: same events, p95",
        "s",
        "<",
        5.0,
        metric("webhook", "p95_seconds"),
        None,
        "webhook",
    ),
    Goal(
        "dbt_full_refresh",
        "`dbt build` from scratch (`--full-refresh`), 100k",
        "s",
        "<",
        15.0,
        metric("transform", "seconds"),
        None,
        "transform",
    ),
    Goal(
        "hubspot_calls_unchanged",
        "HubSpot calls on a run with no change, 100k",
        "calls",
        "<=",
        3.0,
        metric("hourly", "unchanged_hubspot_calls"),
        peer("reexport", "hourly_hubspot_calls"),
        "hourly",
    ),
    Goal(
        "reexport_calls_ratio",
        "full re-export ÷ ours, HubSpot calls per hourly run (after an hour)",
        "×",
        ">=",
        50.0,
        reexport_ratio,
        peer("reexport", "hourly_hubspot_calls"),
        "hourly reexport",
    ),
    Goal(
        "backfill_rate",
        "backfill with all seven Xero endpoints, 100k, limits off",
        "invoices/s",
        ">=",
        3000.0,
        metric("backfill", "invoices_per_second"),
        None,
        "backfill",
    ),
    Goal(
        "backfill_memory_1m",
        "backfill peak memory at 1M",
        "MB",
        "<",
        1024.0,
        backfill_memory_big,
        None,
        "backfill-1m",
    ),
    # Issue 22: the same rows on a PostgreSQL warehouse (benchmarks/engines.py), same bounds
    Goal(
        "hourly_unchanged_postgres",
        "hourly run, nothing changed, 100k, end to end — PostgreSQL warehouse",
        "s",
        "<",
        3.0,
        metric("hourly-postgres", "unchanged_seconds"),
        None,
        "hourly-postgres",
    ),
    Goal(
        "hourly_changed_postgres",
        "hourly run after an hour of business, 100k — PostgreSQL warehouse",
        "s",
        "<",
        10.0,
        metric("hourly-postgres", "changed_seconds"),
        None,
        "hourly-postgres",
    ),
    Goal(
        "backfill_rate_postgres",
        "backfill with all seven Xero endpoints, 100k, limits off — PostgreSQL warehouse",
        "invoices/s",
        ">=",
        3000.0,
        metric("backfill-postgres", "invoices_per_second"),
        None,
        "backfill-postgres",
    ),
)


def goal_target(key: str) -> tuple[str, float]:
    """The ``(op, bound)`` of the goal ``key``, for a benchmark row that shows the same target."""
    goal = next(g for g in GOALS if g.key == key)
    return goal.op, goal.bound


TEST_SUITE_GOAL = Goal(
    "make_test",
    "`make test` on 2 cores",
    "min",
    "<",
    20.0,
    lambda _b, _p: Read(None, "n/a"),
)


def fmt_value(value: float | None, unit: str) -> str:
    if value is None:
        return "—"
    if unit == "×":
        return f"{value:,.1f}×"
    if abs(value) >= 100 or value == int(value):
        text = f"{value:,.0f}"
    elif abs(value) >= 10:
        text = f"{value:,.1f}"
    else:
        text = f"{value:,.2f}"
    return f"{text} {unit}"


def cell(found: Read, unit: str) -> str:
    if found.value is None:
        return found.why or "—"
    return fmt_value(found.value, unit)


def rows(doc: dict[str, Any], test_suite: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """The goals table of a run's JSON document (one dict per row, JSON-ready)."""
    after = doc.get("benchmarks", {})
    baseline = doc.get("baseline") or {}
    before = baseline.get("benchmarks") if baseline.get("status") == "ok" else None
    before_why = baseline.get("reason") or ("no baseline run" if not baseline else "not run")
    out = []
    for goal in GOALS:
        now = goal.source(after, after)
        then = goal.source(before, after) if before is not None else Read(None, before_why)
        peer_read = goal.peer(after, after) if goal.peer else None
        notes = []
        if now.value is None and now.why.endswith("not run") and goal.runs_with:
            notes.append(f"run with --only {goal.runs_with}")
        if now.runs > 1:
            notes.append(f"after: median of {now.runs} runs")
        if goal.aside is not None:
            label, source = goal.aside
            aside = source(after, after)
            if aside.value is not None:
                notes.append(f"{label}: {fmt_value(aside.value, goal.unit)}")
        out.append(_row(goal, then, now, peer_read, notes))
    out.append(test_suite_row(test_suite))
    return out


def _row(goal: Goal, then: Read, now: Read, peer_read: Read | None, notes: list[str]) -> dict:
    return {
        "key": goal.key,
        "measure": goal.label,
        "unit": goal.unit,
        "before": then.value,
        "before_text": cell(then, goal.unit),
        "after": now.value,
        "after_text": cell(now, goal.unit),
        "goal": goal.goal_text,
        "met": goal.met(now.value),
        "reexport_peer": None if peer_read is None else peer_read.value,
        "reexport_peer_text": "" if peer_read is None else cell(peer_read, _peer_unit(goal)),
        "note": "; ".join(notes),
    }


def _peer_unit(goal: Goal) -> str:
    return "calls" if goal.unit == "×" else goal.unit


def test_suite_row(test_suite: dict[str, Any] | None) -> dict[str, Any]:
    """`make test` minutes from ``results/test_suite.json`` (written by benchmarks.time_tests)."""
    test_suite = test_suite or {}
    goal = TEST_SUITE_GOAL

    def minutes(entry: dict[str, Any] | None) -> Read:
        if not entry or entry.get("seconds") is None:
            return Read(None, "not measured")
        return Read(float(entry["seconds"]) / 60)

    now, then = minutes(test_suite.get("current")), minutes(test_suite.get("baseline"))
    notes = []
    for role, entry in (
        ("after", test_suite.get("current")),
        ("before", test_suite.get("baseline")),
    ):
        if entry:
            exit_note = "" if entry.get("returncode") == 0 else f", exit {entry.get('returncode')}"
            if entry.get("target", "test") != "test":
                exit_note += f", `make {entry['target']}` only"
            when = str(entry.get("date", "?"))[:16]
            commit = str(entry.get("commit") or "?")[:9]
            cores = entry.get("cores", "?")
            notes.append(f"{role}: measured {when} at {commit} on {cores} cores{exit_note}")
    if not test_suite:
        notes.append("run `make bench-tests` (python -m benchmarks.time_tests)")
    return _row(goal, then, now, None, notes)


def load_test_suite(path: Path) -> dict[str, Any] | None:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None

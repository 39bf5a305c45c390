"""Time `make test` and write it down for the goals table's last row (`make bench-tests`).

    python -m benchmarks.time_tests                 # this checkout: `make test`
    python -m benchmarks.time_tests --baseline      # the baseline commit, in a temporary worktree
    python -m benchmarks.time_tests --target lint   # another make target (to try the timer)

`make bench` never runs the test suite (about 50 minutes before issue 19): it reads the last
measurement from ``benchmarks/results/test_suite.json`` and says when it was taken. Each entry
(``current``, ``baseline``) keeps the wall seconds, exit code, date, commit, cores and load
average; a new measurement replaces only its own entry.

The baseline runs its own `make test` with this checkout's virtualenv (``VENV=``) and its tree
first on ``PYTHONPATH``; ``STAMP=`` is emptied so its `install` step never reinstalls the
package into that virtualenv.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from benchmarks.baseline import BASELINE_REF, baseline_tree
from benchmarks.emulators import REPO
from benchmarks.results import git_commit

RESULTS = REPO / "benchmarks" / "results" / "test_suite.json"


def make_command(tree: Path, target: str, own_venv: bool) -> list[str]:
    """`make <target>` in ``tree``; another tree borrows this checkout's virtualenv."""
    command = ["make", "-C", str(tree), target]
    if not own_venv:
        command += [f"VENV={Path(sys.prefix)}", "STAMP="]
    return command


def measure(tree: Path, target: str, own_venv: bool) -> dict[str, Any]:
    env = {**os.environ, "PYTHONPATH": str(tree)} if not own_venv else dict(os.environ)
    command = make_command(tree, target, own_venv)
    load_start = os.getloadavg()[0]
    started = time.perf_counter()
    proc = subprocess.run(command, env=env, cwd=tree)
    seconds = time.perf_counter() - started
    return {
        "seconds": round(seconds, 1),
        "returncode": proc.returncode,
        "command": " ".join(command),
        "target": target,
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "commit": git_commit(tree),
        "cores": os.cpu_count(),
        "load_average_at_start": round(load_start, 2),
        "load_average_at_end": round(os.getloadavg()[0], 2),
    }


def record(path: Path, role: str, entry: dict[str, Any]) -> dict[str, Any]:
    """Replace ``role``'s entry in the JSON at ``path``, keeping the others."""
    try:
        doc = json.loads(path.read_text())
    except (OSError, ValueError):
        doc = {}
    doc[role] = entry
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(doc, indent=2) + "\n")
    tmp.replace(path)
    return doc


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--baseline",
        nargs="?",
        const=BASELINE_REF,
        metavar="REF",
        help=f"time the baseline's `make test` instead (default {BASELINE_REF})",
    )
    parser.add_argument("--target", default="test", help="make target (default: test)")
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    if args.baseline:
        with (
            tempfile.TemporaryDirectory(prefix="invoice-sync-tests-") as tmp,
            baseline_tree(args.baseline, Path(tmp)) as (tree, _commit),
        ):
            entry = measure(tree, args.target, own_venv=False)
        role = "baseline"
    else:
        entry = measure(REPO, args.target, own_venv=True)
        role = "current"
    record(args.output, role, entry)
    print(
        f"{role}: make {args.target} took {entry['seconds'] / 60:.1f} min (exit "
        f"{entry['returncode']}); wrote {args.output}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

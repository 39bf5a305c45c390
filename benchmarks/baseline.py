"""The "before" column: the same benchmarks run with an earlier commit's code, in the same run.

``baseline_tree(ref, parent)`` checks ``ref`` out into a temporary detached worktree
(``git worktree add --detach``) and removes it afterwards. The harness runs that tree's stage
processes (``python -m benchmarks.stage`` with the tree as working directory and first on
``PYTHONPATH``), so the tree's own ``reverse_etl/``, ``pipelines/``, ``dbt_project/`` and stage
module are measured, with this checkout's virtualenv and emulators.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from benchmarks.emulators import REPO

# ab1299d is the last commit on main before the performance work of issue 19 ("Pay only for
# what changed"): the figures the issue's goals table calls "now".
BASELINE_REF = "ab1299d"
# What the harness needs from the tree it drives: its stage module (same arguments as ours).
REQUIRED = ("benchmarks/stage.py", "pyproject.toml", "dbt_project/dbt_project.yml")


class BaselineError(RuntimeError):
    """The baseline tree could not be checked out or cannot be driven by this harness."""


def resolve(ref: str, repo: Path = REPO) -> str:
    """The full commit ``ref`` names (raises :class:`BaselineError` when it names none)."""
    out = subprocess.run(
        ["git", "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}"],
        cwd=repo,
        capture_output=True,
        text=True,
    )
    if out.returncode != 0 or not out.stdout.strip():
        raise BaselineError(f"{ref!r} names no commit in {repo}")
    return out.stdout.strip()


def missing_parts(tree: Path) -> list[str]:
    """The files the harness needs that ``tree`` lacks (empty when it can be driven)."""
    return [part for part in REQUIRED if not (tree / part).is_file()]


@contextmanager
def baseline_tree(ref: str, parent: Path, repo: Path = REPO) -> Iterator[tuple[Path, str]]:
    """A temporary detached worktree of ``ref`` under ``parent``: (its path, the commit)."""
    commit = resolve(ref, repo)
    path = parent / f"baseline-{commit[:12]}"
    added = subprocess.run(
        ["git", "worktree", "add", "--detach", str(path), commit],
        cwd=repo,
        capture_output=True,
        text=True,
    )
    if added.returncode != 0:
        raise BaselineError(f"git worktree add {commit[:12]} failed: {added.stderr.strip()}")
    try:
        missing = missing_parts(path)
        if missing:
            raise BaselineError(f"{ref} lacks {', '.join(missing)}: the harness cannot drive it")
        yield path, commit
    finally:
        subprocess.run(
            ["git", "worktree", "remove", "--force", str(path)],
            cwd=repo,
            capture_output=True,
        )
        shutil.rmtree(path, ignore_errors=True)
        subprocess.run(["git", "worktree", "prune"], cwd=repo, capture_output=True)

"""Files holding finance data are created owner-only, never narrowed afterwards (issue 20).

The warehouse, its write-ahead log, dlt's working files and the Xero token are created by
DuckDB, dlt and the token writer with the process umask (commonly ``022``: world-readable),
and were only ``chmod``-ed to 0600 after the step that wrote them. A run killed in between, or
the WAL DuckDB recreates after every checkpoint, left finance data readable by everyone for a
while. :func:`owner_only_files`, called once when ``invoice-sync`` starts, adds ``077`` to the
process umask: every file and folder the tool creates from then on is its owner's alone from
the moment it exists (POSIX ``umask(2)``: the mode bits of every ``open``/``mkdir`` are masked
by it, including those made by libraries such as DuckDB).

Two kinds of path keep the user's own umask, because people other than the owner are meant to
reach them: the folders holding the warehouse and the analysts' copy
(:func:`shared_folder`; the README tells teams to give that folder to their analysts'
group), and the analysts' copy itself, which :mod:`reverse_etl.analysts.publish` creates
owner-only and then gives its documented 0640 just before it replaces the previous copy.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

OWNER_ONLY = 0o077
_user_umask: int | None = None


def _current_umask() -> int:
    mask = os.umask(0o077)  # reading the umask means setting it; restored at once
    os.umask(mask)
    return mask


@contextmanager
def umask_at_least(bits: int) -> Iterator[None]:
    """The process umask with ``bits`` added for the block, for files a library (DuckDB)
    creates itself. Process-wide, but only ever stricter: a file another thread creates
    meanwhile is, at worst, less readable, never more."""
    previous = os.umask(bits)
    os.umask(previous | bits)
    try:
        yield
    finally:
        os.umask(previous)


def owner_only_files() -> None:
    """Add ``077`` to the process umask (idempotent); the user's own is kept for
    :func:`shared_folder`."""
    global _user_umask
    current = _current_umask()
    if _user_umask is None:
        _user_umask = current
    os.umask(current | OWNER_ONLY)


def user_umask() -> int:
    """The umask the process started with (before :func:`owner_only_files`)."""
    return _user_umask if _user_umask is not None else _current_umask()


def shared_folder(path: Path) -> None:
    """Create ``path`` and its missing parents with the mode the user's umask gives folders
    (``0755`` under ``022``), not the owner-only one; existing folders are left as they are."""
    missing: list[Path] = []
    probe = Path(path)
    while not probe.exists() and probe != probe.parent:
        missing.append(probe)
        probe = probe.parent
    Path(path).mkdir(parents=True, exist_ok=True)
    for folder in reversed(missing):
        folder.chmod(0o777 & ~user_umask())

"""One sync at a time per warehouse.

A slow hourly run and the next cron tick must never interleave: both would read the same
action table and write the same records. The lock is an advisory ``flock`` on a file beside
the warehouse, so the operating system releases it when the holder dies (no stale locks after
a crash or ``kill -9``). The file records who holds it, for the message the loser prints.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from reverse_etl.core.errors import LockBusyError
from reverse_etl.core.private_files import shared_folder


def lock_path_for(warehouse_path: Path) -> Path:
    return warehouse_path.with_name(warehouse_path.name + ".lock")


@contextmanager
def sync_lock(warehouse_path: Path, purpose: str = "sync") -> Iterator[None]:
    """Hold the warehouse's lock for the duration of the block, or raise LockBusyError at once."""
    path = lock_path_for(warehouse_path)
    shared_folder(path.parent)
    handle = open(path, "a+")  # noqa: SIM115 - held open for the lock's lifetime
    try:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = _describe_holder(handle.read())
            raise LockBusyError(
                f"Another invoice-sync run holds the lock on {warehouse_path} ({holder}). "
                "This run did nothing; the next scheduled run will catch up. If no other run "
                f"exists, the lock file {path} is free and this message will not repeat."
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(
            json.dumps(
                {
                    "pid": os.getpid(),
                    "host": socket.gethostname(),
                    "purpose": purpose,
                    "since": datetime.now(UTC).isoformat(timespec="seconds"),
                }
            )
        )
        handle.flush()
        yield
    finally:
        handle.close()  # closing the descriptor releases the flock


def _describe_holder(raw: str) -> str:
    try:
        info = json.loads(raw)
        return f"{info['purpose']} pid {info['pid']} on {info['host']} since {info['since']}"
    except (ValueError, KeyError, TypeError):
        return "holder unknown"

"""How an unattended loop is doing: what `/healthz` serves and `sync --every` logs.

A loop (the ``--every`` schedule, the webhook worker) records every tick or batch as a success
or a failure with its one-line reason. Healthy means the last attempt succeeded, or fewer than
:attr:`LoopHealth.unhealthy_after` attempts in a row have failed: one busy tick is normal, three
in a row is something a person should look at. Times come from an injected wall clock so tests
never sleep.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class LoopHealth:
    """Thread-safe counters of one loop's successes and failures."""

    unhealthy_after: int = 3
    now: Callable[[], datetime] = utc_now
    successes: int = 0
    failures: int = 0
    consecutive_failures: int = 0
    last_success: datetime | None = None
    last_failure: datetime | None = None
    last_error: str | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def succeeded(self) -> None:
        with self._lock:
            self.successes += 1
            self.consecutive_failures = 0
            self.last_success = self.now()

    def failed(self, error: str) -> None:
        with self._lock:
            self.failures += 1
            self.consecutive_failures += 1
            self.last_failure = self.now()
            self.last_error = error

    @property
    def healthy(self) -> bool:
        return self.consecutive_failures < self.unhealthy_after

    def as_json(self) -> dict[str, Any]:
        with self._lock:
            return {
                "status": "ok" if self.healthy else "failing",
                "successes": self.successes,
                "failures": self.failures,
                "consecutive_failures": self.consecutive_failures,
                "last_success": _iso(self.last_success),
                "last_failure": _iso(self.last_failure),
                "last_error": self.last_error,
            }


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat(timespec="seconds")

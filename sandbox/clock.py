"""Clocks the emulators read, so tests move time instead of sleeping.

Every emulator takes ``clock: Callable[[], datetime]`` returning an aware UTC datetime;
:func:`utc_now` is the real one, :class:`ManualClock` the one tests set and advance.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta


def utc_now() -> datetime:
    """The real time, aware, in UTC."""
    return datetime.now(UTC)


class ManualClock:
    """A clock that only moves when told to (thread-safe; the servers run in another thread).

    >>> clock = ManualClock(datetime(2024, 1, 1, 10, tzinfo=UTC))
    >>> clock.advance(seconds=90)
    >>> clock().isoformat()
    '2024-01-01T10:01:30+00:00'
    """

    def __init__(self, start: datetime | None = None) -> None:
        start = start or datetime(2024, 6, 3, 9, 0, 0, tzinfo=UTC)
        if start.tzinfo is None:
            raise ValueError("ManualClock needs an aware datetime (tzinfo=UTC)")
        self._now = start.astimezone(UTC)
        self._lock = threading.Lock()

    def __call__(self) -> datetime:
        with self._lock:
            return self._now

    def advance(self, seconds: float = 0.0, **kwargs: float) -> datetime:
        """Move forward by ``seconds`` (plus any ``timedelta`` keywords); returns the new time."""
        with self._lock:
            self._now += timedelta(seconds=seconds, **kwargs)
            return self._now

    def set(self, moment: datetime) -> None:
        if moment.tzinfo is None:
            raise ValueError("ManualClock.set needs an aware datetime")
        with self._lock:
            self._now = moment.astimezone(UTC)

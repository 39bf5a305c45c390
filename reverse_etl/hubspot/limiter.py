"""The HubSpot rate limiter: one rolling window per portal, shared by every caller.

Rate limits (HubSpot "API usage guidelines"): private apps get 100 (Free/Starter) or 190
(Professional/Enterprise) requests per rolling 10 s; responses carry
``X-HubSpot-RateLimit-Max``, ``-Remaining`` and ``-Interval-Milliseconds`` (changelog
2018-11-06 and "Rate limit headers will now appear for OAuth authenticated calls"); a 429
body has ``policyName`` ``TEN_SECONDLY_ROLLING`` or ``DAILY``. The CRM search endpoints
(``POST /crm/v3/objects/{type}/search``) have their own limit of about five requests per second
per account, answered (as our sandbox emulates it; not confirmed against HubSpot) with
``policyName: SECONDLY`` and without the rate-limit headers: searches take a slot from
:func:`shared_search_limiter` (4 per 1 s, a margin under HubSpot's 5) as well as from the
portal's window.

Only :class:`reverse_etl.hubspot.client.HubSpot` calls it: retries and waits stay in one place.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping

from reverse_etl.core.settings import HubSpotSettings

WINDOW_SECONDS = 10.0
SEARCH_PER_SECOND = 4
SEARCH_WINDOW_SECONDS = 1.0


class RateLimiter:
    """A thread-safe rolling-window limiter shared by every worker talking to one portal.

    ``acquire`` blocks until fewer than ``limit`` requests were sent in the last ``window``
    seconds (HubSpot's 10 s by default; 1 s for the search limit). Our
    window starts when we *send* and HubSpot's when the request *arrives*, so entries are
    kept for ``window + slack`` where slack follows the slowest recent round trip: we then
    never run ahead of HubSpot's own count. ``observe`` adapts to HubSpot's headers: a lower
    ``X-HubSpot-RateLimit-Max`` (and its interval) replaces the configured limit, and when
    ``Max - Remaining`` exceeds what we sent ourselves (another app shares the portal's
    limit) the difference is booked as if we had sent it. ``hold`` pauses everyone after a 429.
    """

    def __init__(
        self,
        limit: int,
        *,
        window: float = WINDOW_SECONDS,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.configured_limit = limit
        self.limit = limit
        self.window = window
        self.slack = 0.05
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._sent: deque[float] = deque()
        self._hold_until = 0.0
        self.waited_seconds = 0.0

    def _expire(self, now: float) -> None:
        horizon = now - self.window - self.slack
        while self._sent and self._sent[0] <= horizon:
            self._sent.popleft()

    def acquire(self) -> None:
        while True:
            with self._lock:
                now = self._clock()
                self._expire(now)
                if now < self._hold_until:
                    wait = self._hold_until - now
                elif len(self._sent) < self.limit:
                    self._sent.append(now)
                    return
                else:
                    wait = self._sent[0] + self.window + self.slack - now
                wait = max(wait, 0.001)
                self.waited_seconds += wait
            self._sleep(wait)

    def observe(self, headers: Mapping[str, str] | None, round_trip: float | None = None) -> None:
        """Adapt to HubSpot's rate-limit headers (absent headers change nothing)."""
        with self._lock:
            if round_trip is not None:
                self.slack = min(2.0, max(round_trip, self.slack * 0.9, 0.05))
            if not headers:
                return
            maximum = int_header(headers, "X-HubSpot-RateLimit-Max")
            remaining = int_header(headers, "X-HubSpot-RateLimit-Remaining")
            interval = int_header(headers, "X-HubSpot-RateLimit-Interval-Milliseconds")
            if maximum is None:
                return
            if maximum > 0:
                self.limit = min(self.configured_limit, maximum)
            if interval:
                self.window = interval / 1000.0
            if remaining is not None:
                now = self._clock()
                self._expire(now)
                deficit = (maximum - remaining) - len(self._sent)
                for _ in range(min(deficit, self.limit)):
                    self._sent.append(now)

    def hold(self, seconds: float) -> None:
        """Nobody sends for ``seconds`` (HubSpot said so with a 429)."""
        with self._lock:
            self._hold_until = max(self._hold_until, self._clock() + seconds)

    def seconds_until_slot(self) -> float:
        """How long until the oldest request we sent leaves the window (0 when none)."""
        with self._lock:
            if not self._sent:
                return 0.0
            return max(0.0, self._sent[0] + self.window + self.slack - self._clock())


_SHARED: dict[tuple[str, int, str], RateLimiter] = {}
_SHARED_SEARCH: dict[tuple[str, str], RateLimiter] = {}
_SHARED_LOCK = threading.Lock()


def shared_limiter(settings: HubSpotSettings) -> RateLimiter:
    """The process-wide limiter for this portal (HubSpot limits per app and portal, so every
    client of the same token shares one budget: setup, push and webhook batches alike)."""
    key = (settings.base_url, settings.requests_per_10s, _token_key(settings))
    with _SHARED_LOCK:
        if key not in _SHARED:
            _SHARED[key] = RateLimiter(settings.requests_per_10s)
        return _SHARED[key]


def shared_search_limiter(settings: HubSpotSettings) -> RateLimiter:
    """The process-wide limiter for this portal's search endpoints (their own ~5/s limit)."""
    key = (settings.base_url, _token_key(settings))
    with _SHARED_LOCK:
        if key not in _SHARED_SEARCH:
            _SHARED_SEARCH[key] = RateLimiter(SEARCH_PER_SECOND, window=SEARCH_WINDOW_SECONDS)
        return _SHARED_SEARCH[key]


def _token_key(settings: HubSpotSettings) -> str:
    """A stand-in for the token in the cache key, so the token itself is never kept there."""
    return hashlib.sha256(settings.access_token.encode()).hexdigest()[:16]


def int_header(headers: Mapping[str, str], name: str) -> int | None:
    """An integer header value (headers keyed in lower case), or None if absent or bad."""
    value = headers.get(name.lower())
    if value is None:
        return None
    try:
        return int(float(value))
    except ValueError:
        return None

"""HubSpot's rate limits for a private app, on an injected clock.

HubSpot (API usage guidelines; changelog "Increasing our API limits", 2024): a private app gets
a burst limit of 100 requests per rolling 10 seconds on Free/Starter (190 on Professional and
Enterprise) and a daily cap (250,000 to 1,000,000 by tier, reset at midnight in the account's
time zone — UTC here); the CRM search endpoints have their own limit of five requests per
second per account. Over a limit the answer is 429 with ``errorType: RATE_LIMIT`` and a
``policyName`` (see :mod:`sandbox.hubspot.errors`).

Headers on answers: ``X-HubSpot-RateLimit-Max``, ``-Remaining``, ``-Interval-Milliseconds``
(the rolling window) and ``-Daily``, ``-Daily-Remaining``. Search answers carry none of them
(HubSpot's search guide: the search endpoints do not return the standard rate-limit headers;
believed, not confirmed — clients must not depend on them there). HubSpot does not document a
``Retry-After`` on rate-limit 429s, so none is sent unless ``retry_after_seconds`` is set;
a client must back off on its own (fault-injected 429 storms can add one).
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields
from datetime import datetime
from typing import Any


@dataclass
class HubSpotLimits:
    """Configurable limits; ``None`` switches one off. ``unlimited()`` switches all off."""

    requests_per_window: int | None = 100
    window_seconds: float = 10.0
    search_per_second: int | None = 5
    daily: int | None = 250_000
    retry_after_seconds: int | None = None
    max_unique_properties: int = 10

    @classmethod
    def unlimited(cls) -> HubSpotLimits:
        return cls(requests_per_window=None, search_per_second=None, daily=None)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> HubSpotLimits:
        known = {f.name for f in fields(cls)}
        unknown = set(values) - known
        if unknown:
            raise ValueError(f"unknown limit(s): {', '.join(sorted(unknown))}")
        return cls(**values)


@dataclass
class Verdict:
    """Outcome of one admission check: the policy broken (or None) and the headers to send."""

    policy: str | None
    headers: dict[str, str]


class RateLimiter:
    """Rolling windows over the injected clock: portal-wide, search, and the UTC day."""

    def __init__(self, limits: HubSpotLimits, clock: Callable[[], datetime]) -> None:
        self.limits = limits
        self._clock = clock
        self._lock = threading.Lock()
        self._window: deque[float] = deque()
        self._search: deque[float] = deque()
        self._day: str = ""
        self._day_count = 0

    def reset(self, limits: HubSpotLimits | None = None) -> None:
        with self._lock:
            if limits is not None:
                self.limits = limits
            self._window.clear()
            self._search.clear()
            self._day, self._day_count = "", 0

    def admit(self, *, search: bool) -> Verdict:
        """Count one request if it fits every limit; otherwise name the policy it breaks."""
        limits = self.limits
        now = self._clock()
        t = now.timestamp()
        with self._lock:
            day = now.strftime("%Y-%m-%d")
            if day != self._day:
                self._day, self._day_count = day, 0
            window = self._window
            while window and window[0] <= t - limits.window_seconds:
                window.popleft()
            searches = self._search
            while searches and searches[0] <= t - 1.0:
                searches.popleft()
            policy = None
            if limits.daily is not None and self._day_count >= limits.daily:
                policy = "DAILY"
            elif search and limits.search_per_second is not None:
                if len(searches) >= limits.search_per_second:
                    policy = "SECONDLY"
            elif (
                not search
                and limits.requests_per_window is not None
                and len(window) >= limits.requests_per_window
            ):
                policy = "TEN_SECONDLY_ROLLING"
            if policy is None:
                self._day_count += 1
                (searches if search else window).append(t)
            headers: dict[str, str] = {}
            if not search:
                if limits.requests_per_window is not None:
                    headers["X-HubSpot-RateLimit-Max"] = str(limits.requests_per_window)
                    headers["X-HubSpot-RateLimit-Remaining"] = str(
                        max(0, limits.requests_per_window - len(window))
                    )
                    headers["X-HubSpot-RateLimit-Interval-Milliseconds"] = str(
                        int(limits.window_seconds * 1000)
                    )
                if limits.daily is not None:
                    headers["X-HubSpot-RateLimit-Daily"] = str(limits.daily)
                    headers["X-HubSpot-RateLimit-Daily-Remaining"] = str(
                        max(0, limits.daily - self._day_count)
                    )
            if policy is not None and limits.retry_after_seconds is not None:
                headers["Retry-After"] = str(limits.retry_after_seconds)
            return Verdict(policy, headers)

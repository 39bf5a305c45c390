"""Xero's API rate limits, on the emulator's clock.

Per organisation (tenant): 60 calls in any rolling minute, a day limit that depends on the
app's tier (below), 5 in flight at once; per app: 10,000 calls in a rolling minute across all
tenants (Xero developer docs, "OAuth 2.0 API limits"; Codat's "Xero API Rate Limiting" article,
which also shows a daily-cap refusal with "retry-after 66975": day-limit waits are hours long).
A refused call answers 429 with ``X-Rate-Limit-Problem: minute | day | concurrent |
appminute``; refused calls are not counted against the windows. Only the minute and day
refusals carry ``Retry-After`` (whole seconds): Xero's limits page says "If you have exceeded
the minute or daily limit you will also receive a Retry-After http header"
(developer.xero.com/documentation/oauth2/limits), so a concurrency 429 comes without one and a
client must not fall back to a blind long wait. Answered calls carry ``X-DayLimit-Remaining``,
``X-MinLimit-Remaining`` and ``X-AppMinLimit-Remaining``.

Day limit per tier (:data:`DAY_LIMIT_BY_TIER`): developer.xero.com/faq/limits (as stored on
2026-11-30) still states 5,000 calls per organisation per day "the same for all apps"; since
Xero's 2 March 2026 tiers (Starter, Core, Plus, Advanced, Enterprise —
developer.xero.com/faq/pricing-and-policy-updates), the free Starter tier is *reported* to allow
1,000 (HirePOS support, June 2026: Core "provides approximately 5 times the rate limits of the
Free plan"). Not confirmed on developer.xero.com: the tier is a switch here
(``XeroLimits.for_tier``, ``POST /_sandbox/limits {"tier": "starter"}``, ``invoice-sync sandbox
up --xero-tier starter``) so the client is proven against both, and the client itself never
assumes a number — it obeys ``X-DayLimit-Remaining``.

``max_ids``: ``GET /Invoices?IDs=`` with more than 52 ids answers 404 "The resource you're
looking for cannot be found" even though the invoices exist (Xero-OpenAPI issue #534: 52 ids
work, 53 give 404; Xero-NetStandard issue #413: more than 55 give 404; a Xero engineer in
Xero-Net issue #389: "a limitation on the length of URL query params ... keep your searches
below 50 IDs").
"""

from __future__ import annotations

import math
import threading
from collections import deque
from dataclasses import asdict, dataclass, fields
from datetime import datetime
from typing import Any

MINUTE_MS = 60_000
DAY_MS = 86_400_000

DAY_LIMIT_BY_TIER: dict[str, int] = {
    "starter": 1_000,
    "standard": 5_000,
    "core": 5_000,
    "plus": 5_000,
    "advanced": 5_000,
    "enterprise": 5_000,
}
"""Calls per organisation per rolling day, by Xero app tier (see the module docstring)."""


def day_limit_for(tier: str | int) -> int:
    """A tier name (``starter``, ``standard``, ``core`` …) or a number of calls per day."""
    if isinstance(tier, int) or str(tier).strip().isdigit():
        calls = int(tier)
        if calls < 1:
            raise ValueError(f"a day limit must be at least 1 call, not {calls}")
        return calls
    name = str(tier).strip().lower()
    if name not in DAY_LIMIT_BY_TIER:
        raise ValueError(
            f"unknown Xero tier {tier!r}: use one of {', '.join(DAY_LIMIT_BY_TIER)} or a number"
        )
    return DAY_LIMIT_BY_TIER[name]


@dataclass
class XeroLimits:
    """Limits the emulator enforces; ``None`` switches one off."""

    per_minute: int | None = 60
    per_day: int | None = 5_000
    concurrent: int | None = 5
    app_per_minute: int | None = 10_000
    access_token_seconds: int = 1800
    max_page_size: int = 1000
    max_ids: int | None = 52

    @classmethod
    def unlimited(cls, **overrides: Any) -> XeroLimits:
        """No rate limits at all (benchmarks, bulk demos); token lifetime and paging unchanged."""
        values: dict[str, Any] = {
            "per_minute": None,
            "per_day": None,
            "concurrent": None,
            "app_per_minute": None,
        }
        values.update(overrides)
        return cls(**values)

    @classmethod
    def for_tier(cls, tier: str | int, **overrides: Any) -> XeroLimits:
        """Default limits with the day limit of ``tier`` (a name or a number of calls)."""
        return cls(per_day=day_limit_for(tier), **overrides)

    def public(self) -> dict[str, Any]:
        return asdict(self)

    def updated(self, changes: dict[str, Any]) -> XeroLimits:
        changes = dict(changes)
        if "tier" in changes:
            changes["per_day"] = day_limit_for(changes.pop("tier"))
        known = {f.name for f in fields(self)}
        unknown = set(changes) - known
        if unknown:
            raise ValueError(
                f"unknown limit(s): {', '.join(sorted(unknown))}; known: {sorted(known)}"
            )
        values = self.public()
        values.update(changes)
        return XeroLimits(**values)


@dataclass
class Refusal:
    problem: str  # minute | day | concurrent | appminute
    retry_after: int | None  # None: Xero sends no Retry-After (the concurrency limit)


class RateLimiter:
    """Rolling windows per tenant and for the app; thread-safe."""

    def __init__(self, limits: XeroLimits) -> None:
        self.limits = limits
        self._lock = threading.Lock()
        self._minute: dict[str, deque[int]] = {}
        self._day: dict[str, deque[int]] = {}
        self._app: deque[int] = deque()
        self._in_flight: dict[str, int] = {}

    def reset(self) -> None:
        with self._lock:
            self._minute.clear()
            self._day.clear()
            self._app.clear()
            self._in_flight.clear()

    def acquire(self, tenant: str | None, now: datetime) -> Refusal | dict[str, str]:
        """Count a call (and mark it in flight) or say which limit refuses it.

        Returns the rate headers for an accepted call; call :meth:`release` when it ends.
        """
        ms = int(now.timestamp() * 1000)
        lim = self.limits
        with self._lock:
            _expire(self._app, ms - MINUTE_MS)
            if tenant is not None:
                minute = self._minute.setdefault(tenant, deque())
                day = self._day.setdefault(tenant, deque())
                _expire(minute, ms - MINUTE_MS)
                _expire(day, ms - DAY_MS)
                if lim.per_day is not None and len(day) >= lim.per_day:
                    return Refusal("day", _wait(day, ms, DAY_MS))
                if lim.concurrent is not None and self._in_flight.get(tenant, 0) >= lim.concurrent:
                    return Refusal("concurrent", None)
                if lim.per_minute is not None and len(minute) >= lim.per_minute:
                    return Refusal("minute", _wait(minute, ms, MINUTE_MS))
            if lim.app_per_minute is not None and len(self._app) >= lim.app_per_minute:
                return Refusal("appminute", _wait(self._app, ms, MINUTE_MS))
            self._app.append(ms)
            headers = {"X-AppMinLimit-Remaining": _remaining(lim.app_per_minute, len(self._app))}
            if tenant is not None:
                minute.append(ms)
                day.append(ms)
                self._in_flight[tenant] = self._in_flight.get(tenant, 0) + 1
                headers["X-MinLimit-Remaining"] = _remaining(lim.per_minute, len(minute))
                headers["X-DayLimit-Remaining"] = _remaining(lim.per_day, len(day))
            return headers

    def release(self, tenant: str | None) -> None:
        if tenant is None:
            return
        with self._lock:
            self._in_flight[tenant] = max(0, self._in_flight.get(tenant, 0) - 1)

    def remaining(self, tenant: str | None, now: datetime) -> dict[str, str]:
        """The rate headers without counting a call (for refused and error answers)."""
        ms = int(now.timestamp() * 1000)
        lim = self.limits
        with self._lock:
            _expire(self._app, ms - MINUTE_MS)
            headers = {"X-AppMinLimit-Remaining": _remaining(lim.app_per_minute, len(self._app))}
            if tenant is not None:
                minute = self._minute.get(tenant, deque())
                day = self._day.get(tenant, deque())
                _expire(minute, ms - MINUTE_MS)
                _expire(day, ms - DAY_MS)
                headers["X-MinLimit-Remaining"] = _remaining(lim.per_minute, len(minute))
                headers["X-DayLimit-Remaining"] = _remaining(lim.per_day, len(day))
            return headers


def _expire(window: deque[int], older_than: int) -> None:
    while window and window[0] <= older_than:
        window.popleft()


def _wait(window: deque[int], now_ms: int, span: int) -> int:
    return max(1, math.ceil((window[0] + span - now_ms) / 1000))


def _remaining(limit: int | None, used: int) -> str:
    return str(max(0, (limit if limit is not None else 1_000_000) - used))

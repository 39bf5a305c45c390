"""Xero's per-organisation call budget, kept by the client: the rolling minute and the headers.

Part of the one Xero retry/limit loop (:class:`pipelines.xero.transport.XeroTransport` calls
:meth:`RateLimiter.acquire` before and :meth:`RateLimiter.observe` after every request).
Xero's limits and headers are described in :mod:`pipelines.xero.transport`; the day limit is never
assumed (it differs by app tier): ``X-DayLimit-Remaining: 0`` is what stops the reading.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from reverse_etl.core.errors import XeroRateLimitError


@dataclass
class CallCounts:
    """HTTP requests sent to Xero, by kind (retries included: each one costs quota)."""

    api: int = 0  # Invoices
    finance: int = 0  # Contacts, Payments, CreditNotes, Overpayments, Prepayments, Organisation
    token: int = 0
    connections: int = 0
    retries: int = 0
    waited_seconds: float = 0.0
    api_by_tenant: dict[str, int] = field(default_factory=dict)


class RateLimiter:
    """Keeps each tenant under ``calls_per_minute`` in any rolling minute, and obeys Xero's
    remaining-calls headers: ``X-MinLimit-Remaining: 0`` waits out the minute,
    ``X-DayLimit-Remaining: 0`` stops the run with :class:`XeroRateLimitError`."""

    def __init__(
        self,
        calls_per_minute: int,
        clock: Callable[[], float],
        sleep: Callable[[float], None],
        counts: CallCounts,
    ) -> None:
        self.calls_per_minute = calls_per_minute
        self._clock = clock
        self._sleep = sleep
        self._counts = counts
        self._calls: dict[str, deque[float]] = {}
        self._minute_spent: dict[str, bool] = {}
        self._day_spent: dict[str, bool] = {}

    def _wait(self, seconds: float) -> None:
        if seconds > 0:
            self._counts.waited_seconds += seconds
            self._sleep(seconds)

    def acquire(self, tenant_id: str) -> None:
        if self._day_spent.get(tenant_id):
            raise XeroRateLimitError(
                f"Xero's daily call limit for organisation {tenant_id} is spent "
                "(X-DayLimit-Remaining: 0). Run again after the daily reset; the next run "
                "continues from the saved cursor.",
                problem="day",
            )
        calls = self._calls.setdefault(tenant_id, deque())
        now = self._clock()
        while calls and calls[0] <= now - 60.0:
            calls.popleft()
        if self._minute_spent.pop(tenant_id, False):
            self._wait((calls[0] + 60.0 - now) if calls else 60.0)
        elif len(calls) >= self.calls_per_minute:
            self._wait(calls[0] + 60.0 - now)
        now = self._clock()
        while calls and calls[0] <= now - 60.0:
            calls.popleft()
        calls.append(now)

    def observe(self, tenant_id: str, headers: Mapping[str, str]) -> None:
        if headers.get("X-MinLimit-Remaining") == "0":
            self._minute_spent[tenant_id] = True
        if headers.get("X-DayLimit-Remaining") == "0":
            self._day_spent[tenant_id] = True

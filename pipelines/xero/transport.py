"""The one retry loop for Xero: rate limits, retries and backoff, and the call counts.

Xero behaviour relied on (Xero developer docs, API rate limits; ``/work/shared/API_FACTS.md``):

- Limits per organisation: 60 calls per rolling minute, a day limit that depends on the app's
  tier (5,000 documented; 1,000 reported for Starter apps — see :mod:`sandbox.xero.limits`), 5
  in flight; over a limit ``429`` with ``X-Rate-Limit-Problem: minute | day | concurrent |
  appminute``, and ``Retry-After`` (seconds) for the minute and day limits only ("If you have
  exceeded the minute or daily limit you will also receive a Retry-After http header",
  developer.xero.com/documentation/oauth2/limits). A 429 without ``Retry-After`` (the
  concurrency limit) is retried after a short backoff with jitter, never a blind long wait.
  Successful responses carry ``X-MinLimit-Remaining`` / ``X-DayLimit-Remaining``; the client
  never assumes a day limit: it stops when ``X-DayLimit-Remaining`` reaches 0.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import requests

from pipelines.xero.limiter import CallCounts, RateLimiter
from pipelines.xero.responses import _path, _retry_after
from reverse_etl.core.errors import XeroError, XeroRateLimitError

log = logging.getLogger(__name__)

CONCURRENT_BACKOFF_BASE = 0.5  # seconds, doubling, jittered: a call in flight ends in ~1 s


class XeroTransport:
    """Sends one request to Xero with bounded retries, waiting on the limiter first and
    counting every call in ``counts``. ``sleep`` and ``jitter`` are injectable so tests never
    wait. :class:`~pipelines.xero.client.XeroClient` sends every call through one of these."""

    def __init__(
        self,
        session: requests.Session,
        counts: CallCounts,
        limiter: RateLimiter,
        *,
        sleep: Callable[[float], None],
        jitter: Callable[[], float],
        max_retries: int,
        backoff_base: float,
        backoff_cap: float,
        max_retry_after: float,
        timeout: float,
    ) -> None:
        self.counts = counts
        self._limiter = limiter
        self._session = session
        self._sleep = sleep
        self._jitter = jitter
        self._max_retries = max_retries
        self._backoff_base = backoff_base
        self._backoff_cap = backoff_cap
        self._max_retry_after = max_retry_after
        self._timeout = timeout

    def send(
        self,
        method: str,
        url: str,
        *,
        kind: str,
        tenant_id: str | None = None,
        **kwargs: Any,
    ) -> requests.Response:
        """Send with bounded retries: 429 waits ``Retry-After``; 5xx and dropped connections back
        off exponentially with jitter. A day-limit 429 (or a wait over ``max_retry_after``) fails
        at once with :class:`XeroRateLimitError` rather than sleeping for hours."""
        failures = 0
        limited = 0
        while True:
            if tenant_id is not None:
                self._limiter.acquire(tenant_id)
            self._count(kind, tenant_id)
            try:
                response = self._session.request(method, url, timeout=self._timeout, **kwargs)
            except (requests.ConnectionError, requests.Timeout) as exc:
                failures += 1
                if failures > self._max_retries:
                    raise XeroError(
                        f"Xero did not answer {method} {_path(url)} after {failures} attempts "
                        f"({type(exc).__name__}). Check XERO_BASE_URL / XERO_IDENTITY_URL and "
                        "the network, then run again."
                    ) from None
                self._backoff(failures, f"{type(exc).__name__} on {_path(url)}")
                continue
            if tenant_id is not None:
                self._limiter.observe(tenant_id, response.headers)
            if response.status_code == 429:
                limited += 1
                wait = _retry_after(response.headers)
                problem = response.headers.get("X-Rate-Limit-Problem", "minute").lower()
                self._raise_if_limit_spent(problem, wait, limited, tenant_id)
                if wait is None:  # the concurrency 429 has no Retry-After: a short backoff
                    self._backoff(
                        limited, f"429 ({problem}) on {_path(url)}", CONCURRENT_BACKOFF_BASE
                    )
                    continue
                log.info("Xero 429 (%s limit): waiting %.1fs", problem, wait)
                self.counts.retries += 1
                self.counts.waited_seconds += wait
                self._sleep(wait)
                continue
            if response.status_code >= 500:
                failures += 1
                if failures > self._max_retries:
                    raise XeroError(
                        f"Xero answered {response.status_code} to {method} {_path(url)} "
                        f"{failures} times; Xero may be degraded, run again later."
                    )
                self._backoff(failures, f"{response.status_code} on {_path(url)}")
                continue
            return response

    def _raise_if_limit_spent(
        self, problem: str, wait: float | None, limited: int, tenant_id: str | None
    ) -> None:
        """:class:`XeroRateLimitError` for a 429 not worth waiting for: the day limit, a
        ``Retry-After`` over ``max_retry_after``, or too many 429s in a row."""
        if problem == "day" or (wait is not None and wait > self._max_retry_after):
            shown = f"Retry-After {wait:.0f}s" if wait is not None else "no Retry-After"
            raise XeroRateLimitError(
                f"Xero's {problem} rate limit is spent (429, {shown}) "
                f"for organisation {tenant_id}. Run again after the limit resets; the "
                "next run continues from the saved cursor.",
                problem=problem,
            )
        if limited > self._max_retries:
            raise XeroRateLimitError(
                f"Xero kept answering 429 ({problem} limit) after {limited} waits; "
                "lower XERO_CALLS_PER_MINUTE or run again later.",
                problem=problem,
            )

    def _backoff(self, failures: int, why: str, base: float | None = None) -> None:
        first = self._backoff_base if base is None else base
        delay = min(self._backoff_cap, first * 2 ** (failures - 1))
        delay = delay / 2 + self._jitter() * delay / 2
        log.info("Xero: %s; retry %d in %.2fs", why, failures, delay)
        self.counts.retries += 1
        self.counts.waited_seconds += delay
        self._sleep(delay)

    def _count(self, kind: str, tenant_id: str | None) -> None:
        if kind == "api":
            self.counts.api += 1
            if tenant_id is not None:
                by_tenant = self.counts.api_by_tenant
                by_tenant[tenant_id] = by_tenant.get(tenant_id, 0) + 1
        elif kind == "finance":
            self.counts.finance += 1
        elif kind == "token":
            self.counts.token += 1
        else:
            self.counts.connections += 1

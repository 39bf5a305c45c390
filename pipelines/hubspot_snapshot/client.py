"""Read-only HubSpot CRM client for the snapshot: schema lookup, list, windowed search.

The one place for the snapshot's HubSpot retry and rate-limit logic (the push has its own
writer in ``reverse_etl``). HubSpot behaviour relied on (CRM objects / search / usage
guidelines, v3; see ``/work/shared/API_FACTS.md``):

- Private-app token as ``Authorization: Bearer``; 401 = bad token, 403 = missing scope
  (``crm.schemas.custom.read`` to look the object up, ``crm.objects.custom.read`` to read it).
- ``GET /crm/v3/schemas`` lists custom objects (``name``, ``objectTypeId``); the objects API
  accepts the ``objectTypeId``.
- ``GET /crm/v3/objects/{type}?limit<=100&after=&properties=`` pages with ``paging.next.after``.
- ``POST /crm/v3/objects/{type}/search``: ``limit`` <= 200, one sort, at most 10,000 results per
  query (paging past that answers 400), about 5 requests/s per account; results can lag writes.
- Limits: 100 (or 190) requests per rolling 10 s; over it ``429`` with ``policyName``
  (``TEN_SECONDLY_ROLLING`` / ``DAILY`` ...) and usually no ``Retry-After``: we wait the header
  when present, else back off; a ``DAILY`` 429 fails at once instead of sleeping till midnight.
"""

from __future__ import annotations

import logging
import random
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

import requests

from reverse_etl.errors import HubSpotAuthError, HubSpotError
from reverse_etl.settings import HubSpotSettings

log = logging.getLogger(__name__)

LIST_LIMIT = 100
SEARCH_LIMIT = 200
SEARCH_MAX_RESULTS = 10_000
SEARCH_PER_SECOND = 4


class SearchWindowStuck(Exception):
    """More than ``max_results`` records share one ``hs_lastmodifieddate``: windowing by that
    property cannot make progress (the caller falls back to a full list)."""


def parse_hubspot_time(value: object) -> datetime | None:
    """HubSpot datetimes: ISO 8601 (``2024-06-03T09:00:00.123Z``) or epoch milliseconds."""
    if value is None or value == "":
        return None
    text = str(value)
    if text.lstrip("-").isdigit():
        return datetime.fromtimestamp(int(text) / 1000, UTC)
    parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def epoch_ms(moment: datetime) -> str:
    return str(int(moment.timestamp() * 1000))


class _Window:
    """At most ``limit`` calls in any rolling ``seconds``."""

    def __init__(self, limit: int, seconds: float) -> None:
        self.limit = limit
        self.seconds = seconds
        self.calls: deque[float] = deque()

    def wait_needed(self, now: float) -> float:
        while self.calls and self.calls[0] <= now - self.seconds:
            self.calls.popleft()
        if len(self.calls) < self.limit:
            return 0.0
        return self.calls[0] + self.seconds - now


class HubSpotReader:
    """``clock`` (monotonic seconds) and ``sleep`` are injectable so tests never wait."""

    def __init__(
        self,
        settings: HubSpotSettings,
        *,
        session: requests.Session | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        jitter: Callable[[], float] = random.random,
        max_retries: int = 6,
        search_limit: int = SEARCH_LIMIT,
        max_results: int = SEARCH_MAX_RESULTS,
        timeout: float = 60.0,
    ) -> None:
        self.settings = settings
        self.calls = 0
        self.waited_seconds = 0.0
        self._session = session or requests.Session()
        self._clock = clock
        self._sleep = sleep
        self._jitter = jitter
        self._max_retries = max_retries
        self._search_limit = search_limit
        self._max_results = max_results
        self._timeout = timeout
        self._general = _Window(settings.requests_per_10s, 10.0)
        self._search = _Window(SEARCH_PER_SECOND, 1.0)

    # -- endpoints ------------------------------------------------------------------------

    def object_type_id(self, name: str) -> str | None:
        """The custom object's ``objectTypeId``, or ``None`` when no schema has that name yet."""
        body = self._request("GET", "/crm/v3/schemas")
        for schema in body.get("results", []):
            if name in (schema.get("name"), schema.get("fullyQualifiedName")):
                return str(schema["objectTypeId"])
        return None

    def list_records(
        self, object_type: str, properties: Sequence[str], *, archived: bool = False
    ) -> Iterator[list[dict]]:
        """Every record (``archived``: the archived ones instead), page by page; the list
        endpoint has no 10,000-result ceiling."""
        after: str | None = None
        while True:
            params = {"limit": str(LIST_LIMIT), "properties": ",".join(properties)}
            if archived:
                params["archived"] = "true"
            if after:
                params["after"] = after
            body = self._request("GET", f"/crm/v3/objects/{object_type}", params=params)
            yield list(body.get("results", []))
            after = _next_after(body)
            if not after:
                return

    def search_modified_since(
        self, object_type: str, properties: Sequence[str], since: datetime
    ) -> Iterator[list[dict]]:
        """Records with ``hs_lastmodifieddate >= since``, oldest change first.

        A query stops at ``max_results``; before reaching it we start a new query from the last
        ``hs_lastmodifieddate`` seen (inclusive, so records sharing that instant are read again
        and de-duplicated by the caller), so the ceiling never truncates the read.
        """
        window = since
        while True:
            after: str | None = None
            in_window = 0
            last: datetime | None = None
            while True:
                body = self._request(
                    "POST",
                    f"/crm/v3/objects/{object_type}/search",
                    json=_search_body(window, properties, self._search_limit, after),
                    search=True,
                )
                results = list(body.get("results", []))
                yield results
                in_window += len(results)
                if results:
                    last = _modified(results[-1]) or last
                after = _next_after(body)
                if not after:
                    return
                if in_window + self._search_limit > self._max_results:
                    break
            if last is None or last <= window:
                raise SearchWindowStuck(epoch_ms(window))
            log.info("HubSpot search reached %d results; new window from %s", in_window, last)
            window = last

    # -- transport: the one retry loop ----------------------------------------------------

    def _request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, str] | None = None,
        json: dict[str, Any] | None = None,
        search: bool = False,
    ) -> dict[str, Any]:
        failures = 0
        while True:
            self._acquire(search)
            self.calls += 1
            try:
                response = self._session.request(
                    method,
                    f"{self.settings.base_url}{path}",
                    params=params,
                    json=json,
                    headers={
                        "Authorization": f"Bearer {self.settings.access_token}",
                        "Accept": "application/json",
                    },
                    timeout=self._timeout,
                )
            except (requests.ConnectionError, requests.Timeout) as exc:
                failures += 1
                if failures > self._max_retries:
                    raise HubSpotError(
                        f"HubSpot did not answer {method} {path} after {failures} attempts "
                        f"({type(exc).__name__}). Check HUBSPOT_BASE_URL and the network."
                    ) from None
                self._backoff(failures)
                continue
            status = response.status_code
            if status == 401:
                raise HubSpotAuthError(
                    "HubSpot rejected HUBSPOT_ACCESS_TOKEN (401). Set it to a valid private-app "
                    "access token."
                )
            if status == 403:
                scope = (
                    "crm.objects.custom.read"
                    if "/objects/" in path
                    else ("crm.schemas.custom.read")
                )
                raise HubSpotAuthError(
                    f"HubSpot refused {method} {path} (403: {_message(response)}). Give the "
                    f"private app behind HUBSPOT_ACCESS_TOKEN the scope {scope}."
                )
            if status == 429:
                failures += 1
                policy = _policy(response)
                if policy == "DAILY":
                    raise HubSpotError(
                        "HubSpot's daily API limit is spent (429 DAILY). Run again after it "
                        "resets at midnight in the account's time zone."
                    )
                if failures > self._max_retries:
                    raise HubSpotError(
                        f"HubSpot kept answering 429 ({policy or 'rate limit'}) after "
                        f"{failures} attempts; lower HUBSPOT_REQUESTS_PER_10S or run later."
                    )
                retry_after = response.headers.get("Retry-After")
                if retry_after is not None and _float(retry_after) is not None:
                    self._wait(float(retry_after))
                else:
                    self._backoff(failures)
                continue
            if status >= 500:
                failures += 1
                if failures > self._max_retries:
                    raise HubSpotError(
                        f"HubSpot answered {status} to {method} {path} {failures} times; "
                        "run again later."
                    )
                self._backoff(failures)
                continue
            if status >= 400:
                raise HubSpotError(
                    f"HubSpot answered {status} to {method} {path}: {_message(response)}"
                )
            return response.json()

    def _acquire(self, search: bool) -> None:
        while True:
            now = self._clock()
            wait = self._general.wait_needed(now)
            if search:
                wait = max(wait, self._search.wait_needed(now))
            if wait <= 0:
                break
            self._wait(wait)
        now = self._clock()
        self._general.calls.append(now)
        if search:
            self._search.calls.append(now)

    def _backoff(self, failures: int) -> None:
        delay = min(10.0, 0.5 * 2 ** (failures - 1))
        self._wait(delay / 2 + self._jitter() * delay / 2)

    def _wait(self, seconds: float) -> None:
        if seconds > 0:
            self.waited_seconds += seconds
            self._sleep(seconds)


def _search_body(
    since: datetime, properties: Sequence[str], limit: int, after: str | None
) -> dict[str, Any]:
    """``hs_lastmodifieddate >= since``, oldest change first (ties broken by id)."""
    since_filter = {"propertyName": "hs_lastmodifieddate", "operator": "GTE"}
    body: dict[str, Any] = {
        "filterGroups": [{"filters": [{**since_filter, "value": epoch_ms(since)}]}],
        "sorts": [{"propertyName": "hs_lastmodifieddate", "direction": "ASCENDING"}],
        "properties": list(properties),
        "limit": limit,
    }
    if after:
        body["after"] = after
    return body


def _next_after(body: dict[str, Any]) -> str | None:
    after = ((body.get("paging") or {}).get("next") or {}).get("after")
    return str(after) if after else None


def _modified(record: dict[str, Any]) -> datetime | None:
    props = record.get("properties") or {}
    return parse_hubspot_time(props.get("hs_lastmodifieddate") or record.get("updatedAt"))


def _policy(response: requests.Response) -> str | None:
    try:
        return str(response.json().get("policyName") or "") or None
    except ValueError:
        return None


def _message(response: requests.Response) -> str:
    try:
        return str(response.json().get("message", ""))[:300] or response.reason
    except ValueError:
        return response.reason or str(response.status_code)


def _float(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None

"""HubSpot HTTP concerns, in one place: client factory, shared rate limiter, retries, errors.

Every HubSpot call of the tool — setup, push, webhooks and the warehouse snapshot's reads
(:mod:`pipelines.hubspot_snapshot.client`) — goes through :meth:`HubSpot.call`, built on the
official ``hubspot-api-client`` (12.x) pointed at ``settings.hubspot.base_url`` with
``hubspot.Client.create(access_token=..., host=...)``.

One retry mechanism, ours, not urllib3's. The SDK can take a ``urllib3.util.Retry``, but it
retries POST only with ``allowed_methods=None``, raises ``MaxRetryError`` once exhausted unless
``raise_on_status=False``, and its retries are invisible to us: they bypass the rate limiter
and the call counter, and a 429 storm would be hammered by every worker at once. So the SDK
is built with ``retry=False`` (urllib3 then raises the underlying connection error at once,
see ``urllib3.util.Retry.from_int``) and :meth:`HubSpot.call` owns the loop:

- every attempt first takes a slot from the shared :class:`RateLimiter` (a search also one
  from the search endpoints' limiter) and is counted;
- ``429``: wait as HubSpot says — ``Retry-After`` if sent, else until our oldest request
  leaves the ``X-HubSpot-RateLimit-Interval-Milliseconds`` window, else exponential backoff —
  and hold *all* workers for that long (a search's ``SECONDLY`` 429: only the searches, until
  the search window has room). ``policyName: DAILY`` is not retried (HubSpot's daily cap
  resets at midnight; retrying only burns calls);
- ``5xx`` and dropped connections / timeouts: exponential backoff with jitter, bounded
  attempts. Safe for our POSTs because the writes are batch *upserts* keyed on a unique
  property (HubSpot CRM API v3, ``POST /crm/v3/objects/{objectType}/batch/upsert``);
- ``401`` → :class:`HubSpotAuthError` naming ``HUBSPOT_ACCESS_TOKEN``; ``403`` →
  :class:`HubSpotAuthError` naming the missing scope from HubSpot's ``MISSING_SCOPES`` body
  (``errors[].context.requiredScopes`` / ``requiredGranularScopes``), falling back to the
  scope the call needs;
- other ``4xx`` → :class:`HubSpotRequestError` with HubSpot's ``category`` and ``message``.

SDK facts relied on (read from hubspot-api-client 12.0.0): each sub-package
(``hubspot.crm.objects``, ``.schemas``, ``.properties``) has its own ``ApiException`` (check
``.status``, ``.headers``, ``.body``); ``client.crm.objects.batch_api`` builds a new
``ApiClient`` (and connection pool) on *every* attribute access, so :class:`HubSpot` keeps one
reference per API; ``*_with_http_info`` returns ``(data, status, headers)``, or the raw
urllib3 response with ``_preload_content=False`` (non-2xx still raise); a 207 does not raise;
dict bodies are sent as-is; ``Client.create(**kw)`` sets every keyword on each sub-package's
``Configuration`` (``host``, ``retries`` from ``retry``, ``connection_pool_maxsize``, sized
here to ``max_in_flight`` so workers do not queue for a connection). Checked here: with
``retry=False`` the pool gets ``Retry(total=False)`` and a refused connection surfaces as
``urllib3.exceptions.NewConnectionError``; 401/403/404/5xx come as the sub-package's
``UnauthorizedException``/``ForbiddenException``/``NotFoundException``/``ServiceException``.

The rolling-window limiters live in :mod:`reverse_etl.hubspot_limiter`, the upsert answer's
value types in :mod:`reverse_etl.hubspot_answers`; this module is the limiters' only caller.
"""

from __future__ import annotations

import json
import logging
import random
import re
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import hubspot
import urllib3
from hubspot.crm.objects import exceptions as objects_exceptions
from hubspot.crm.properties import exceptions as properties_exceptions
from hubspot.crm.schemas import exceptions as schemas_exceptions

from reverse_etl.errors import HubSpotAuthError, HubSpotError
from reverse_etl.hubspot_answers import (  # BatchError, UpsertResult: re-exported for callers
    BatchError,  # noqa: F401
    UpsertAnswer,
    UpsertResult,  # noqa: F401
    parse_upsert_answer,
)
from reverse_etl.hubspot_limiter import (
    RateLimiter,
    int_header,
    shared_limiter,
    shared_search_limiter,
)
from reverse_etl.settings import HubSpotSettings

log = logging.getLogger(__name__)

SDK_ERRORS: tuple[type[Exception], ...] = (
    objects_exceptions.ApiException,
    schemas_exceptions.ApiException,
    properties_exceptions.ApiException,
)
LIST_LIMIT = 100  # HubSpot's maximum page size for the objects list
_SCOPE = re.compile(r"\bcrm\.[a-z_]+\.[a-z_.]+\b")


class HubSpotRequestError(HubSpotError):
    """HubSpot refused a request (4xx other than 401/403/429): not retried."""

    def __init__(self, what: str, status: int, category: str, message: str) -> None:
        self.status = status
        self.category = category
        self.message = message
        super().__init__(f"HubSpot refused {what} ({status} {category}): {message}")


class HubSpotRateLimitError(HubSpotError):
    """HubSpot's daily limit is spent, or 429s did not stop within the retry budget."""


@dataclass(frozen=True)
class ApiResult:
    """One successful SDK call: the deserialised model, the HTTP status and the headers."""

    data: Any
    status: int
    headers: Mapping[str, str]


class HubSpot:
    """The official SDK behind one retrying, rate-limited, counted :meth:`call`.

    Thread-safe: the push's workers share one instance (urllib3's pool is thread-safe and
    sized to ``max_in_flight``).
    """

    def __init__(
        self,
        settings: HubSpotSettings,
        *,
        limiter: RateLimiter | None = None,
        search_limiter: RateLimiter | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        max_attempts: int = 6,
        max_rate_limited: int = 50,
        backoff_base: float = 0.5,
        backoff_cap: float = 30.0,
        timeout: tuple[float, float] = (10.0, 120.0),
        rng: Callable[[], float] = random.random,
    ) -> None:
        self.settings = settings
        self.limiter = limiter or shared_limiter(settings)
        self.search_limiter = search_limiter or shared_search_limiter(settings)
        self._sleep = sleep
        self._clock = clock
        self.max_attempts = max_attempts
        self.max_rate_limited = max_rate_limited
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self.timeout = timeout
        self._rng = rng
        self._count_lock = threading.Lock()
        self.calls = 0
        self.rate_limited = 0
        self.retried = 0
        self.sdk = hubspot.Client.create(
            access_token=settings.access_token,
            host=settings.base_url,
            retry=False,
            connection_pool_maxsize=max(4, settings.max_in_flight + 2),
        )
        # Each of these attribute accesses builds a new ApiClient: keep one of each.
        self.batch_api = self.sdk.crm.objects.batch_api
        self.basic_api = self.sdk.crm.objects.basic_api
        self.search_api = self.sdk.crm.objects.search_api
        self.schemas_api = self.sdk.crm.schemas.core_api
        self.properties_api = self.sdk.crm.properties.core_api

    # -- the one loop -------------------------------------------------------------------

    def call(
        self,
        what: str,
        method: Callable[..., Any],
        *args: Any,
        scope: str,
        search: bool = False,
        **kwargs: Any,
    ) -> ApiResult:
        """Call an SDK ``*_with_http_info`` method with limits, retries and HubSpot's errors.

        ``what`` names the call in errors and logs; ``scope`` is the private-app scope it
        needs, named in the error when HubSpot answers 403 without saying which; ``search``
        marks a CRM search, which also counts against the search endpoints' own limit.
        """
        failures = 0
        rate_limited = 0
        last_problem = ""
        while True:
            if search:
                self.search_limiter.acquire()
            self.limiter.acquire()
            with self._count_lock:
                self.calls += 1
            started = self._clock()
            try:
                answer = method(*args, _request_timeout=self.timeout, **kwargs)
                data, status, headers = _unpack(answer)
            except SDK_ERRORS as exc:
                status = int(getattr(exc, "status", 0) or 0)
                headers = _headers(getattr(exc, "headers", None))
                body = _json(getattr(exc, "body", None))
                self._observe(headers, self._clock() - started, search)
                if status == 401:
                    raise HubSpotAuthError(
                        "HubSpot rejected the access token (401 Unauthorized). Check "
                        "HUBSPOT_ACCESS_TOKEN: it must be the private app's current access "
                        "token."
                    ) from None
                if status == 403:
                    raise HubSpotAuthError(_forbidden_message(what, body, scope)) from None
                if status == 429:
                    rate_limited += 1
                    with self._count_lock:
                        self.rate_limited += 1
                    policy = str(body.get("policyName", "")).upper()
                    if policy == "DAILY":
                        raise HubSpotRateLimitError(
                            "HubSpot's daily API limit for this portal is spent (429, policy "
                            "DAILY); it resets at midnight in the portal's time zone. Rerun "
                            "then; nothing already written is lost."
                        ) from None
                    if rate_limited > self.max_rate_limited:
                        raise HubSpotRateLimitError(
                            f"HubSpot kept answering 429 to {what} ({rate_limited} times); "
                            "another app may be using this portal's limit. Lower "
                            "HUBSPOT_REQUESTS_PER_10S or rerun later."
                        ) from None
                    limiter = self.search_limiter if policy == "SECONDLY" else self.limiter
                    delay = self._rate_limit_delay(headers, rate_limited, limiter)
                    log.info("HubSpot 429 on %s: waiting %.2fs as instructed.", what, delay)
                    limiter.hold(delay)
                    continue
                if status >= 500:
                    last_problem = f"{status} {_message(body) or getattr(exc, 'reason', '')}"
                else:
                    raise HubSpotRequestError(
                        what,
                        status,
                        str(body.get("category") or getattr(exc, "reason", "") or "ERROR"),
                        _message(body) or str(getattr(exc, "reason", "")),
                    ) from None
            except urllib3.exceptions.HTTPError as exc:
                last_problem = f"connection problem: {type(exc).__name__}"
            except ValueError as exc:  # the SDK could not read the answer into its model
                raise HubSpotError(f"HubSpot's answer to {what} was not understood: {exc}") from exc
            else:
                self._observe(_headers(headers), self._clock() - started, search)
                return ApiResult(data, int(status), _headers(headers))

            failures += 1
            if failures >= self.max_attempts:
                raise HubSpotError(
                    f"HubSpot did not answer {what} after {failures} attempts "
                    f"(last: {last_problem}). Check HUBSPOT_BASE_URL and HubSpot's status page; "
                    "rerunning is safe."
                )
            with self._count_lock:
                self.retried += 1
            delay = self._backoff(failures)
            log.info("HubSpot %s on %s: retry %d in %.2fs.", last_problem, what, failures, delay)
            self._sleep(delay)

    def _observe(self, headers: Mapping[str, str], round_trip: float, search: bool) -> None:
        """Feed the answer to the limiters; the headers describe the portal's window only."""
        self.limiter.observe(headers, round_trip)
        if search:
            self.search_limiter.observe(None, round_trip)

    def _backoff(self, attempt: int) -> float:
        """Exponential backoff with "equal jitter": half fixed, half random."""
        ceiling = min(self.backoff_cap, self.backoff_base * 2 ** (attempt - 1))
        return ceiling / 2 + self._rng() * ceiling / 2

    def _rate_limit_delay(
        self, headers: Mapping[str, str], attempt: int, limiter: RateLimiter
    ) -> float:
        retry_after = headers.get("retry-after")
        if retry_after is not None:
            try:
                return max(0.0, float(retry_after))
            except ValueError:
                pass
        searches = limiter is self.search_limiter  # their 429s carry no rate-limit headers
        if searches or int_header(headers, "X-HubSpot-RateLimit-Interval-Milliseconds"):
            return max(0.1, limiter.seconds_until_slot())
        return self._backoff(attempt)

    # -- the calls the tool makes --------------------------------------------------------

    def list_schemas(self) -> list[Any]:
        result = self.call(
            "GET /crm-object-schemas/v3/schemas",
            self.schemas_api.get_all_with_http_info,
            scope="crm.schemas.custom.read",
        )
        return list(result.data.results or []) if result.data is not None else []

    def list_page(
        self, object_type: str, properties: Sequence[str], *, after: str | None, archived: bool
    ) -> dict[str, Any]:
        """``GET /crm/v3/objects/{objectType}``: one page of records, as HubSpot's raw JSON
        (read with ``json.loads`` rather than the SDK's models, as :meth:`batch_upsert` is)."""
        result = self.call(
            f"GET /crm/v3/objects/{object_type}",
            self.basic_api.get_page_with_http_info,
            object_type,
            limit=LIST_LIMIT,
            after=after,
            properties=list(properties),
            archived=archived,
            scope="crm.objects.custom.read",
            _preload_content=False,
        )
        return result.data if isinstance(result.data, dict) else {}

    def search_page(self, object_type: str, body: dict[str, Any]) -> dict[str, Any]:
        """``POST /crm/v3/objects/{objectType}/search``: one page, as HubSpot's raw JSON."""
        result = self.call(
            f"POST /crm/v3/objects/{object_type}/search",
            self.search_api.do_search_with_http_info,
            object_type,
            body,
            scope="crm.objects.custom.read",
            search=True,
            _preload_content=False,
        )
        return result.data if isinstance(result.data, dict) else {}

    def create_schema(self, body: dict[str, Any]) -> Any:
        return self.call(
            "POST /crm-object-schemas/v3/schemas (create the custom object)",
            self.schemas_api.create_with_http_info,
            body,
            scope="crm.schemas.custom.write",
        ).data

    def list_properties(self, object_type: str) -> list[Any]:
        result = self.call(
            f"GET /crm/v3/properties/{object_type}",
            self.properties_api.get_all_with_http_info,
            object_type,
            scope="crm.schemas.custom.read",
        )
        return list(result.data.results or []) if result.data is not None else []

    def create_property(self, object_type: str, body: dict[str, Any]) -> Any:
        return self.call(
            f"POST /crm/v3/properties/{object_type} ({body.get('name')})",
            self.properties_api.create_with_http_info,
            object_type,
            body,
            scope="crm.schemas.custom.write",
        ).data

    def update_property(self, object_type: str, name: str, body: dict[str, Any]) -> Any:
        return self.call(
            f"PATCH /crm/v3/properties/{object_type}/{name}",
            self.properties_api.update_with_http_info,
            object_type,
            name,
            body,
            scope="crm.schemas.custom.write",
        ).data

    def batch_upsert(self, object_type: str, inputs: list[dict[str, Any]]) -> UpsertAnswer:
        """``POST /crm/v3/objects/{objectType}/batch/upsert``: 200 all written, 207 some not.

        Called with the SDK's ``_preload_content=False`` and read with ``json.loads``: the SDK's
        model deserialisation costs ~33 ms of CPU per 100-result answer against ~1 ms (measured
        here), which on the push's hot path would use more CPU than the rate limit leaves time
        for. Requests, auth, URLs and error classes stay the SDK's."""
        result = self.call(
            f"POST /crm/v3/objects/{object_type}/batch/upsert",
            self.batch_api.upsert_with_http_info,
            object_type,
            {"inputs": inputs},
            scope="crm.objects.custom.write",
            _preload_content=False,
        )
        return parse_upsert_answer(result.status, result.data)


def _unpack(answer: Any) -> tuple[Any, int, Any]:
    """``(data, status, headers)`` of an SDK answer: the ``*_with_http_info`` tuple, or a raw
    urllib3 response (``_preload_content=False``), read and parsed here — inside the retry
    loop, so a connection dropped mid-body is retried like any other."""
    if isinstance(answer, tuple):
        return answer[0], int(answer[1]), answer[2]
    try:
        raw = answer.data
    finally:
        answer.release_conn()
    return (json.loads(raw) if raw else None), int(answer.status), answer.headers


def _headers(raw: Any) -> dict[str, str]:
    """Case-insensitive view of the headers as a plain dict with lower-case keys."""
    if not raw:
        return {}
    items = raw.items() if hasattr(raw, "items") else raw
    return {str(k).lower(): str(v) for k, v in items}


def _json(body: Any) -> dict[str, Any]:
    if isinstance(body, bytes):
        body = body.decode("utf-8", "replace")
    if not isinstance(body, str) or not body.strip():
        return {}
    try:
        parsed = json.loads(body)
    except ValueError:
        return {"message": body[:300]}
    return parsed if isinstance(parsed, dict) else {}


def _message(body: Mapping[str, Any]) -> str:
    return str(body.get("message") or "")


def _forbidden_message(what: str, body: Mapping[str, Any], scope: str) -> str:
    """Name the missing scope: HubSpot's MISSING_SCOPES body lists it in ``errors[].context``."""
    scopes: list[str] = []
    for error in body.get("errors") or []:
        context = error.get("context") if isinstance(error, dict) else None
        if isinstance(context, dict):
            for key in ("requiredGranularScopes", "requiredScopes", "missingScopes"):
                for value in context.get(key) or []:
                    if str(value) not in scopes:
                        scopes.append(str(value))
    if not scopes:
        scopes = sorted(set(_SCOPE.findall(json.dumps(body)))) or [scope]
    detail = _message(body) or "forbidden"
    return (
        f"HubSpot refused {what} (403: {detail}). The private app behind "
        f"HUBSPOT_ACCESS_TOKEN lacks the scope {' / '.join(scopes)}: add it in HubSpot under "
        "Settings → Integrations → Private apps → Scopes, then rerun."
    )

"""HubSpot HTTP concerns, in one place: the SDK client, shared rate limiter, retries, errors.

Every HubSpot call of the tool — setup, push, webhooks and the warehouse snapshot's reads
(:mod:`pipelines.hubspot_snapshot.client`) — goes through :meth:`HubSpotTransport.request` →
:meth:`HubSpotTransport.call` to a path built by :mod:`reverse_etl.hubspot.paths` for
``HUBSPOT_API_VERSION`` (a date version such as ``2026-09``, or the numbered ``v3`` family).

Why the official ``hubspot-api-client`` (12.x) still carries the requests, with our paths: its
generated methods hard-code the numbered paths (``/crm/v3/objects/…``), but each family's
``ApiClient.call_api(resource_path, method, …)`` sends any path with the SDK's auth, JSON
encoding, connection pool, error classes and model deserialiser, so one transport serves every
version and ``v3`` stays selectable by configuration alone. The other official Python client,
``hubspot-sdk`` (0.1.0a9, checked 30 Nov 2026), is an alpha generated for ``2026-03`` only (its
1,010 CRM paths all name ``2026-03``: no ``2026-09``, no numbered family), brings a fourth HTTP
stack (httpx + pydantic) and retries on its own (``DEFAULT_MAX_RETRIES = 2``) beneath our
limiter — so it would serve worse here. Revisit when it is stable and covers ``2026-09``.

One retry mechanism, ours, not urllib3's. The SDK can take a ``urllib3.util.Retry``, but it
retries POST only with ``allowed_methods=None``, raises ``MaxRetryError`` once exhausted unless
``raise_on_status=False``, and its retries are invisible to us: they bypass the rate limiter
and the call counter, and a 429 storm would be hammered by every worker at once. So the SDK
is built with ``retry=False`` (urllib3 then raises the underlying connection error at once,
see ``urllib3.util.Retry.from_int``) and :meth:`HubSpotTransport.call` owns the loop:

- every attempt first takes a slot from the shared :class:`RateLimiter` (a search also one
  from the search endpoints' limiter) and is counted;
- ``429``: wait as HubSpot says — ``Retry-After`` if sent, else until our oldest request
  leaves the ``X-HubSpot-RateLimit-Interval-Milliseconds`` window, else exponential backoff —
  and hold *all* workers for that long (a search's ``SECONDLY`` 429: only the searches, until
  the search window has room). ``policyName: DAILY`` is not retried (HubSpot's daily cap
  resets at midnight; retrying only burns calls);
- ``5xx`` and dropped connections / timeouts: exponential backoff with jitter, bounded
  attempts. Safe for the invoice writes, batch *upserts* keyed on the unique
  ``xero_invoice_id`` (``POST …/objects/{objectType}/batch/upsert``), and for updates and
  association writes (a repeat is no change). A *create* is not: HubSpot has no idempotency
  key, so a create whose answer was lost (a read timeout, a reset, a 5xx — the write may have
  happened) is never resent blindly. Its caller passes ``before_resend``, which looks up what
  the lost attempt made and returns what is still to send; before it runs, the loop waits at
  least :attr:`HubSpotTransport.search_settle_seconds` (10 s), since HubSpot's search index lags
  writes by a few seconds (CRM search guide; Okta's HubSpot connector advises waiting 10 s
  after a create before searching: help.okta.com, Workflows "Search Contacts"). A longer lag
  could still let a second company through: rule 1 then finds two candidates and
  ``unmatched_customers`` names both for a person. A refused connection (nothing was sent)
  is simply retried;
- ``401`` → :class:`HubSpotAuthError` naming the Service Key / private-app token in
  ``HUBSPOT_ACCESS_TOKEN``; ``403`` → :class:`HubSpotAuthError` naming the missing scope from
  HubSpot's ``MISSING_SCOPES`` body and where to add it (:mod:`reverse_etl.hubspot.answers`);
- other ``4xx`` → :class:`HubSpotRequestError` with HubSpot's ``category`` and ``message`` —
  or, for a required-property refusal (API 2026-09), the property and the fix.

The SDK facts relied on (hubspot-api-client 12.0.0) are listed in :mod:`reverse_etl.hubspot.wire`.

The rolling-window limiters live in :mod:`reverse_etl.hubspot.limiter`, the answers' value
types and messages in :mod:`reverse_etl.hubspot.answers`; this module is the limiters' only
caller. The typed calls are call groups over this transport, composed into the client
(:class:`reverse_etl.hubspot.client.HubSpot`).
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import hubspot
import urllib3
from hubspot.crm.objects import exceptions as objects_exceptions
from hubspot.crm.properties import exceptions as properties_exceptions
from hubspot.crm.schemas import exceptions as schemas_exceptions

from reverse_etl.core.errors import HubSpotAuthError, HubSpotError
from reverse_etl.core.settings import HubSpotSettings
from reverse_etl.hubspot.answers import (
    forbidden_message,
    required_property_fix,
    unauthorized_message,
)
from reverse_etl.hubspot.limiter import (
    RateLimiter,
    int_header,
    shared_limiter,
    shared_search_limiter,
)
from reverse_etl.hubspot.paths import HubSpotPaths
from reverse_etl.hubspot.wire import (
    ApiResult,
    JsonBody,
    headers_of,
    json_body,
    message_of,
    passing_json_bodies,
    unpack,
)

log = logging.getLogger(__name__)

# urllib3 errors raised before the request left: repeating it cannot make a second write
NOT_SENT = (urllib3.exceptions.NewConnectionError, urllib3.exceptions.ConnectTimeoutError)
Resend = Callable[[dict[str, Any]], dict[str, Any] | None]
SDK_ERRORS: tuple[type[Exception], ...] = (
    objects_exceptions.ApiException,
    schemas_exceptions.ApiException,
    properties_exceptions.ApiException,
)


class HubSpotRequestError(HubSpotError):
    """HubSpot refused a request (4xx other than 401/403/429): not retried."""

    def __init__(self, what: str, status: int, category: str, message: str) -> None:
        self.status = status
        self.category = category
        self.message = message
        super().__init__(f"HubSpot refused {what} ({status} {category}): {message}")


class HubSpotRateLimitError(HubSpotError):
    """HubSpot's daily limit is spent, or 429s did not stop within the retry budget."""


class HubSpotTransport:
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
        search_settle_seconds: float = 10.0,
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
        self.search_settle_seconds = search_settle_seconds
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
        self.paths = HubSpotPaths(settings.api_version)
        # Each of these attribute accesses builds a new ApiClient (and pool): keep one per
        # SDK family — objects for raw JSON, schemas and properties to read their models.
        self._api_clients = {
            "objects": self.sdk.crm.objects.batch_api.api_client,
            "schemas": self.sdk.crm.schemas.core_api.api_client,
            "properties": self.sdk.crm.properties.core_api.api_client,
        }
        for api_client in self._api_clients.values():
            api_client.sanitize_for_serialization = passing_json_bodies(
                api_client.sanitize_for_serialization
            )

    # -- the one loop -------------------------------------------------------------------

    def call(
        self,
        what: str,
        method: Callable[..., Any],
        *args: Any,
        scope: str,
        search: bool = False,
        before_resend: Resend | None = None,
        **kwargs: Any,
    ) -> ApiResult:
        """Call an SDK ``*_with_http_info`` method with limits, retries and HubSpot's errors.

        ``what`` names the call in errors and logs; ``scope`` is the private-app scope it
        needs, named in the error when HubSpot answers 403 without saying which; ``search``
        marks a CRM search, which also counts against the search endpoints' own limit.
        ``before_resend`` marks a write that is not safe to repeat (a create): after an answer
        that may hide an applied write it gets the keyword arguments of the lost attempt and
        returns those of the next one, or None when nothing is left to send (then the call
        returns an empty ``ApiResult``).
        """
        failures = rate_limited = 0
        last_problem = ""
        while True:
            self._take_slot(search)
            started = self._clock()
            try:
                data, status, headers = unpack(
                    method(*args, _request_timeout=self.timeout, **kwargs)
                )
            except SDK_ERRORS as exc:
                status = int(getattr(exc, "status", 0) or 0)
                headers = headers_of(getattr(exc, "headers", None))
                body = json_body(getattr(exc, "body", None))
                self._observe(headers, self._clock() - started, search)
                if status == 429:
                    rate_limited += 1
                    self._wait_out_429(what, body, headers, rate_limited)
                    continue
                if status < 500:
                    raise self._refusal(what, status, body, exc, scope) from None
                last_problem = f"{status} {message_of(body) or getattr(exc, 'reason', '')}"
                maybe_applied = True
            except urllib3.exceptions.HTTPError as exc:
                last_problem = f"connection problem: {type(exc).__name__}"
                maybe_applied = not isinstance(exc, NOT_SENT)
            except ValueError as exc:  # the SDK could not read the answer into its model
                raise HubSpotError(f"HubSpot's answer to {what} was not understood: {exc}") from exc
            else:
                self._observe(headers_of(headers), self._clock() - started, search)
                return ApiResult(data, int(status), headers_of(headers))

            failures += 1
            look_first = maybe_applied and before_resend is not None
            self._pause_before_retry(what, failures, last_problem, look_first)
            if look_first and before_resend is not None:
                resend = before_resend(kwargs)
                if resend is None:
                    return ApiResult(None, 200, {})
                kwargs = resend

    def _take_slot(self, search: bool) -> None:
        """Every attempt takes a slot from the limiters (a search also the search one) and is
        counted."""
        if search:
            self.search_limiter.acquire()
        self.limiter.acquire()
        with self._count_lock:
            self.calls += 1

    def _refusal(
        self, what: str, status: int, body: Mapping[str, Any], exc: Exception, scope: str
    ) -> HubSpotError:
        """The error for an answer that is not retried: 401, 403, any other 4xx."""
        if status == 401:
            return HubSpotAuthError(unauthorized_message(self.settings.access_token))
        if status == 403:
            return HubSpotAuthError(
                forbidden_message(what, body, scope, self.settings.access_token)
            )
        return HubSpotRequestError(
            what,
            status,
            str(body.get("category") or getattr(exc, "reason", "") or "ERROR"),
            required_property_fix(body, self.settings.object_name)
            or message_of(body)
            or str(getattr(exc, "reason", "")),
        )

    def _wait_out_429(
        self, what: str, body: Mapping[str, Any], headers: Mapping[str, str], rate_limited: int
    ) -> None:
        """Hold every worker as long as HubSpot says after a 429 (a search's ``SECONDLY`` one:
        only the searches); raise when the daily limit is spent or the 429s do not stop."""
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

    def _pause_before_retry(
        self, what: str, failures: int, last_problem: str, look_first: bool
    ) -> None:
        """Back off before another attempt (at least :attr:`search_settle_seconds` when the
        lost attempt's write is looked up first); raise once the attempts are spent."""
        if failures >= self.max_attempts:
            raise HubSpotError(
                f"HubSpot did not answer {what} after {failures} attempts "
                f"(last: {last_problem}). Check HUBSPOT_BASE_URL and HubSpot's status page; "
                "rerunning is safe."
            )
        with self._count_lock:
            self.retried += 1
        delay = self._backoff(failures)
        if look_first:
            delay = max(delay, self.search_settle_seconds)
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

    # -- one request, to a path of the configured version ------------------------------

    def request(
        self,
        method: str,
        path: str,
        *,
        scope: str,
        query: Sequence[tuple[str, Any]] | None = None,
        body: Any = None,
        search: bool = False,
        model: tuple[str, str] | None = None,
        what: str | None = None,
        before_resend: Callable[[Any], Any | None] | None = None,
    ) -> ApiResult:
        """``method path`` (built by :attr:`paths`) through the SDK's ``ApiClient.call_api``
        and :meth:`call`: HubSpot's JSON as plain data, or — ``model=(family, class name)``,
        family ``"schemas"`` or ``"properties"`` — read into that SDK model.

        For the associations work too: ``hub.request("POST", hub.paths.associations_batch(
        from_type, to_type, "create"), body=..., scope="crm.objects.custom.write")``.
        ``before_resend`` (a create): the body of the lost attempt → the body to send next, or
        None; see :meth:`call`."""
        family, model_name = model or ("objects", "")
        resend: Resend | None = None
        if before_resend is not None:
            rebuild = before_resend

            def resend(sent: dict[str, Any]) -> dict[str, Any] | None:
                body = rebuild(dict(sent["body"]))
                return None if body is None else {**sent, "body": JsonBody(body)}

        api_client = self._api_clients[family]
        header = f"{method} {path}" + (f" ({what})" if what else "")
        return self.call(
            header,
            api_client.call_api,
            path,
            method,
            query_params=list(query or []),
            header_params={"Accept": "application/json", "Content-Type": "application/json"},
            body=JsonBody(body) if type(body) is dict else body,
            response_types_map={200: model_name, 201: model_name} if model_name else {},
            auth_settings=["oauth2"],
            _return_http_data_only=False,
            _preload_content=bool(model_name),
            scope=scope,
            search=search,
            before_resend=resend,
        )

"""The Xero HTTP client: OAuth2 tokens, tenants, invoice pages, rate limits and retries.

This is the one place for Xero's retry and rate-limit logic; nothing else talks HTTP to Xero.

Xero behaviour relied on (Xero developer docs: OAuth 2.0 custom connections and standard
auth flow, Accounting API Invoices, API rate limits; see also ``/work/shared/API_FACTS.md``):

- Token endpoint ``POST {identity}/connect/token`` with the client id/secret as HTTP Basic.
  ``client_credentials`` (custom connection) returns only an access token; ``refresh_token``
  (standard app) returns a *new* refresh token and invalidates the one sent (rotation), so the
  new one is written to the token file (temp file, fsync, rename, mode 0600) *before* the access
  token is used: if the process dies after that, the next run still holds the only valid token.
  Errors are OAuth2 JSON (``{"error": "invalid_client" | "invalid_grant"}``, 400/401).
- Access tokens live ``expires_in`` seconds (1800); an expired one gets ``401`` with
  ``Detail: "TokenExpired: ..."``; we refresh proactively 60 s early and once more on a 401.
- ``GET /connections`` lists the tenants; every API call carries ``xero-tenant-id``.
- Limits per organisation: 60 calls per rolling minute, a day limit that depends on the app's
  tier (5,000 documented; 1,000 reported for Starter apps — see :mod:`sandbox.xero.limits`), 5
  in flight; over a limit ``429`` with ``X-Rate-Limit-Problem: minute | day | concurrent |
  appminute``, and ``Retry-After`` (seconds) for the minute and day limits only ("If you have
  exceeded the minute or daily limit you will also receive a Retry-After http header",
  developer.xero.com/documentation/oauth2/limits). A 429 without ``Retry-After`` (the
  concurrency limit) is retried after a short backoff with jitter, never a blind long wait.
  Successful responses carry ``X-MinLimit-Remaining`` / ``X-DayLimit-Remaining``; the client
  never assumes a day limit: it stops when ``X-DayLimit-Remaining`` reaches 0.
- A used refresh token stays valid for 30 minutes (Xero's grace period for a lost answer), and
  each use still rotates: the newest token is always the one saved.
- ``IDs`` lists: Xero answers more than about 52 ids with a 404 (a URL-length limit), so named
  invoices are read :data:`IDS_PER_CALL` at a time.
- Paging: ``page`` (1-based) and ``pageSize``; a ``pagination`` object (``pageCount``) in recent
  API versions. Listing *without* ``page`` omits line items, so ``page`` is always sent.

Which refresh token is used (the saved file, or ``XERO_REFRESH_TOKEN``) and why: see
:mod:`pipelines.xero.tokens`.
"""

from __future__ import annotations

import json
import logging
import random
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

import requests

from pipelines.prefetch import prefetched
from pipelines.xero.dates import if_modified_since_header, parse_datetime
from pipelines.xero.limiter import CallCounts, RateLimiter
from pipelines.xero.scopes import scope_for
from pipelines.xero.tokens import current_refresh_token, seed_hash, write_token_file
from reverse_etl.core.errors import XeroAuthError, XeroError, XeroRateLimitError
from reverse_etl.core.settings import XeroSettings

log = logging.getLogger(__name__)

API_PREFIX = "/api.xro/2.0"
TOKEN_SKEW_SECONDS = 60.0
MAX_RETRY_AFTER_SECONDS = 300.0
XERO_DEFAULT_PAGE_SIZE = 100
IDS_PER_CALL = 40  # Xero refuses more than ~52 ids (404); 40 leaves room for longer URLs
CONCURRENT_BACKOFF_BASE = 0.5  # seconds, doubling, jittered: a call in flight ends in ~1 s


@dataclass(frozen=True)
class Endpoint:
    """A paged Xero list endpoint: its path, the envelope key of its records, the immutable
    key it is ordered by (see :meth:`XeroClient.invoice_pages`), fixed query parameters."""

    path: str
    key: str
    order: str | None = None
    params: tuple[tuple[str, str], ...] = ()


INVOICES = Endpoint("Invoices", "Invoices", "InvoiceID")


@dataclass
class InvoicePage:
    invoices: list[dict[str, Any]]
    page: int
    server_time: datetime | None
    order: str | None = None  # the ``order`` the page was read in (None: Xero's default)


# Paging order: an immutable key, so an invoice edited mid-read cannot shift an unread one onto
# a page already read. Dropped (with a warning) if Xero ever refuses it: see ``_pages``.
INVOICE_ORDER = "InvoiceID"


class XeroClient:
    """Authenticated, rate-limited, retrying access to the Xero endpoints the extract needs.

    ``clock`` (monotonic seconds), ``sleep`` and ``jitter`` are injectable so tests never wait.
    With ``prefetch`` the next invoices page is requested (in one background thread, strictly
    one request at a time, so limits and token refresh behave as without it) while the caller
    processes the current one: the round trip overlaps parsing and loading.
    """

    def __init__(
        self,
        settings: XeroSettings,
        *,
        session: requests.Session | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        jitter: Callable[[], float] = random.random,
        max_retries: int = 5,
        backoff_base: float = 0.5,
        backoff_cap: float = 30.0,
        max_retry_after: float = MAX_RETRY_AFTER_SECONDS,
        timeout: float = 60.0,
        prefetch: bool = True,
    ) -> None:
        self.settings = settings
        self._prefetch = prefetch
        self._order: str | None = INVOICE_ORDER
        self._refused_orders: set[str] = set()  # other endpoints whose ``order`` Xero refused
        self._one_at_a_time = threading.RLock()
        self.counts = CallCounts()
        self._session = session or requests.Session()
        self._clock = clock
        self._sleep = sleep
        self._jitter = jitter
        self._max_retries = max_retries
        self._backoff_base = backoff_base
        self._backoff_cap = backoff_cap
        self._max_retry_after = max_retry_after
        self._timeout = timeout
        self._limiter = RateLimiter(settings.calls_per_minute, clock, sleep, self.counts)
        self._access_token: str | None = None
        self._expires_at = 0.0

    @property
    def invoice_order(self) -> str | None:
        """The ``order`` invoice pages are read in (None once Xero refused it)."""
        return self._order

    # -- auth -----------------------------------------------------------------------------

    def authenticate(self) -> None:
        """Get a new access token (and, for a standard app, persist the rotated refresh token)."""
        data = {"grant_type": self.settings.grant_type}
        if self.settings.grant_type == "refresh_token":
            data["refresh_token"] = current_refresh_token(
                self.settings.token_file, self.settings.refresh_token
            )
        response = self._send(
            "POST",
            f"{self.settings.identity_url}/connect/token",
            kind="token",
            data=data,
            auth=(self.settings.client_id, self.settings.client_secret),
        )
        if response.status_code != 200:
            raise self._token_error(response)
        body = response.json()
        new_refresh = body.get("refresh_token")
        if self.settings.grant_type == "refresh_token":
            if not new_refresh:
                raise XeroAuthError("Xero's token endpoint returned no refresh token.")
            write_token_file(
                self.settings.token_file, new_refresh, seed_hash(self.settings.refresh_token)
            )
        self._access_token = body["access_token"]
        expires_in = float(body.get("expires_in", 1800))
        self._expires_at = self._clock() + max(expires_in - TOKEN_SKEW_SECONDS, expires_in / 2)

    def _token_error(self, response: requests.Response) -> XeroError:
        try:
            error = str(response.json().get("error", ""))
        except ValueError:
            error = ""
        status = response.status_code
        if error == "invalid_grant":
            return XeroAuthError(
                f"Xero refused the refresh token (invalid_grant, {status}): it was used more "
                "than 30 minutes ago (Xero rotates it on every refresh and honours a used one "
                "for a 30-minute grace period only) or has expired (unused for 60 days). "
                "Re-authorise the app and set XERO_REFRESH_TOKEN to the new refresh token "
                f"(the saved token file is {self.settings.token_file})."
            )
        if error in ("invalid_client", "unauthorized_client") or status in (400, 401, 403):
            return XeroAuthError(
                f"Xero rejected the client credentials ({error or status}). "
                "Check XERO_CLIENT_ID / XERO_CLIENT_SECRET."
            )
        return XeroError(f"Xero's token endpoint answered {status}; try again later.")

    def _bearer(self) -> dict[str, str]:
        if self._access_token is None or self._clock() >= self._expires_at:
            self.authenticate()
        return {"Authorization": f"Bearer {self._access_token}"}

    # -- endpoints ------------------------------------------------------------------------

    def tenant_ids(self) -> list[str]:
        """``XERO_TENANT_ID`` when set, else every organisation ``/connections`` lists."""
        if self.settings.tenant_ids:
            return list(self.settings.tenant_ids)
        response = self._authorised("GET", "/connections", kind="connections", tenant_id=None)
        tenants = [
            str(c["tenantId"])
            for c in response.json()
            if c.get("tenantType", "ORGANISATION") == "ORGANISATION" and c.get("tenantId")
        ]
        if not tenants:
            raise XeroAuthError(
                "The Xero connection reaches no organisation (/connections is empty). "
                "Connect an organisation to the app, or set XERO_TENANT_ID."
            )
        return tenants

    def invoice_pages(
        self,
        tenant_id: str,
        *,
        modified_since: datetime | None = None,
        invoice_ids: Sequence[str] | None = None,
        start_page: int = 1,
        ordered: bool = True,
    ) -> Iterator[InvoicePage]:
        """Pages of ``GET /Invoices`` until a short or empty page (or ``pageCount`` is reached).

        ``start_page`` resumes a read that stopped at a limit (same window, same order: see
        :mod:`pipelines.cursor`); ``ordered=False`` reads in Xero's default order (a resumed
        read that began in it after Xero refused ``order``).

        Works whether or not the server honours ``pageSize`` or sends ``pagination``: without
        ``pagination`` a page is "full" when it holds ``pageSize`` rows, or 100 (Xero's default
        page size) until a page longer than 100 shows the server honours ``pageSize``; so a
        server ignoring ``pageSize`` is still read to the end.
        Ordered by ``InvoiceID`` (an immutable key), so an invoice modified while we page cannot
        shift an unread invoice onto a page already read (it can only appear twice). Xero's
        ``order`` accepts "any element" of the invoice (xero-python ``get_invoices`` docstring);
        ordering by ``InvoiceID`` is believed, not yet confirmed, to be accepted by the real API;
        if Xero refuses it (400 on the first page), paging falls back to Xero's default order.
        """
        if invoice_ids is not None:
            ids = list(dict.fromkeys(invoice_ids))
            for start in range(0, len(ids), IDS_PER_CALL):
                chunk = ids[start : start + IDS_PER_CALL]
                yield from self._pages(tenant_id, None, {"IDs": ",".join(chunk)})
            return
        if not ordered:
            self._order = None
        pages = self._pages(tenant_id, modified_since, {}, start_page)
        if self._prefetch:
            yield from prefetched(pages)
        else:
            yield from pages

    def pages(
        self,
        endpoint: Endpoint,
        tenant_id: str,
        modified_since: datetime | None = None,
        extra: Mapping[str, str] | None = None,
    ) -> Iterator[InvoicePage]:
        """Pages of another paged list endpoint (Contacts, Payments …; ``InvoicePage.invoices``
        holds its records), with the paging, ordering, fallback and stopping rules of
        :meth:`invoice_pages`, prefetched like them; its calls are counted as ``finance``."""
        params = {**dict(endpoint.params), **(extra or {})}
        pages = self._pages(tenant_id, modified_since, params, endpoint=endpoint)
        return prefetched(pages) if self._prefetch else pages

    def get_one(self, path: str, key: str, tenant_id: str) -> tuple[list[Any], datetime | None]:
        """An unpaged read (``GET /Organisation``): the envelope's ``key`` list, server time."""
        response = self._authorised(
            "GET", f"{API_PREFIX}/{path}", kind="finance", tenant_id=tenant_id
        )
        body = json.loads(response.content, parse_float=Decimal)
        return list(body.get(key) or []), _server_time(body)

    def _order_for(self, endpoint: Endpoint) -> str | None:
        if endpoint is INVOICES:
            return self._order
        return None if endpoint.path in self._refused_orders else endpoint.order

    def _pages(
        self,
        tenant_id: str,
        modified_since: datetime | None,
        extra: dict[str, str],
        start_page: int = 1,
        endpoint: Endpoint = INVOICES,
    ) -> Iterator[InvoicePage]:
        page_size = self.settings.page_size
        headers = {}
        if modified_since is not None:
            headers["If-Modified-Since"] = if_modified_since_header(modified_since)
        page = max(1, start_page)
        first_request = True
        honoured = page_size <= XERO_DEFAULT_PAGE_SIZE
        previous_ids: tuple[Any, ...] | None = None
        while True:
            params = {"page": str(page), "pageSize": str(page_size), **extra}
            order = self._order_for(endpoint)
            if order:
                params["order"] = order
            try:
                response = self._authorised(
                    "GET",
                    f"{API_PREFIX}/{endpoint.path}",
                    kind="api" if endpoint is INVOICES else "finance",
                    tenant_id=tenant_id,
                    params=params,
                    headers=headers,
                )
            except XeroError as exc:
                if not (order and first_request and "answered 400" in str(exc)):
                    raise
                log.warning(
                    "Xero refused order=%s on %s (%s); paging in Xero's default order from now "
                    "on. A record edited during a multi-page read is then caught by the next "
                    "run's overlap instead.",
                    order,
                    endpoint.path,
                    exc,
                )
                if endpoint is INVOICES:
                    self._order = None
                else:
                    self._refused_orders.add(endpoint.path)
                page = 1  # positions in another order mean nothing: read the window again
                continue
            first_request = False
            if response.status_code == 304:
                return
            body = json.loads(response.content, parse_float=Decimal)
            invoices = body.get(endpoint.key) or []
            ids = _page_ids(invoices, endpoint)
            if invoices and ids == previous_ids:
                raise XeroError(_same_page_message(endpoint, page, len(invoices)))
            previous_ids = ids
            server_time = _server_time(body)
            yield InvoicePage(invoices, page, server_time, order)
            if not invoices:
                return
            pagination = body.get("pagination")
            if isinstance(pagination, dict) and pagination.get("pageCount") is not None:
                if page >= int(pagination["pageCount"]):
                    return
                if len(invoices) < int(pagination.get("pageSize") or page_size):
                    return
            else:
                honoured = honoured or len(invoices) > XERO_DEFAULT_PAGE_SIZE
                if len(invoices) < (page_size if honoured else XERO_DEFAULT_PAGE_SIZE):
                    return
            page += 1

    # -- transport: the one retry loop ----------------------------------------------------

    def _authorised(
        self,
        method: str,
        path: str,
        *,
        kind: str,
        tenant_id: str | None,
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> requests.Response:
        """An API call with a valid bearer token; one re-authentication on 401.

        One call at a time per client (``_one_at_a_time``): the invoices' prefetch thread and
        the finance resources share the client, and a refresh-token rotation or the limiter's
        remaining-calls bookkeeping must never interleave."""
        with self._one_at_a_time:
            return self._authorised_call(method, path, kind, tenant_id, params, headers)

    def _authorised_call(
        self,
        method: str,
        path: str,
        kind: str,
        tenant_id: str | None,
        params: Mapping[str, str] | None,
        headers: Mapping[str, str] | None,
    ) -> requests.Response:
        for attempt in (1, 2):
            all_headers = {"Accept": "application/json", **self._bearer(), **(headers or {})}
            if tenant_id is not None:
                all_headers["xero-tenant-id"] = tenant_id
            response = self._send(
                method,
                f"{self.settings.base_url}{path}",
                kind=kind,
                tenant_id=tenant_id,
                params=params,
                headers=all_headers,
            )
            if response.status_code == 401 and attempt == 1:
                log.info("Xero answered 401 (%s); refreshing the access token", _detail(response))
                self._access_token = None
                continue
            if response.status_code == 401:
                raise XeroAuthError(
                    f"Xero rejected a fresh access token (401: {_detail(response)}). Check "
                    "XERO_CLIENT_ID / XERO_CLIENT_SECRET and that the app has the scope "
                    f"{scope_for(path)}."
                )
            if response.status_code == 403:
                raise XeroAuthError(
                    f"Xero refused access to organisation {tenant_id} (403: {_detail(response)})."
                    " Check XERO_TENANT_ID and that the app is connected to it with the scope "
                    f"{scope_for(path)}."
                )
            if response.status_code >= 400:
                raise XeroError(
                    f"Xero answered {response.status_code} to {method} {path}: {_detail(response)}"
                )
            return response
        raise AssertionError("unreachable")

    def _send(
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


def _page_ids(records: list[dict[str, Any]], endpoint: Endpoint) -> tuple[Any, ...]:
    """What identifies a page: its records' ids in order (the whole records if the endpoint
    names no id key)."""
    if endpoint.order:
        return tuple(r.get(endpoint.order) for r in records)
    return tuple(json.dumps(r, sort_keys=True, default=str) for r in records)


def _same_page_message(endpoint: Endpoint, page: int, count: int) -> str:
    """Page N+1 holding exactly the records of page N cannot happen when ``page`` is honoured
    (pages are disjoint slices of one order): the server ignores ``page``, and reading on would
    fetch the same page until the day limit while the rest is never read."""
    return (
        f"Xero answered page {page} of {API_PREFIX}/{endpoint.path} with the same {count} "
        f"record(s) as page {page - 1}: it seems to ignore the page parameter. Stopped reading "
        "(reading on would repeat that page until the day limit and never reach the rest). "
        "Rerun later; if it persists, check XERO_BASE_URL and Xero's status page."
    )


def _retry_after(headers: Mapping[str, str]) -> float | None:
    """``Retry-After`` in seconds, or None when Xero sent none (or an unreadable one)."""
    value = headers.get("Retry-After")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


def _path(url: str) -> str:
    return "/" + url.split("://", 1)[-1].split("/", 1)[-1].split("?", 1)[0]


def _detail(response: requests.Response) -> str:
    """Xero's problem text (``Detail``/``Message``/``Title``), short; never request headers."""
    try:
        body = response.json()
    except ValueError:
        return response.reason or str(response.status_code)
    if isinstance(body, dict):
        for key in ("Detail", "detail", "Message", "message", "Title", "title", "error"):
            if body.get(key):
                return str(body[key])[:300]
    return response.reason or str(response.status_code)


def _server_time(body: Mapping[str, Any]) -> datetime | None:
    try:
        return parse_datetime(body.get("DateTimeUTC"))
    except ValueError:
        return None

"""The Xero HTTP client: OAuth2 tokens, tenants, invoice pages, rate limits and retries.

This and its retry loop (:mod:`pipelines.xero.transport`) are the one place for Xero's retry
and rate-limit logic; nothing else talks HTTP to Xero.

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
from datetime import datetime
from decimal import Decimal
from typing import Any

import requests

from pipelines.dlt_import import page_has_tags
from pipelines.prefetch import prefetched
from pipelines.xero.dates import if_modified_since_header
from pipelines.xero.limiter import CallCounts, RateLimiter
from pipelines.xero.paging import (
    API_PREFIX,
    INVOICE_ORDER,
    INVOICES,
    XERO_DEFAULT_PAGE_SIZE,
    Endpoint,
    InvoicePage,
    _last_page,
    _page_ids,
    _same_page_message,
    _server_time,
)
from pipelines.xero.responses import _detail
from pipelines.xero.scopes import scope_for
from pipelines.xero.tokens import current_refresh_token, seed_hash, write_token_file
from pipelines.xero.transport import XeroTransport
from reverse_etl.core.errors import XeroAuthError, XeroError
from reverse_etl.core.settings import XeroSettings

log = logging.getLogger(__name__)

TOKEN_SKEW_SECONDS = 60.0
MAX_RETRY_AFTER_SECONDS = 300.0
IDS_PER_CALL = 40  # Xero refuses more than ~52 ids (404); 40 leaves room for longer URLs


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
        self._clock = clock
        self._transport = XeroTransport(
            session or requests.Session(),
            self.counts,
            RateLimiter(settings.calls_per_minute, clock, sleep, self.counts),
            sleep=sleep,
            jitter=jitter,
            max_retries=max_retries,
            backoff_base=backoff_base,
            backoff_cap=backoff_cap,
            max_retry_after=max_retry_after,
            timeout=timeout,
        )
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
        response = self._transport.send(
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
                self._refuse_order(order, endpoint, exc)
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
            yield InvoicePage(invoices, page, server_time, order, page_has_tags(response.content))
            if not invoices:
                return
            last, honoured = _last_page(body, invoices, page, page_size, honoured)
            if last:
                return
            page += 1

    def _refuse_order(self, order: str, endpoint: Endpoint, exc: XeroError) -> None:
        """Page ``endpoint`` in Xero's default order from now on (Xero refused ``order``)."""
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
            response = self._transport.send(
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

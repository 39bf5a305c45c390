"""The HTTP face of the emulator: identity routes, ``/connections``, the Invoices API and the
finance endpoints (Contacts, Payments, CreditNotes, Overpayments, Prepayments, Organisation).

One aiohttp application serves what lives on two hosts in production (``XERO_IDENTITY_URL``
and ``XERO_BASE_URL`` both point at it). The outermost middleware does what Xero's gateway
does before any handler runs — bearer token, ``xero-tenant-id``, rate limits — so that time
spent in a simulated slow response counts as a call in flight for the concurrency limit.
"""

from __future__ import annotations

import json
import uuid
from functools import partial
from typing import TYPE_CHECKING, Any

from aiohttp import web

from sandbox.faults import Handler, control_routes, middleware, route_key
from sandbox.xero.auth import AccessToken, AuthError
from sandbox.xero.control import control_routes as xero_control_routes
from sandbox.xero.limits import Refusal
from sandbox.xero.query import QueryError

if TYPE_CHECKING:
    from sandbox.xero.emulator import XeroEmulator

API_PREFIX = "/api.xro/2.0/"
TOKEN = web.RequestKey("token", AccessToken)
TENANT = web.RequestKey("tenant", str)


def json_response(
    body: Any, status: int = 200, headers: dict[str, str] | None = None
) -> web.Response:
    return web.Response(
        body=json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode(),
        status=status,
        content_type="application/json",
        charset="utf-8",
        headers=headers,
    )


def problem(
    status: int, title: str, detail: str, headers: dict[str, str] | None = None
) -> web.Response:
    """Xero's RFC 7807-style body for 401/403 (``Title``, ``Status``, ``Detail`` …)."""
    body = {
        "Type": None,
        "Title": title,
        "Status": status,
        "Detail": detail,
        "Instance": str(uuid.uuid4()),
        "Extensions": {},
    }
    return json_response(body, status, headers)


def api_exception(status: int, kind: str, message: str, number: int = 16) -> web.Response:
    """Xero's API exception body, e.g. for a ``where`` it cannot parse (400)."""
    return json_response({"ErrorNumber": number, "Type": kind, "Message": message}, status)


def error_body(status: int, _request: web.Request) -> web.Response:
    """Bodies for injected faults, shaped like Xero's own."""
    if status == 429:
        return web.Response(
            status=429,
            text="",
            headers={"Retry-After": "1", "X-Rate-Limit-Problem": "minute"},
        )
    if status == 503:
        return api_exception(
            503, "ServiceUnavailableException", "The Xero API is temporarily unavailable.", 503
        )
    if status >= 500:
        return api_exception(
            status,
            "InternalServerErrorException",
            "An error occurred in Xero. Check the API Status page for current service status.",
            500,
        )
    return api_exception(status, "ApiException", f"Sandbox fault {status}", status)


def build_app(emu: XeroEmulator) -> web.Application:
    app = web.Application(
        middlewares=[_gate(emu), middleware(emu.faults, emu.counters, error_body)],
        client_max_size=16 * 1024 * 1024,
    )
    app.add_routes(
        [
            web.post("/connect/token", partial(_token, emu)),
            web.get("/connections", partial(_connections, emu)),
            web.get(API_PREFIX + "Invoices", partial(_invoices, emu)),
            web.get(API_PREFIX + "Invoices/{invoice_id}", partial(_invoice, emu)),
            # Xero's paths are case-insensitive; the official SDK asks for /Connections.
            web.get("/Connections", partial(_connections, emu)),
            web.get(API_PREFIX + "invoices", partial(_invoices, emu)),
            web.get(API_PREFIX + "invoices/{invoice_id}", partial(_invoice, emu)),
        ]
    )
    for path, endpoint in FINANCE_PATHS.items():
        for spelling in {path, path.lower()}:
            app.router.add_get(API_PREFIX + spelling, partial(_finance_list, emu, endpoint))
    for spelling in ("Organisation", "organisation"):
        app.router.add_get(API_PREFIX + spelling, partial(_organisation, emu))
    app.add_routes(control_routes(emu.faults, emu.counters))
    app.add_routes(xero_control_routes(emu))
    return app


# path → what :class:`finance_reading.FinanceReader` calls it
FINANCE_PATHS = {
    "Contacts": "Contacts",
    "Payments": "Payments",
    "CreditNotes": "CREDITNOTE",
    "Overpayments": "OVERPAYMENT",
    "Prepayments": "PREPAYMENT",
}


def _gate(emu: XeroEmulator) -> Any:
    @web.middleware
    async def gate(request: web.Request, handler: Handler) -> web.StreamResponse:
        path = request.path
        if not (path.startswith(API_PREFIX) or path.lower() == "/connections"):
            return await handler(request)
        now = emu.now()
        try:
            token = emu.identity.check(request.headers.get("Authorization"), now)
        except AuthError as exc:
            return _refuse(
                emu,
                request,
                problem(
                    401,
                    "Unauthorized",
                    exc.description,
                    {"WWW-Authenticate": 'Bearer error="invalid_token"'},
                ),
            )
        request[TOKEN] = token
        tenant: str | None = None
        if path.startswith(API_PREFIX):
            tenant = (request.headers.get("xero-tenant-id") or "").strip().lower()
            allowed = token.tenant_ids is None or tenant in token.tenant_ids
            if not tenant or tenant not in emu.tenant_ids or not allowed:
                return _refuse(
                    emu, request, problem(403, "Forbidden", "AuthenticationUnsuccessful")
                )
            request[TENANT] = tenant
        outcome = emu.limiter.acquire(tenant, now)
        if isinstance(outcome, Refusal):
            headers = emu.limiter.remaining(tenant, now)
            if outcome.retry_after is not None:
                headers["Retry-After"] = str(outcome.retry_after)
            headers["X-Rate-Limit-Problem"] = outcome.problem
            return _refuse(emu, request, web.Response(status=429, text="", headers=headers))
        try:
            response = await handler(request)
        finally:
            emu.limiter.release(tenant)
        response.headers.update(outcome)
        response.headers["Xero-Correlation-Id"] = str(uuid.uuid4())
        return response

    return gate


def _refuse(emu: XeroEmulator, request: web.Request, response: web.Response) -> web.Response:
    emu.counters.record(route_key(request), response.status)
    return response


async def _token(emu: XeroEmulator, request: web.Request) -> web.Response:
    form = {k: str(v) for k, v in (await request.post()).items()}
    try:
        client = emu.identity.authenticate(request.headers.get("Authorization"), form)
        answer = emu.identity.grant(client, form, emu.now())
    except AuthError as exc:
        body = {"error": exc.error}
        if exc.description:
            body["error_description"] = exc.description
        return json_response(body, 400)
    return json_response(answer, headers={"Cache-Control": "no-store", "Pragma": "no-cache"})


async def _connections(emu: XeroEmulator, request: web.Request) -> web.Response:
    return json_response(emu.connections(request[TOKEN]))


def _wants_json(request: web.Request) -> web.Response | None:
    if "application/json" in request.headers.get("Accept", ""):
        return None
    return web.Response(
        status=406,
        text="The sandbox answers JSON only: send 'Accept: application/json' "
        "(without it Xero answers XML).",
    )


NOT_FOUND = "The resource you're looking for cannot be found"


def _too_many_ids(emu: XeroEmulator, request: web.Request) -> web.Response | None:
    """Xero answers a long ``IDs`` list with a 404, not a 400 (see :mod:`sandbox.xero.limits`,
    ``max_ids``): the same answer as for an unknown invoice, so a client that does not chunk
    its ids cannot tell it from "not found"."""
    limit = emu.limits.max_ids
    raw = next((v for k, v in request.query.items() if k.lower() == "ids"), "")
    if limit is not None and len([i for i in raw.split(",") if i.strip()]) > limit:
        return web.Response(status=404, text=NOT_FOUND)
    return None


async def _invoices(emu: XeroEmulator, request: web.Request) -> web.Response:
    refusal = _wants_json(request) or _too_many_ids(emu, request)
    if refusal is not None:
        return refusal
    try:
        body = emu.list_invoices_body(request[TENANT], request.query, request.headers)
    except QueryError as exc:
        return api_exception(400, "QueryParseException", str(exc))
    return web.Response(body=body, content_type="application/json", charset="utf-8")


async def _invoice(emu: XeroEmulator, request: web.Request) -> web.Response:
    refusal = _wants_json(request)
    if refusal is not None:
        return refusal
    try:
        body = emu.single_invoice_body(
            request[TENANT], request.match_info["invoice_id"], request.query
        )
    except KeyError:
        return web.Response(status=404, text=NOT_FOUND)
    return web.Response(body=body, content_type="application/json", charset="utf-8")


async def _finance_list(emu: XeroEmulator, endpoint: str, request: web.Request) -> web.Response:
    """Contacts, Payments, CreditNotes, Overpayments, Prepayments: behind the same gate
    (token, tenant, limits) and fault middleware as Invoices (see :mod:`finance_reading`)."""
    refusal = _wants_json(request)
    if refusal is not None:
        return refusal
    try:
        body = emu.finance.list_body(endpoint, request[TENANT], request.query, request.headers)
    except QueryError as exc:
        return api_exception(400, "QueryParseException", str(exc))
    return web.Response(body=body, content_type="application/json", charset="utf-8")


async def _organisation(emu: XeroEmulator, request: web.Request) -> web.Response:
    refusal = _wants_json(request)
    if refusal is not None:
        return refusal
    body = emu.finance.organisation_body(request[TENANT])
    return web.Response(body=body, content_type="application/json", charset="utf-8")

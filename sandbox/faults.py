"""Fault injection, simulated latency and request counters shared by both emulators.

Every emulator installs :func:`middleware` with its own :class:`Faults` and :class:`Counters`.
Tests switch faults on per test (``faults.add(...)``, or ``POST /_sandbox/faults`` over HTTP
from another process) and read counters by route (``GET /_sandbox/counters``). Control routes
under ``/_sandbox/`` are never counted, delayed or faulted.

Fault kinds:
- ``status``: answer ``status`` (e.g. 500, 502, 503, or 429 for a storm) with ``body``/``headers``
  the emulator supplies for that status (see ``error_body``) — the real API's error shape.
- ``drop``: close the connection without an answer (a dropped connection).
- ``slow``: sleep ``seconds`` before handling the request normally.
- ``ignore_page``: answer as if the query said ``page=1`` whatever page it asks for — a server
  that ignores ``page`` (clients must notice the repeated page rather than read forever).
- ``lose_answer``: handle the request (a write is applied), then drop the connection instead
  of answering — a timeout or reset after the server acted: the client cannot tell whether it
  happened. With ``seconds``, hold the answer that long first (a read timeout).
A fault matches a method and a path prefix and fires ``times`` times (None = until cleared),
optionally only every ``every``-th matching request.
"""

from __future__ import annotations

import asyncio
import threading
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from typing import Any

from aiohttp import web

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
ErrorBody = Callable[[int, web.Request], web.Response]


@dataclass
class Fault:
    kind: str  # status | drop | slow | ignore_page | lose_answer
    path_prefix: str = "/"
    method: str | None = None
    status: int = 500
    seconds: float = 0.0
    times: int | None = 1
    every: int = 1
    retry_after: int | None = None
    _seen: int = 0

    def matches(self, request: web.Request) -> bool:
        if self.method and request.method.upper() != self.method.upper():
            return False
        return request.path.startswith(self.path_prefix)

    def public(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if not k.startswith("_")}


class Faults:
    """Thread-safe list of active faults; tests add and clear them while a server runs."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []
        self.latency_seconds = 0.0

    def add(self, kind: str, **options: Any) -> Fault:
        fault = Fault(kind=kind, **options)
        with self._lock:
            self._faults.append(fault)
        return fault

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()
        self.latency_seconds = 0.0

    def list(self) -> list[dict[str, Any]]:
        with self._lock:
            return [f.public() for f in self._faults]

    def take(self, request: web.Request) -> Fault | None:
        """The fault that fires for this request, if any (consumes one of its ``times``)."""
        with self._lock:
            for fault in self._faults:
                if not fault.matches(request):
                    continue
                fault._seen += 1
                if (fault._seen - 1) % fault.every:
                    continue
                if fault.times is not None:
                    fault.times -= 1
                    if fault.times <= 0:
                        self._faults.remove(fault)
                return fault
        return None


class Counters:
    """Requests seen, by ``"METHOD /route/template"`` and by status code."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.by_route: Counter[str] = Counter()
        self.by_status: Counter[int] = Counter()

    def record(self, route: str, status: int) -> None:
        with self._lock:
            self.by_route[route] += 1
            self.by_status[status] += 1

    def total(self, prefix: str = "") -> int:
        """Requests whose route key starts with ``prefix`` (e.g. ``"POST /crm/v3/objects"``)."""
        with self._lock:
            return sum(n for route, n in self.by_route.items() if route.startswith(prefix))

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {
                "by_route": dict(self.by_route),
                "by_status": {str(k): v for k, v in self.by_status.items()},
                "total": sum(self.by_route.values()),
            }

    def reset(self) -> None:
        with self._lock:
            self.by_route.clear()
            self.by_status.clear()


def route_key(request: web.Request) -> str:
    """``"GET /api.xro/2.0/Invoices/{invoice_id}"``: the matched route template, not the URL."""
    resource = request.match_info.route.resource
    template = resource.canonical if resource is not None else request.path
    return f"{request.method} {template}"


def middleware(faults: Faults, counters: Counters, error_body: ErrorBody) -> Any:
    """aiohttp middleware applying latency and faults, and counting every API request."""

    @web.middleware
    async def apply(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path.startswith("/_sandbox/"):
            return await handler(request)
        key = route_key(request)
        if faults.latency_seconds:
            await asyncio.sleep(faults.latency_seconds)
        fault = faults.take(request)
        if fault is not None:
            if fault.kind == "slow":
                await asyncio.sleep(fault.seconds)
            elif fault.kind == "drop":
                counters.record(key, 0)
                if request.transport is not None:
                    request.transport.abort()
                raise ConnectionResetError("sandbox fault: connection dropped")
            elif fault.kind == "status":
                response = error_body(fault.status, request)
                if fault.retry_after is not None:
                    response.headers["Retry-After"] = str(fault.retry_after)
                counters.record(key, response.status)
                return response
            elif fault.kind == "ignore_page" and "page" in request.query:
                request = request.clone(rel_url=request.rel_url.update_query(page="1"))
            elif fault.kind == "lose_answer":
                return await _lose_answer(request, handler, fault, counters, key)
        try:
            response = await handler(request)
        except web.HTTPException as exc:
            counters.record(key, exc.status)
            raise
        counters.record(key, response.status)
        return response

    return apply


async def _lose_answer(
    request: web.Request, handler: Handler, fault: Fault, counters: Counters, key: str
) -> web.StreamResponse:
    """Apply the request, then never deliver the answer."""
    try:
        response = await handler(request)
        status = response.status
    except web.HTTPException as exc:
        status = exc.status
    counters.record(key, status)
    if fault.seconds:
        await asyncio.sleep(fault.seconds)
    if request.transport is not None:
        request.transport.abort()
    raise ConnectionResetError("sandbox fault: answer lost after the request was applied")


def control_routes(faults: Faults, counters: Counters) -> list[web.RouteDef]:
    """``/_sandbox/faults`` and ``/_sandbox/counters`` for tests in another process."""

    async def get_faults(_request: web.Request) -> web.Response:
        return web.json_response(
            {"faults": faults.list(), "latency_seconds": faults.latency_seconds}
        )

    async def post_fault(request: web.Request) -> web.Response:
        body = await request.json()
        if "latency_seconds" in body:
            faults.latency_seconds = float(body.pop("latency_seconds"))
        fault = faults.add(**body) if body.get("kind") else None
        return web.json_response({"added": fault.public() if fault else None})

    async def delete_faults(_request: web.Request) -> web.Response:
        faults.clear()
        return web.json_response({"cleared": True})

    async def get_counters(_request: web.Request) -> web.Response:
        return web.json_response(counters.snapshot())

    async def delete_counters(_request: web.Request) -> web.Response:
        counters.reset()
        return web.json_response({"reset": True})

    return [
        web.get("/_sandbox/faults", get_faults),
        web.post("/_sandbox/faults", post_fault),
        web.delete("/_sandbox/faults", delete_faults),
        web.get("/_sandbox/counters", get_counters),
        web.delete("/_sandbox/counters", delete_counters),
    ]

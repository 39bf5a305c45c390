"""Serving the webhook receiver with bounds, so hostile or broken clients cannot starve Xero.

Xero gives a delivery five seconds. aiohttp on its own keeps an idle connection for an hour
(``keepalive_timeout`` 3630 s), waits for request headers and bodies without limit and accepts
any number of connections, so a few hundred idle or slow ("slowloris") sockets can hold every
file descriptor and delay a real delivery. :class:`ConnectionGuard` sits in front of aiohttp's
protocol: it closes a connection that has not delivered a request within
:attr:`ServerLimits.idle_seconds`, and at :attr:`ServerLimits.max_connections` it closes the
oldest idle connection to admit the new one (a connection whose request is being handled is
never closed). The handler bounds the body read itself (``body_seconds``, answered 408).
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ServerLimits:
    max_connections: int = 100
    idle_seconds: float = 10.0
    body_seconds: float = 10.0
    keepalive_seconds: float = 5.0
    sweep_seconds: float = 1.0


@dataclass
class _Connection:
    transport: asyncio.BaseTransport
    idle_since: float
    active: int = 0


class _GuardedProtocol(asyncio.Protocol):
    """aiohttp's request handler, with the guard told when the connection opens and closes."""

    def __init__(self, inner: Any, guard: ConnectionGuard) -> None:
        self._inner = inner
        self._guard = guard
        self._transport: asyncio.BaseTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport
        self._inner.connection_made(transport)
        self._guard.opened(transport)

    def connection_lost(self, exc: Exception | None) -> None:
        self._guard.closed(self._transport)
        self._inner.connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        self._inner.data_received(data)

    def eof_received(self) -> bool | None:
        return self._inner.eof_received()

    def pause_writing(self) -> None:
        self._inner.pause_writing()

    def resume_writing(self) -> None:
        self._inner.resume_writing()


@dataclass
class ConnectionGuard:
    limits: ServerLimits
    clock: Callable[[], float] = time.monotonic
    closed_idle: int = 0
    _open: dict[int, _Connection] = field(default_factory=dict)

    def protocol_factory(self, inner: Callable[[], Any]) -> Callable[[], asyncio.Protocol]:
        return lambda: _GuardedProtocol(inner(), self)

    def opened(self, transport: asyncio.BaseTransport) -> None:
        self._open[id(transport)] = _Connection(transport, self.clock())
        if len(self._open) > self.limits.max_connections:
            idle = [c for c in self._open.values() if not c.active and c.transport is not transport]
            victim = min(idle, key=lambda c: c.idle_since) if idle else self._open[id(transport)]
            self._close(victim)

    def closed(self, transport: asyncio.BaseTransport | None) -> None:
        if transport is not None:
            self._open.pop(id(transport), None)

    @property
    def open_connections(self) -> int:
        return len(self._open)

    @web.middleware
    async def middleware(
        self, request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        connection = self._open.get(id(request.transport))
        if connection is not None:
            connection.active += 1
        try:
            return await handler(request)
        finally:
            if connection is not None:
                connection.active -= 1
                connection.idle_since = self.clock()

    def sweep(self) -> None:
        """Close connections idle for longer than ``idle_seconds``."""
        limit = self.clock() - self.limits.idle_seconds
        for connection in list(self._open.values()):
            if not connection.active and connection.idle_since < limit:
                self._close(connection)

    def _close(self, connection: _Connection) -> None:
        self._open.pop(id(connection.transport), None)
        self.closed_idle += 1
        connection.transport.close()


@dataclass
class GuardedServer:
    url: str
    port: int
    guard: ConnectionGuard
    _loop: asyncio.AbstractEventLoop = field(repr=False)
    _thread: threading.Thread = field(repr=False)
    _stop: Callable[[], Awaitable[None]] = field(repr=False)

    def stop(self) -> None:
        if not self._thread.is_alive():
            return
        asyncio.run_coroutine_threadsafe(self._stop(), self._loop).result(timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)


def start_guarded(
    app: web.Application, guard: ConnectionGuard, *, host: str = "127.0.0.1", port: int = 0
) -> GuardedServer:
    """Serve ``app`` behind ``guard`` in a background thread; return once it listens."""
    loop = asyncio.new_event_loop()
    app.middlewares.insert(0, guard.middleware)
    runner = web.AppRunner(
        app,
        access_log=None,
        handle_signals=False,
        keepalive_timeout=guard.limits.keepalive_seconds,
    )
    ready = threading.Event()
    state: dict[str, Any] = {}

    async def start() -> None:
        await runner.setup()
        assert runner.server is not None
        server = await loop.create_server(
            guard.protocol_factory(runner.server), host, port, backlog=1024, reuse_address=True
        )
        state["server"] = server
        state["port"] = server.sockets[0].getsockname()[1]
        state["sweeper"] = loop.create_task(sweep_forever())

    async def sweep_forever() -> None:
        while True:
            await asyncio.sleep(guard.limits.sweep_seconds)
            guard.sweep()

    async def stop() -> None:
        state["sweeper"].cancel()
        state["server"].close()
        await runner.cleanup()

    def serve() -> None:
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(start())
        except BaseException as exc:  # surfaced to the caller below
            state["failure"] = exc
            ready.set()
            return
        ready.set()
        loop.run_forever()
        loop.close()

    thread = threading.Thread(target=serve, name=f"webhooks-{port}", daemon=True)
    thread.start()
    ready.wait(timeout=30)
    if "failure" in state:
        raise OSError(f"cannot listen on {host}:{port}: {state['failure']}")
    actual = int(state["port"])
    return GuardedServer(f"http://{host}:{actual}", actual, guard, loop, thread, stop)

"""Serve an aiohttp application on 127.0.0.1 in a background thread.

Used by the pytest fixtures (free port, in-process, per session), by `invoice-sync sandbox up`
and by `make sync` in sandbox mode. The server has its own event loop, so simulated latency
(`asyncio.sleep`) costs no thread and many requests can be in flight at once.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from dataclasses import dataclass, field

from aiohttp import web


@dataclass
class RunningServer:
    """A server started by :func:`start_in_thread`; ``url`` has no trailing slash."""

    url: str
    port: int
    _loop: asyncio.AbstractEventLoop = field(repr=False)
    _thread: threading.Thread = field(repr=False)
    _runner: web.AppRunner = field(repr=False)

    def stop(self) -> None:
        if not self._thread.is_alive():
            return
        future = asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop)
        future.result(timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)

    def __enter__(self) -> RunningServer:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_in_thread(app: web.Application, port: int = 0, host: str = "127.0.0.1") -> RunningServer:
    """Start ``app`` on ``host:port`` (0 = a free port) and return once it accepts connections."""
    loop = asyncio.new_event_loop()
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    started = threading.Event()
    failure: list[BaseException] = []
    bound: list[int] = []

    def serve() -> None:
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(runner.setup())
            site = web.TCPSite(runner, host, port, backlog=1024, reuse_address=True)
            loop.run_until_complete(site.start())
            server = site._server
            assert server is not None
            bound.append(server.sockets[0].getsockname()[1])
        except BaseException as exc:  # surfaced to the caller below
            failure.append(exc)
            started.set()
            return
        started.set()
        loop.run_forever()
        loop.close()

    thread = threading.Thread(target=serve, name=f"sandbox-{port}", daemon=True)
    thread.start()
    started.wait(timeout=30)
    if failure:
        raise RuntimeError(f"sandbox could not listen on {host}:{port}: {failure[0]}") from failure[
            0
        ]
    actual = bound[0]
    return RunningServer(f"http://{host}:{actual}", actual, loop, thread, runner)

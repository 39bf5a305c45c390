"""The harness's side of :mod:`benchmarks.serve`: start an emulator process, drive its routes."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import requests

REPO = Path(__file__).resolve().parent.parent


class EmulatorProcess:
    """An emulator served by ``python -m benchmarks.serve`` in a child process."""

    def __init__(self, api: str, *args: str, log_dir: Path, timeout: float = 600) -> None:
        self.api = api
        self._log = (log_dir / f"serve-{api}-{time.time_ns()}.log").open("w")
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "benchmarks.serve", api, *args],
            cwd=REPO,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._log,
            text=True,
        )
        assert self._proc.stdout is not None
        started = time.monotonic()
        line = self._proc.stdout.readline()
        if not line:
            self.stop()
            raise RuntimeError(
                f"the {api} emulator did not start (see {self._log.name}): "
                + Path(self._log.name).read_text()[-2000:]
            )
        self.info: dict[str, Any] = json.loads(line)
        self.url: str = self.info["url"]
        self.start_seconds = time.monotonic() - started
        self.http = requests.Session()

    @property
    def pid(self) -> int:
        return self._proc.pid

    def control(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        response = self.http.request(method, f"{self.url}{path}", json=body, timeout=600)
        response.raise_for_status()
        return response.json() if response.content else None

    def counters(self) -> dict[str, Any]:
        return self.control("GET", "/_sandbox/counters")

    def reset_counters(self) -> None:
        self.control("DELETE", "/_sandbox/counters")

    def set_latency(self, milliseconds: float) -> None:
        self.control("POST", "/_sandbox/faults", {"latency_seconds": milliseconds / 1000})

    def set_limits(self, **limits: Any) -> Any:
        return self.control("POST", "/_sandbox/bench/limits", limits)

    def stop(self) -> None:
        if self._proc.poll() is None:
            assert self._proc.stdin is not None
            try:
                self._proc.stdin.close()
                self._proc.wait(timeout=30)
            except (subprocess.TimeoutExpired, BrokenPipeError):
                self._proc.kill()
                self._proc.wait(timeout=10)
        self._log.close()

    def __enter__(self) -> EmulatorProcess:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()


def calls(counters: dict[str, Any], prefix: str = "", exclude: tuple[str, ...] = ()) -> int:
    """Requests in a counters snapshot whose route key starts with ``prefix``."""
    return sum(
        n
        for route, n in counters.get("by_route", {}).items()
        if route.startswith(prefix) and not any(route.startswith(e) for e in exclude)
    )


def status_count(counters: dict[str, Any], status: int) -> int:
    return int(counters.get("by_status", {}).get(str(status), 0))


def split_hubspot(counters: dict[str, Any]) -> dict[str, int]:
    """HubSpot calls in a snapshot: total, writes, reads (GET, search, batch read), 429s."""
    by_route = counters.get("by_route", {})
    reads = sum(
        n
        for route, n in by_route.items()
        if route.startswith("GET ") or route.endswith(("/search", "/batch/read"))
    )
    total = sum(by_route.values())
    return {
        "total": total,
        "reads": reads,
        "writes": total - reads,
        "429": status_count(counters, 429),
    }

"""Webhook latency: a signed Xero event POSTed → HubSpot shows the change, end to end over HTTP.

On the warehouse the other benchmarks synced (``sizes.invoices``, every record in its HubSpot
emulator), ``invoice-sync webhooks serve`` runs as its own process from the tree measured (this
checkout or the baseline worktree), with the environment contract and ``XERO_WEBHOOK_KEY``.
Each event, about one a second: change one approved sales invoice's reference in the Xero
emulator through its control route (``POST /_sandbox/invoices/{id}/edit``), POST a Xero
webhook payload for it signed as Xero signs (base64 HMAC-SHA256 of the raw body), then watch
the HubSpot emulator (an uncounted ``/_sandbox/bench/`` route, so watching spends none of the
portal's rate limit) until the record holds the new reference. Latency = from just before the
POST until the poll that first sees the new value (polls every ``POLL_SECONDS``).

Only HTTP touches the tool, so the same benchmark measures any version of the webhook path.
One untimed event first: the server's first batch pays its start-up costs once per process.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import math
import socket
import subprocess
import sys
import threading
import time
import tomllib
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import requests

from benchmarks.emulators import EmulatorProcess, split_hubspot
from benchmarks.harness import Harness
from benchmarks.results import BenchResult
from benchmarks.suite_tool import Shared, ensure_synced

WEBHOOK_KEY = "bench-webhook-key"
WEBHOOK_PATH = "/webhooks/xero"  # Xero posts where the app says; the tool serves this path
POLL_SECONDS = 0.1
START_TIMEOUT = 180.0


def sign(key: str, body: bytes) -> str:
    """``x-xero-signature``: base64(HMAC-SHA256(webhook key, raw body)), as Xero signs."""
    return base64.b64encode(hmac.new(key.encode(), body, hashlib.sha256).digest()).decode()


def event_payload(tenant_id: str, invoice_id: str, sequence: int) -> bytes:
    """One INVOICE UPDATE event, shaped as Xero delivers it."""
    now = datetime.now(UTC).replace(tzinfo=None).isoformat(timespec="milliseconds")
    event = {
        "resourceUrl": f"https://api.xero.com/api.xro/2.0/Invoices/{invoice_id}",
        "resourceId": invoice_id,
        "eventDateUtc": now,
        "eventType": "UPDATE",
        "eventCategory": "INVOICE",
        "tenantId": tenant_id,
        "tenantType": "ORGANISATION",
    }
    payload = {
        "events": [event],
        "firstEventSequence": sequence,
        "lastEventSequence": sequence,
        "entropy": uuid.uuid4().hex.upper()[:20],
    }
    return json.dumps(payload).encode()


def percentile(values: list[float], share: float) -> float | None:
    """Nearest-rank percentile (``share`` in 0..1); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(share * len(ordered)))
    return ordered[rank - 1]


def cli_command(tree: Path, *args: str) -> list[str]:
    """Run the tree's own ``invoice-sync`` entry point (read from its pyproject), so a tree
    whose CLI moved (e.g. ``reverse_etl.app.cli``) still runs its own code."""
    scripts = tomllib.loads((tree / "pyproject.toml").read_text())["project"]["scripts"]
    module, _, attr = scripts["invoice-sync"].partition(":")
    code = (
        f"import sys; from {module} import {attr} as app; "
        f"sys.argv = ['invoice-sync', *sys.argv[1:]]; app()"
    )
    return [sys.executable, "-c", code, *args]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Watcher:
    """Polls the HubSpot emulator for records that should now hold a new reference."""

    hubspot: EmulatorProcess
    object_name: str
    pending: dict[str, tuple[str, float]] = field(default_factory=dict)
    seen: dict[str, float] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _stop: threading.Event = field(default_factory=threading.Event)
    _http: requests.Session = field(default_factory=requests.Session)

    def expect(self, invoice_id: str, reference: str, posted_at: float) -> None:
        with self._lock:
            self.pending[invoice_id] = (reference, posted_at)

    def wait(self, invoice_ids: list[str], timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if all(i in self.seen for i in invoice_ids):
                    return True
            time.sleep(POLL_SECONDS)
        return False

    def run(self) -> None:
        while not self._stop.is_set():
            with self._lock:
                waiting = dict(self.pending)
            if waiting:
                try:
                    found = self._poll(list(waiting))
                except requests.RequestException:
                    self._stop.wait(POLL_SECONDS)
                    continue
                now = time.monotonic()
                with self._lock:
                    for invoice_id, (reference, posted_at) in waiting.items():
                        if found.get(invoice_id) == reference:
                            self.seen[invoice_id] = now - posted_at
                            self.pending.pop(invoice_id, None)
            self._stop.wait(POLL_SECONDS)

    def _poll(self, invoice_ids: list[str]) -> dict[str, str | None]:
        """One request to the emulator, on this thread's own session (a requests.Session is
        not safe to share with the thread driving the emulators)."""
        response = self._http.post(
            f"{self.hubspot.url}/_sandbox/bench/hubspot/values",
            json={"object": self.object_name, "property": "reference", "values": invoice_ids},
            timeout=10,
        )
        response.raise_for_status()
        return response.json()["found"]

    def stop(self) -> None:
        self._stop.set()


class WebhookServer:
    """``invoice-sync webhooks serve`` in its own process, from the tree measured."""

    def __init__(self, harness: Harness, env: dict[str, str]) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = harness.logs / f"webhooks-serve-{time.time_ns()}.log"
        self._log = self.log_path.open("w")
        command = cli_command(harness.code_root, "webhooks", "serve", "--port", str(self.port))
        self.proc = subprocess.Popen(
            command,
            cwd=harness.code_root,
            env=harness.code_env(env),
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        self.http = requests.Session()

    def wait_ready(self, timeout: float = START_TIMEOUT) -> float:
        began = time.monotonic()
        while time.monotonic() - began < timeout:
            if self.proc.poll() is not None:
                raise RuntimeError(f"webhooks serve exited {self.proc.returncode}: {self.tail()}")
            try:
                if self.http.get(f"{self.url}/healthz", timeout=2).status_code == 200:
                    return time.monotonic() - began
            except requests.RequestException:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"webhooks serve not ready after {timeout:.0f}s: {self.tail()}")

    def post(self, body: bytes) -> requests.Response:
        headers = {"Content-Type": "application/json", "x-xero-signature": sign(WEBHOOK_KEY, body)}
        return self.http.post(f"{self.url}{WEBHOOK_PATH}", data=body, headers=headers, timeout=10)

    def tail(self) -> str:
        if not self._log.closed:
            self._log.flush()
        return self.log_path.read_text()[-1500:]

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(2)  # SIGINT: the command's own Ctrl-C path stops the worker
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self._log.close()


def bench_webhook(harness: Harness, shared: Shared) -> BenchResult:
    sizes = harness.sizes
    events = sizes.webhook_events
    result = BenchResult(
        "webhook",
        f"Webhook: signed POST → visible in HubSpot, {sizes.invoices:,}-invoice warehouse",
    )
    world = ensure_synced(harness, shared)
    xero = shared.ensure_xero(harness)
    env = {k: v for k, v in world.env.items() if k != "XERO_CALLS_PER_MINUTE"}
    env["XERO_WEBHOOK_KEY"] = WEBHOOK_KEY
    object_name = env.get("HUBSPOT_OBJECT_NAME", "xero_invoice")
    chosen = xero.control("POST", "/_sandbox/bench/xero/pick", {"count": events + 1})["invoices"]
    if len(chosen) < events + 1:
        raise RuntimeError(f"only {len(chosen)} editable invoices for {events + 1} events")
    watcher = Watcher(world.hubspot, object_name)
    poller = threading.Thread(target=watcher.run, name="webhook-watcher", daemon=True)
    server = WebhookServer(harness, env)
    xero.set_limits(default=True)  # Xero's real limits, as in the hourly benchmark
    try:
        result.add("start_seconds", server.wait_ready(), "webhooks serve: ready after", "s")
        poller.start()
        warm = chosen[0]
        _send(xero, server, watcher, warm, sequence=1, tag="warm")
        if not watcher.wait([warm["invoice_id"]], sizes.webhook_drain_seconds):
            raise RuntimeError(f"the warm-up event never reached HubSpot: {server.tail()}")
        result.details["warmup_seconds"] = round(watcher.seen[warm["invoice_id"]], 2)
        world.hubspot.reset_counters()
        xero.reset_counters()
        began = time.monotonic()
        for n, invoice in enumerate(chosen[1:], start=2):
            due = began + (n - 2) * sizes.webhook_interval_seconds
            time.sleep(max(0.0, due - time.monotonic()))
            _send(xero, server, watcher, invoice, sequence=n, tag=f"e{n}")
        ids = [i["invoice_id"] for i in chosen[1:]]
        watcher.wait(ids, sizes.webhook_drain_seconds)
        sent_seconds = time.monotonic() - began
    finally:
        watcher.stop()
        server.stop()
        xero.set_limits(unlimited=True)
    _latency_metrics(result, [watcher.seen.get(i) for i in ids], sizes.webhook_drain_seconds)
    result.add(
        "events_per_second", events / sent_seconds, "Events sent and synced per second", "/s"
    )
    result.details["hubspot_calls"] = split_hubspot(world.hubspot.counters())
    result.details["server_log_tail"] = server.tail()[-600:]
    result.runs = 1
    result.notes.append(
        f"{events} events, one every {sizes.webhook_interval_seconds:g} s, each a reference edit "
        "of a different approved sales invoice; after one untimed warm-up event. Latency = just "
        f"before the signed POST → first poll (every {POLL_SECONDS:g} s) showing the new "
        "reference in the HubSpot emulator. Xero emulator at its real limits; HubSpot as for "
        "the push benchmark."
    )
    return result


def _send(
    xero: EmulatorProcess,
    server: WebhookServer,
    watcher: Watcher,
    invoice: dict[str, str],
    *,
    sequence: int,
    tag: str,
) -> None:
    reference = f"WH-{tag}-{uuid.uuid4().hex[:8]}"
    xero.control(
        "POST", f"/_sandbox/invoices/{invoice['invoice_id']}/edit", {"Reference": reference}
    )
    body = event_payload(invoice["tenant_id"], invoice["invoice_id"], sequence)
    posted_at = time.monotonic()
    watcher.expect(invoice["invoice_id"], reference, posted_at)
    response = server.post(body)
    if response.status_code != 200:
        raise RuntimeError(f"the receiver answered {response.status_code} to a signed event")


def _latency_metrics(result: BenchResult, latencies: list[float | None], drain: float) -> None:
    """p50/p95 over every event; one never seen counts as the drain timeout (a lower bound)."""
    missing = sum(1 for v in latencies if v is None)
    values = [drain if v is None else v for v in latencies]
    note = (
        f" ({missing} not visible within {drain:.0f} s: counted as {drain:.0f} s)"
        if missing
        else ""
    )
    for key, share in (("p50_seconds", 0.5), ("p95_seconds", 0.95)):
        label = f"POST → visible in HubSpot, p{round(share * 100)}{note}"
        result.add(key, percentile(values, share), label, "s")
    result.add("max_seconds", max(values, default=None), "POST → visible, max", "s")
    result.add("events_not_visible", missing, "Events not visible in HubSpot in time", "events")
    result.details["latencies_seconds"] = [None if v is None else round(v, 3) for v in latencies]

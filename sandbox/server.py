"""Run both emulators together: `invoice-sync sandbox up`, `make sync` in sandbox mode, demos.

State lives in ``<state_dir>/xero.json`` and ``<state_dir>/hubspot.json`` so the sandbox is
the same from one run to the next; the first start seeds deterministic demo data.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import requests
from rich.console import Console

from sandbox.credentials import (
    SANDBOX_HUBSPOT_TOKEN,
    SANDBOX_WEBHOOK_KEY,
    SANDBOX_XERO_CLIENT_ID,
    SANDBOX_XERO_CLIENT_SECRET,
)
from sandbox.demo_crm import seed_demo_crm
from sandbox.hubspot import HubSpotEmulator
from sandbox.runner import RunningServer, start_in_thread
from sandbox.xero import XeroEmulator

log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass
class SandboxHandle:
    """The emulators started by :func:`start_sandbox` (either may be None if already running)."""

    state_dir: Path
    xero: XeroEmulator | None
    hubspot: HubSpotEmulator | None
    xero_server: RunningServer | None
    hubspot_server: RunningServer | None

    def save(self) -> None:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        if self.xero is not None:
            self.xero.save(self.state_dir / "xero.json")
        if self.hubspot is not None:
            self.hubspot.save(self.state_dir / "hubspot.json")

    def stop(self) -> None:
        """Stop serving, then save, so no request lands after the state was written."""
        for server in (self.xero_server, self.hubspot_server):
            if server is not None:
                server.stop()
        self.save()


def start_sandbox(
    *,
    xero_port: int | None,
    hubspot_port: int | None,
    state_dir: Path,
    invoices: int = 500,
    seed: int = 7,
    latency_ms: int = 0,
    hubspot_numbered_paths: bool = True,
    xero_tier: str | None = None,
) -> SandboxHandle:
    """Start the emulators whose port is given (0 = any free port), loading or seeding state.

    ``hubspot_numbered_paths=False``: the HubSpot emulator answers 404 on the numbered API
    paths (``/crm/v3/…``), as HubSpot will once they are retired (September 2027).
    ``xero_tier`` sets the Xero day limit (``starter``, ``standard``, … or a number of calls;
    see :mod:`sandbox.xero.limits`)."""
    xero = hubspot = None
    xero_server = hubspot_server = None
    fresh_xero = False
    xero_file, hubspot_file = state_dir / "xero.json", state_dir / "hubspot.json"
    if xero_port is not None:
        xero = _load_or_none(XeroEmulator.load, xero_file)
        if xero is None:
            xero = XeroEmulator()
            xero.seed_demo(invoices=invoices, seed=seed)
            fresh_xero = True
        xero.faults.latency_seconds = latency_ms / 1000
        if xero_tier is not None:
            xero.limits = xero.limits.updated({"tier": xero_tier})
        xero_server = start_in_thread(xero.app(), xero_port)
    if hubspot_port is not None:
        hubspot = _load_or_none(HubSpotEmulator.load, hubspot_file)
        if hubspot is None:
            hubspot = HubSpotEmulator()
            if fresh_xero and xero is not None:  # a sales team's CRM beside the demo books
                seed_demo_crm(xero, hubspot)
        hubspot.faults.latency_seconds = latency_ms / 1000
        hubspot.numbered_paths = hubspot_numbered_paths
        hubspot_server = start_in_thread(hubspot.app(), hubspot_port)
    handle = SandboxHandle(state_dir, xero, hubspot, xero_server, hubspot_server)
    handle.save()
    return handle


def _load_or_none(load: Callable[[Path], T], path: Path) -> T | None:
    """The saved emulator, or None when there is none or it cannot be read (an older state
    format, a truncated file): the sandbox is demo data, so it starts afresh and keeps the
    unreadable file beside it rather than failing every command."""
    if not path.exists():
        return None
    try:
        return load(path)
    except (ValueError, OSError, KeyError, TypeError) as exc:
        aside = path.with_name(path.name + ".unreadable")
        path.replace(aside)
        log.warning(
            "Sandbox state %s could not be read (%s); starting with fresh demo data "
            "(the old file is kept as %s).",
            path,
            exc,
            aside,
        )
        return None


def sandbox_environment(xero_url: str, hubspot_url: str) -> dict[str, str]:
    """The variables that point the tool at these emulators as if they were live systems."""
    return {
        "XERO_BASE_URL": xero_url,
        "XERO_IDENTITY_URL": xero_url,
        "XERO_CLIENT_ID": SANDBOX_XERO_CLIENT_ID,
        "XERO_CLIENT_SECRET": SANDBOX_XERO_CLIENT_SECRET,
        "XERO_WEBHOOK_KEY": SANDBOX_WEBHOOK_KEY,
        "HUBSPOT_BASE_URL": hubspot_url,
        "HUBSPOT_ACCESS_TOKEN": SANDBOX_HUBSPOT_TOKEN,
    }


def serve_forever(
    *,
    xero_port: int,
    hubspot_port: int,
    invoices: int,
    seed: int,
    state_dir: Path,
    latency_ms: int,
    console: Console,
    hubspot_numbered_paths: bool = True,
    xero_tier: str | None = None,
) -> None:
    """`invoice-sync sandbox up`: serve until Ctrl-C / SIGTERM, then save the state."""
    handle = start_sandbox(
        hubspot_numbered_paths=hubspot_numbered_paths,
        xero_port=xero_port,
        hubspot_port=hubspot_port,
        state_dir=state_dir,
        invoices=invoices,
        seed=seed,
        latency_ms=latency_ms,
        xero_tier=xero_tier,
    )
    assert handle.xero_server is not None and handle.hubspot_server is not None
    console.print(
        f"Xero emulator on {handle.xero_server.url}, HubSpot emulator on "
        f"{handle.hubspot_server.url}; state in {state_dir}.",
        highlight=False,
    )
    console.print(
        "With no credentials set, invoice-sync uses these automatically. To use them as if they "
        "were live systems instead, export:",
        highlight=False,
    )
    for name, value in sandbox_environment(
        handle.xero_server.url, handle.hubspot_server.url
    ).items():
        console.print(f"export {name}={value}", highlight=False, soft_wrap=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    finally:
        handle.stop()
        console.print("Sandbox stopped; state saved.", highlight=False)


def post_activity(xero_url: str, *, hours: float) -> str:
    """Ask a running Xero emulator to simulate ``hours`` of business; describe what changed."""
    try:
        response = requests.post(
            f"{xero_url.rstrip('/')}/_sandbox/activity", json={"hours": hours}, timeout=60
        )
    except requests.RequestException as exc:
        return f"No Xero emulator answers at {xero_url} ({exc}). Start one with `make sandbox`."
    response.raise_for_status()
    counts = response.json()
    return "Simulated activity: " + ", ".join(f"{k} {v}" for k, v in counts.items())

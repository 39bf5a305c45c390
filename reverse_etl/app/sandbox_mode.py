"""Sandbox mode: run against the local emulators when no credentials are set.

`make sync` must work on a fresh clone with no account anywhere. In sandbox mode the commands
use the emulators at the sandbox URLs; if nothing answers there (no `make sandbox` running),
they start both emulators in this process for the duration of the command, with their state
kept under ``<state_dir>/sandbox`` so consecutive runs see the same Xero and HubSpot data —
a second `make sync` with no changes in between writes nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlparse

import requests

from reverse_etl.core.settings import Settings

log = logging.getLogger(__name__)

DEMO_INVOICES = 500


def _answers(base_url: str) -> bool:
    try:
        return requests.get(f"{base_url}/_sandbox/counters", timeout=0.5).status_code == 200
    except requests.RequestException:
        return False


def _port(url: str) -> int:
    parsed = urlparse(url)
    if parsed.hostname not in ("127.0.0.1", "localhost") or parsed.port is None:
        raise ValueError(f"sandbox URL must be on loopback with a port: {url}")
    return parsed.port


@contextmanager
def sandbox_if_needed(settings: Settings) -> Iterator[None]:
    """In sandbox mode, make sure both emulators answer for the duration of the block."""
    if not settings.sandbox:
        yield
        return
    xero_up = _answers(settings.xero.base_url)
    hubspot_up = _answers(settings.hubspot.base_url)
    if xero_up and hubspot_up:
        log.info("Using the running sandbox emulators.")
        yield
        return
    # start-up time: the emulators (aiohttp, the demo data) load only when they must start
    from sandbox.server import start_sandbox

    handle = start_sandbox(
        xero_port=None if xero_up else _port(settings.xero.base_url),
        hubspot_port=None if hubspot_up else _port(settings.hubspot.base_url),
        state_dir=settings.state_dir / "sandbox",
        invoices=DEMO_INVOICES,
    )
    log.info("Started the sandbox emulators in-process (state in %s).", handle.state_dir)
    try:
        yield
    finally:
        handle.stop()

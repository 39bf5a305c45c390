"""`make demo`: sync, simulate an hour of business in the Xero emulator, sync again.

Shows a change travelling end to end: the second sync writes only what the hour changed and
alerts (to ALERT_URLS, or the log) name each invoice whose payment status moved. Runs only in
sandbox mode — it mutates Xero.
"""

from __future__ import annotations

import logging
import sys

from rich.console import Console

from reverse_etl.app.sandbox_mode import sandbox_if_needed
from reverse_etl.app.sync import run_sync_once
from reverse_etl.core.errors import InvoiceSyncError
from reverse_etl.core.settings import load_settings
from sandbox.server import post_activity


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    console = Console(markup=False, highlight=False)
    try:
        settings = load_settings()
        if not settings.sandbox:
            console.print(
                "make demo mutates Xero, so it runs only in sandbox mode: unset the "
                "XERO_* and HUBSPOT_* credentials first.",
                highlight=False,
            )
            return 1
        console.print(settings.mode_line, highlight=False)
        with sandbox_if_needed(settings):
            console.rule("1. Sync what Xero holds now")
            run_sync_once(settings, console=console)
            console.rule("2. An hour of business in Xero")
            console.print(post_activity(settings.xero.base_url, hours=1.0), highlight=False)
            console.rule("3. Sync again: only the changes are written")
            run_sync_once(settings, console=console)
    except InvoiceSyncError as exc:
        console.print(f"{type(exc).__name__}: {exc}", highlight=False)
        return exc.exit_code
    return 0


if __name__ == "__main__":
    sys.exit(main())

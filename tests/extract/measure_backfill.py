"""Measure the Xero backfill: invoices/s end to end (HTTP → parse → dlt → DuckDB file).

``python -m tests.extract.measure_backfill --invoices 50000 --tenants 2 --page-size 1000``

The emulator runs in its own process with rate limits off (as a remote API would, it does not
share our CPU's GIL); the extract runs here exactly as ``invoice-sync extract`` runs it. Prints
one JSON line: invoices, seconds, invoices/s, Xero calls, CPU seconds of this process.
Not a test: nothing is asserted (DESIGN.md: speed is measured, not asserted).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import resource
import tempfile
import time
from pathlib import Path


def _serve(invoices: int, tenants: int, ready: multiprocessing.Queue, stop: object) -> None:
    from sandbox.runner import start_in_thread
    from sandbox.xero import XeroEmulator
    from sandbox.xero.limits import XeroLimits

    emulator = XeroEmulator(limits=XeroLimits.unlimited())
    emulator.seed_demo(invoices, tenants=tenants)
    server = start_in_thread(emulator.app())
    ready.put(server.url)
    stop.wait()  # type: ignore[attr-defined]
    server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--invoices", type=int, default=50_000)
    parser.add_argument("--tenants", type=int, default=2)
    parser.add_argument("--page-size", type=int, default=1000)
    args = parser.parse_args()

    context = multiprocessing.get_context("spawn")
    ready: multiprocessing.Queue = context.Queue()
    stop = context.Event()
    server = context.Process(target=_serve, args=(args.invoices, args.tenants, ready, stop))
    server.start()
    url = ready.get(timeout=600)
    try:
        from pipelines.run import run_xero_extract
        from reverse_etl.core.settings import (
            SANDBOX_HUBSPOT_TOKEN,
            SANDBOX_XERO_CLIENT_ID,
            SANDBOX_XERO_CLIENT_SECRET,
            load_settings,
        )

        with tempfile.TemporaryDirectory() as tmp:
            settings = load_settings(
                {
                    "XERO_BASE_URL": url,
                    "XERO_IDENTITY_URL": url,
                    "XERO_CLIENT_ID": SANDBOX_XERO_CLIENT_ID,
                    "XERO_CLIENT_SECRET": SANDBOX_XERO_CLIENT_SECRET,
                    "HUBSPOT_ACCESS_TOKEN": SANDBOX_HUBSPOT_TOKEN,
                    "WAREHOUSE_PATH": str(Path(tmp) / "invoices.duckdb"),
                    "XERO_PAGE_SIZE": str(args.page_size),
                    "XERO_CALLS_PER_MINUTE": "10000",
                },
                dotenv_path=None,
            )
            cpu_before = os.times()
            started = time.perf_counter()
            report = run_xero_extract(settings)
            seconds = time.perf_counter() - started
            cpu_after = os.times()
            size_mb = (Path(tmp) / "invoices.duckdb").stat().st_size / 1e6
    finally:
        stop.set()
        server.join(timeout=30)
    cpu = (cpu_after.user - cpu_before.user) + (cpu_after.system - cpu_before.system)
    cpu_children = (cpu_after.children_user - cpu_before.children_user) + (
        cpu_after.children_system - cpu_before.children_system
    )
    print(
        json.dumps(
            {
                "invoices": report.invoices_loaded,
                "seconds": round(seconds, 2),
                "invoices_per_second": round(report.invoices_loaded / seconds),
                "xero_calls": report.xero_calls,
                "finance_calls": report.finance_calls,
                "finance_rows": report.finance_rows,
                "token_calls": report.token_calls,
                "connections_calls": report.connections_calls,
                "cpu_seconds": round(cpu, 2),
                "cpu_seconds_children": round(cpu_children, 2),
                "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
                "warehouse_mb": round(size_mb, 1),
                "step_seconds": report.step_seconds,
                "load_average": os.getloadavg()[0],
            }
        )
    )


if __name__ == "__main__":
    main()

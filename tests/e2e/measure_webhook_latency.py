"""Measure (not assert) webhook latency: signed POST → the batch naming the invoice has pushed.

    .venv/bin/python -m tests.e2e.measure_webhook_latency --invoices 500 --events 50 --rate 1

Starts both emulators in this process on free ports, seeds ``--invoices`` invoices, runs one
`sync` (the warehouse the webhooks land on), then starts the webhook server and worker as
`invoice-sync webhooks serve` does (the dbt project parsed before the first event). Every
``1/rate`` seconds it pays one approved sales invoice in the Xero emulator and POSTs the
signed event; an invoice's latency runs from just before its POST until the batch that named
it returned (HubSpot had answered the write). Prints one JSON line: p50, p95, max, batch sizes,
and each batch's wall and CPU seconds (CPU is less sensitive to a busy machine; it includes
the emulators' share); then the median seconds per stage from ``sync_log.runs``.

To measure another tree (e.g. an export of an older commit) with the same script, run it with
``PYTHONPATH=<that tree>``: only ``reverse_etl.webhooks.receiver``,
``reverse_etl.app.webhook_batch`` and ``reverse_etl.app.sync`` are used.
A benchmark with the emulators in their own processes belongs in ``benchmarks/``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import duckdb

from reverse_etl.app.sync import run_sync_once
from reverse_etl.app.webhook_batch import sync_invoices
from reverse_etl.core.settings import (
    SANDBOX_HUBSPOT_TOKEN,
    SANDBOX_XERO_CLIENT_ID,
    SANDBOX_XERO_CLIENT_SECRET,
    load_settings,
)
from reverse_etl.webhooks import receiver as webhooks
from sandbox.hubspot import HubSpotEmulator
from sandbox.runner import start_in_thread
from sandbox.xero import XeroEmulator


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--invoices", type=int, default=500)
    parser.add_argument("--events", type=int, default=50)
    parser.add_argument("--rate", type=float, default=1.0, help="events per second")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="webhook-latency-"))
    os.chdir(root)
    os.environ.update(
        {
            "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
            "RUNTIME__DLTHUB_TELEMETRY": "false",
            "WAREHOUSE_PATH": str(root / "invoices.duckdb"),
            "ANALYTICS_PATH": str(root / "analytics.duckdb"),
            "INVOICE_SYNC_STATE_DIR": str(root / "state"),
            "XERO_WEBHOOK_KEY": "latency-key",
        }
    )
    xero, hubspot = XeroEmulator(), HubSpotEmulator(numbered_paths=False, seed=11)
    xero_server, hubspot_server = start_in_thread(xero.app()), start_in_thread(hubspot.app())
    os.environ.update(
        {
            "XERO_BASE_URL": xero_server.url,
            "XERO_IDENTITY_URL": xero_server.url,
            "XERO_CLIENT_ID": SANDBOX_XERO_CLIENT_ID,
            "XERO_CLIENT_SECRET": SANDBOX_XERO_CLIENT_SECRET,
            "HUBSPOT_BASE_URL": hubspot_server.url,
            "HUBSPOT_ACCESS_TOKEN": SANDBOX_HUBSPOT_TOKEN,
        }
    )
    (tenant,) = xero.seed_demo(invoices=args.invoices, seed=11, tenants=1)
    settings = load_settings(dotenv_path=None)
    started = time.monotonic()
    run_sync_once(settings, progress=False)
    print(f"first sync: {time.monotonic() - started:.1f}s", file=sys.stderr)
    chosen = sorted(
        i.invoice_id
        for i in xero.invoices(tenant)
        if i.type == "ACCREC" and i.status == "AUTHORISED"
    )[: args.events]
    sent: dict[str, float] = {}
    done: dict[str, float] = {}
    batches: list[tuple[int, float, float]] = []

    def timed(batch_settings: Any, ids: list[str]) -> object:
        wall, cpu = time.monotonic(), time.process_time()
        try:
            return sync_invoices(batch_settings, ids)
        finally:
            now = time.monotonic()
            batches.append((len(ids), now - wall, time.process_time() - cpu))
            for invoice_id in ids:
                done.setdefault(invoice_id, now)

    warm_up = getattr(getattr(webhooks, "FAST_PATH", None), "prepare", None)
    if warm_up is not None:  # the server parses the project when it starts
        warm_up(settings)
    worker = webhooks.WebhookWorker(settings, sync=timed)
    server = start_in_thread(webhooks.build_app(settings, worker))
    xero.configure_webhooks(server.url + webhooks.WEBHOOK_PATH, settings.xero.webhook_key)
    worker.start()
    start = time.monotonic()
    for k, invoice_id in enumerate(chosen):
        time.sleep(max(0.0, start + k / args.rate - time.monotonic()))
        xero.pay(invoice_id)
        sent[invoice_id] = time.monotonic()
        xero.flush_webhooks()
    idle = worker.wait_idle(1800)
    server.stop()
    worker.stop()
    latencies = sorted(done[i] - sent[i] for i in chosen if i in done)
    statuses = {
        r["properties"]["xero_invoice_id"]: r["properties"].get("status")
        for r in hubspot.records("xero_invoice")
    }
    print(
        json.dumps(
            {
                "invoices": args.invoices,
                "events": len(chosen),
                "rate_per_s": args.rate,
                "idle": idle,
                "p50_s": round(statistics.median(latencies), 2),
                "p95_s": round(statistics.quantiles(latencies, n=20, method="inclusive")[18], 2),
                "max_s": round(latencies[-1], 2),
                "batch_sizes": [b[0] for b in batches],
                "batch_seconds_median": round(statistics.median(b[1] for b in batches), 2),
                "batch_cpu_seconds_median": round(statistics.median(b[2] for b in batches), 2),
                "not_paid_in_hubspot": [i for i in chosen if statuses.get(i) != "PAID"],
                "failures": worker.failures,
                "load_average": [round(x, 1) for x in os.getloadavg()],
            }
        )
    )
    print(f"stage medians: {_stage_medians(settings.warehouse_path)}")


def _stage_medians(warehouse: Path) -> dict[str, float]:
    """Median seconds per stage of the webhook runs (``sync_log.runs``, command webhook)."""
    try:
        with duckdb.connect(str(warehouse), read_only=True) as con:
            rows = con.execute(
                "select stage_seconds from sync_log.runs where command = 'webhook'"
            ).fetchall()
    except duckdb.Error:
        return {}
    stages: dict[str, list[float]] = {}
    for (text,) in rows:
        for name, seconds in json.loads(text).items():
            stages.setdefault(name, []).append(seconds)
    return {name: round(statistics.median(values), 2) for name, values in stages.items()}


if __name__ == "__main__":
    main()

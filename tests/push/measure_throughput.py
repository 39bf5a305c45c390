"""Measure (not assert) push throughput against the HubSpot emulator over real HTTP.

    .venv/bin/python -m tests.push.measure_throughput --records 10000 --latency 0.1 --limit 190

Starts an emulator in a child process (so it does not share the GIL with the push) with
HubSpot's Professional limit (190 requests per rolling 10 s) and the given simulated latency,
creates the object, writes N INSERT actions into a
temp DuckDB warehouse and times ``run_push`` with the real clock. Prints one JSON line:
records/s, the fraction of the ceiling (limit/10 s x 100 records per batch), calls per record,
429s seen. Note: a run of fewer than ``limit`` batches fits in one window, so it is bound by
latency and in-flight batches, not by the limit; use more records to see the sustained rate.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import tempfile
import threading
import time
from pathlib import Path

import requests

from reverse_etl.core.settings import load_settings
from reverse_etl.hubspot.client import HubSpot, RateLimiter
from reverse_etl.push.invoices import run_push
from reverse_etl.push.schema import ensure_schema
from sandbox.hubspot import HubSpotEmulator
from sandbox.hubspot.limits import HubSpotLimits
from sandbox.runner import start_in_thread
from tests.push.conftest import inserts, write_actions


def _serve(limit: int, urls: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    emulator = HubSpotEmulator(limits=HubSpotLimits(requests_per_window=limit, daily=None))
    server = start_in_thread(emulator.app())
    urls.put(server.url)
    threading.Event().wait()


def measure(records: int, latency: float, limit: int, in_flight: int) -> dict[str, object]:
    urls: multiprocessing.Queue[str] = multiprocessing.Queue()
    child = multiprocessing.Process(target=_serve, args=(limit, urls), daemon=True)
    child.start()
    try:
        url = urls.get(timeout=60)
        control = requests.Session()
        work = Path(tempfile.mkdtemp(prefix="push-bench-"))
        settings = load_settings(
            env={
                "HUBSPOT_BASE_URL": url,
                "WAREHOUSE_PATH": str(work / "warehouse.duckdb"),
                "HUBSPOT_REQUESTS_PER_10S": str(limit),
                "HUBSPOT_MAX_IN_FLIGHT": str(in_flight),
            },
            dotenv_path=None,
        )
        ensure_schema(settings, client=HubSpot(settings.hubspot, limiter=RateLimiter(limit)))
        write_actions(settings.warehouse_path, inserts(range(1, records + 1)))
        control.post(f"{url}/_sandbox/faults", json={"latency_seconds": latency}, timeout=10)
        control.post(f"{url}/_sandbox/limits", json={"requests_per_window": limit}, timeout=10)
        control.delete(f"{url}/_sandbox/counters", timeout=10)
        client = HubSpot(settings.hubspot, limiter=RateLimiter(limit))
        started, cpu_started = time.perf_counter(), time.process_time()
        report = run_push(settings, client=client)
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu_started
        name = settings.hubspot.object_name
        stored = len(control.get(f"{url}/_sandbox/records/{name}", timeout=60).json()["results"])
        counters = control.get(f"{url}/_sandbox/counters", timeout=10).json()
        ceiling = limit / 10.0 * 100
        rate = report.inserted / seconds
        return {
            "records": records,
            "stored_in_hubspot": stored,
            "seconds": round(seconds, 2),
            "records_per_second": round(rate, 1),
            "ceiling_records_per_second": ceiling,
            "fraction_of_ceiling": round(rate / ceiling, 3),
            "hubspot_calls": report.hubspot_calls,
            "calls_per_record": round(report.hubspot_calls / records, 4),
            "http_429": counters["by_status"].get("429", 0),
            "push_cpu_seconds": round(cpu, 2),
            "latency_seconds": latency,
            "limit_per_10s": limit,
            "max_in_flight": in_flight,
        }
    finally:
        child.terminate()
        child.join(10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=10_000)
    parser.add_argument("--latency", type=float, default=0.1)
    parser.add_argument("--limit", type=int, default=190)
    parser.add_argument("--in-flight", type=int, default=8)
    args = parser.parse_args()
    print(json.dumps(measure(args.records, args.latency, args.limit, args.in_flight)))


if __name__ == "__main__":
    main()

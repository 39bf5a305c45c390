"""Run one measured stage in this (fresh) process and print its measurements as JSON.

``python -m benchmarks.stage extract|transform|setup|push|publish|sync|naive-push|reexport``. The
harness sets the environment contract (``XERO_BASE_URL``, ``HUBSPOT_BASE_URL``,
``WAREHOUSE_PATH``, …) so the real stage functions run exactly as `invoice-sync` runs them,
against the emulators in their own processes. The last line of stdout is
``{"stage", "seconds", "cpu_seconds", "peak_rss_mb", "children_peak_rss_mb", "report"}``:
``seconds`` is the stage function alone (imports and interpreter start excluded; ``cpu_seconds``
its CPU time in this process, less sensitive to a busy machine), peak RSS is this process's own
high-water mark (``getrusage``), and the children's for anything the stage spawned.
"""

from __future__ import annotations

import argparse
import functools
import inspect
import json
import logging
import resource
import sys
import time
from collections.abc import Callable
from typing import Any

from reverse_etl.core.settings import Settings, load_settings


def _plain(report: Any) -> dict[str, Any]:
    """A report's simple public attributes (counts, flags) and its summary line."""
    if report is None:
        return {}
    if isinstance(report, dict):
        return report
    out: dict[str, Any] = {}
    names = set(getattr(report, "__dict__", {})) | {
        n for n in dir(type(report)) if isinstance(getattr(type(report), n, None), property)
    }
    for name in sorted(names):
        if name.startswith("_"):
            continue
        try:
            value = getattr(report, name)
        except Exception:  # a property that needs more than the report holds
            continue
        simple = isinstance(value, bool | int | float | str) or value is None
        flat_dict = isinstance(value, dict) and all(
            isinstance(v, int | float | str) for v in value.values()
        )
        if simple or flat_dict:
            out[name] = value
    summary = getattr(report, "summary", None)
    if callable(summary):
        try:
            out["summary"] = summary()
        except Exception as exc:
            out["summary"] = f"(summary failed: {exc})"
    return out


def _work(name: str, settings: Settings, args: argparse.Namespace) -> Callable[[], Any]:
    if name == "extract":
        from pipelines.run import run_extract

        return lambda: run_extract(settings, full_refresh=args.full_refresh)
    if name == "transform":
        from reverse_etl.transform import run_transform

        options: dict[str, Any] = {"dbt_vars": json.loads(args.dbt_vars) if args.dbt_vars else None}
        if args.full_refresh and "full_refresh" in inspect.signature(run_transform).parameters:
            options["full_refresh"] = True  # a tree whose transform has the flag (issue 19 on)
        return lambda: run_transform(settings, **options)
    if name == "setup":
        from reverse_etl.push.schema import ensure_schema

        return lambda: ensure_schema(settings)
    if name == "push":
        from reverse_etl.push.invoices import run_push

        return lambda: run_push(settings)
    if name == "sync":
        from rich.console import Console

        from reverse_etl import transform
        from reverse_etl.app.sync import run_sync_once

        if args.dbt_vars:  # the same dbt vars as the separate transform stage (read at call)
            transform.run_transform = functools.partial(
                transform.run_transform, dbt_vars=json.loads(args.dbt_vars)
            )

        console = Console(file=sys.stderr)
        return lambda: _sync(run_sync_once(settings, console=console))
    if name == "publish":
        from pipelines.xero_cursors import xero_cursors  # imports dlt, as the sync has by then
        from reverse_etl.analysts.publish import RunOutcome, publish_analytics

        return lambda: publish_analytics(
            settings, RunOutcome(None, "benchmark", xero_cursors=tuple(xero_cursors(settings)))
        )
    if name == "naive-push":
        from benchmarks.peers.hubspot_clients import naive_push

        hub = settings.hubspot
        return lambda: naive_push(
            hub.base_url, hub.access_token, hub.object_name, settings.warehouse_path, args.limit
        )
    if name == "reexport":
        from benchmarks.peers.hubspot_clients import full_reexport

        hub = settings.hubspot
        return lambda: full_reexport(
            hub.base_url, hub.access_token, hub.object_name, settings.warehouse_path
        )
    raise SystemExit(f"unknown stage {name}")


def _sync(report: Any) -> dict[str, Any]:
    return {
        "stage_seconds": dict(report.stage_seconds),
        "extract": _plain(report.extract),
        "transform": _plain(report.transform),
        "push": _plain(report.push),
        "publish": _plain(report.publish),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Run one stage and print its measurements.")
    parser.add_argument("stage")
    parser.add_argument(
        "--full-refresh", action="store_true", help="extract, sync; transform where supported"
    )
    parser.add_argument("--limit", type=int, default=1000, help="naive-push: records")
    parser.add_argument("--dbt-vars", help="transform: dbt vars as JSON")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    settings = load_settings(dotenv_path=None)
    work = _work(args.stage, settings, args)
    started, cpu = time.perf_counter(), time.process_time()
    report = work()
    seconds = time.perf_counter() - started
    cpu_seconds = time.process_time() - cpu
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    line = {
        "stage": args.stage,
        "seconds": seconds,
        "cpu_seconds": cpu_seconds,
        "peak_rss_mb": round(own, 1),
        "children_peak_rss_mb": round(children, 1),
        "report": _plain(report),
    }
    sys.stdout.write("\n" + json.dumps(line, default=str) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

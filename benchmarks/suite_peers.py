"""Side by side: what users would otherwise run, on the same emulators and data, same run.

- ``naive``: the plain ``hubspot-api-client`` SDK, one create (then update on 409) per record;
- ``reexport``: a full batch-upsert of every invoice each hour, no diff;
- ``tap-xero``: the Singer tap-xero 2.6.0 extractor for the backfill, in its own virtualenv
  under ``benchmarks/.peers/`` (created on first use with the ordinary pip client).
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks.emulators import calls, split_hubspot
from benchmarks.harness import Harness, error_text
from benchmarks.results import BenchResult
from benchmarks.suite_tool import (
    XERO_INVOICES_ROUTE,
    Shared,
    ensure_synced,
    ensure_transformed,
)

PEERS = Path(__file__).resolve().parent / ".peers"
TAP_XERO_VENV = PEERS / "tap-xero"
TAP_XERO_REQUIREMENTS = ("tap-xero==2.6.0", "six")  # the tap imports six without declaring it
WRAPPER = Path(__file__).resolve().parent / "peers" / "tap_xero_wrapper.py"


def bench_naive(harness: Harness, shared: Shared) -> BenchResult:
    sizes = harness.sizes
    result = BenchResult(
        "naive", "Naive per-record client (hubspot-api-client, no diff, no batching)"
    )
    source = ensure_transformed(harness, shared)
    hubspot = harness.hubspot()
    try:
        env = {**source.env, "HUBSPOT_BASE_URL": hubspot.url}
        harness.stage("setup", env)
        for kind, limit in (("create", sizes.naive_creates), ("update", sizes.naive_updates)):
            hubspot.reset_counters()
            out = harness.stage("naive-push", env, "--limit", str(limit), timeout=1800)
            report, hub = out["report"], split_hubspot(hubspot.counters())
            records = report["records"]
            result.add(
                f"{kind}_records_per_second",
                records / report["push_seconds"],
                f"{kind.capitalize()} pass: records/s",
                "records/s",
            )
            result.add(
                f"{kind}_calls_per_record",
                hub["total"] / records if records else None,
                f"{kind.capitalize()} pass: HubSpot calls per record",
                "calls",
            )
            result.add(f"{kind}_records", records, f"{kind.capitalize()} pass: records", "records")
            result.add(f"{kind}_429s", hub["429"], f"{kind.capitalize()} pass: 429s", "responses")
            result.details[f"{kind}_report"] = report
            result.details[f"{kind}_hubspot_calls"] = hub
        # Without a diff, every mirrored invoice is written every hour, and each one that
        # exists costs what the update pass measured (create → 409 → update).
        mirrored = int(result.details["update_report"].get("desired_total") or sizes.invoices)
        per_record = result.metrics["update_calls_per_record"].median or 2.0
        rate = result.metrics["update_records_per_second"].median
        result.add(
            "hourly_calls_extrapolated",
            mirrored * per_record,
            f"HubSpot calls per hourly run, {mirrored:,} mirrored invoices (extrapolated)",
            "calls",
        )
        if rate:
            result.add(
                "hourly_run_hours_extrapolated",
                mirrored / rate / 3600,
                f"Hours one such run takes for {mirrored:,} invoices (extrapolated)",
                "h",
            )
        result.runs = 1
        result.notes.append(
            "Measured on a subset (creates on a fresh portal, then updates of records that "
            "exist: create → 409 → update by xero_invoice_id); one pass each, sequential."
        )
    finally:
        harness.stop(hubspot)
    return result


def bench_reexport(harness: Harness, shared: Shared) -> BenchResult:
    sizes = harness.sizes
    result = BenchResult("reexport", "Full re-export every hour (batch upsert of every invoice)")
    world = ensure_synced(harness, shared)
    world.hubspot.reset_counters()
    out = harness.stage("reexport", world.env, timeout=3600)
    report, hub = out["report"], split_hubspot(world.hubspot.counters())
    result.add("hourly_hubspot_calls", hub["total"], "HubSpot calls per hourly run", "calls")
    result.add("seconds", report["push_seconds"], "Wall time of one run", "s")
    result.add("records", report["records"], "Records sent", "records")
    result.add("429s", hub["429"], "429s received", "responses")
    result.details["report"] = report
    result.details["hubspot_calls"] = hub
    result.runs = 1
    result.notes.append(
        "2 concurrent batch upserts of 100 (about the rate limit at this latency), urllib3 "
        "retries on 429; every invoice is "
        f"written each run, at {sizes.invoices:,} invoices."
    )
    return result


# -- tap-xero --------------------------------------------------------------------------------
def tap_xero_python(harness: Harness) -> Path:
    """The tap's interpreter, creating its virtualenv the first time (pip, its own pins)."""
    python = TAP_XERO_VENV / "bin" / "python"
    if python.exists():
        probe = subprocess.run([str(python), "-c", "import tap_xero, six"], capture_output=True)
        if probe.returncode == 0:
            return python
    harness.log("  installing tap-xero 2.6.0 into benchmarks/.peers/tap-xero")
    PEERS.mkdir(exist_ok=True)
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(TAP_XERO_VENV)], check=True)
    subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", *TAP_XERO_REQUIREMENTS],
        check=True,
        capture_output=True,
        timeout=600,
    )
    return python


def tap_xero_version(python: Path) -> dict[str, str]:
    code = (
        "import json, importlib.metadata as m;"
        "print(json.dumps({p: m.version(p) for p in ('tap-xero', 'singer-python', 'requests')}))"
    )
    out = subprocess.run([str(python), "-c", code], capture_output=True, text=True)
    return json.loads(out.stdout) if out.returncode == 0 else {}


def bench_tap_xero(harness: Harness, shared: Shared) -> BenchResult:
    sizes = harness.sizes
    result = BenchResult("tap-xero", f"Singer tap-xero 2.6.0 backfill, {sizes.invoices:,} invoices")
    try:
        python = tap_xero_python(harness)
    except (subprocess.SubprocessError, OSError) as exc:
        output = getattr(exc, "stderr", None) or b""
        detail = output.decode(errors="replace")[-400:] if isinstance(output, bytes) else output
        result.status = "blocked"
        result.reason = f"could not install tap-xero: {error_text(exc)} {detail}".strip()
        return result
    result.details["versions"] = tap_xero_version(python)
    xero = shared.ensure_xero(harness)
    xero.set_limits(unlimited=True)
    work = harness.workdir("tap-xero")
    catalog = work / "catalog.json"
    subprocess.run([str(python), str(WRAPPER), "catalog", str(catalog)], check=True)
    for run in harness.runs("tap-xero"):
        harness.log(f"  tap-xero run {run + 1}/{sizes.runs}")
        client = xero.control("POST", "/_sandbox/bench/xero/tap-client")
        xero.reset_counters()
        seconds = records = 0.0
        peak = 0.0
        started = time.perf_counter()
        for tenant in client["tenant_ids"]:  # the tap syncs one organisation per config
            config = work / "config.json"
            config.write_text(
                json.dumps(
                    {
                        "client_id": client["client_id"],
                        "client_secret": client["client_secret"],
                        "refresh_token": client["refresh_token"],
                        "tenant_id": tenant,
                        "start_date": "2000-01-01T00:00:00Z",
                    }
                )
            )
            out = _run_wrapper(harness, python, xero.url, config, catalog, work)
            seconds += out["seconds"]
            records += out["records"]
            peak = max(peak, out["peak_rss_mb"])
            client["refresh_token"] = json.loads(config.read_text())["refresh_token"]  # rotated
        wall = time.perf_counter() - started
        counters = xero.counters()
        result.add(
            "invoices_per_second", records / seconds, "Invoices extracted per second", "invoices/s"
        )
        result.add("seconds", seconds, "Tap wall time (sum over organisations)", "s")
        result.add("process_seconds", wall, "Including interpreter start", "s")
        result.add("peak_rss_mb", peak, "Tap peak RSS", "MB")
        result.add("xero_calls", calls(counters), "Xero calls (all routes)", "calls")
        result.add(
            "xero_invoice_calls",
            calls(counters, XERO_INVOICES_ROUTE),
            "Xero Invoices calls",
            "calls",
        )
        result.add("records", records, "Invoice records emitted", "records")
        result.runs += 1
    result.notes.append(
        "Run through benchmarks/peers/tap_xero_wrapper.py, which sets tap_xero.client.BASE_URL "
        "and redirects the token URL; catalog built offline (discovery calls /Currencies). "
        "The tap only emits Singer messages (to a file here): no loading into a warehouse, "
        "so its numbers flatter it. It reads 100 invoices a page (Xero's default)."
    )
    return result


def _run_wrapper(
    harness: Harness, python: Path, url: str, config: Path, catalog: Path, work: Path
) -> dict[str, Any]:
    log_path = harness.logs / f"tap-xero-{time.time_ns()}.log"
    with log_path.open("w") as log:
        proc = subprocess.run(
            [
                *(str(python), str(WRAPPER), "sync", "--xero-url", url),
                *("--config", str(config), "--catalog", str(catalog)),
                *("--out", str(work / "messages.jsonl")),
            ],
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
            timeout=3600,
        )
    if proc.returncode != 0:
        raise RuntimeError(f"tap-xero exited {proc.returncode}: {log_path.read_text()[-800:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])

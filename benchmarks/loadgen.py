"""Raw request throughput of an emulator (limits off): many concurrent GETs for a few seconds.

``python -m benchmarks.loadgen xero URL --seconds 5 --concurrency 16`` prints one JSON line.
The client is aiohttp in its own process, so it is not the emulator's GIL that it measures
against; on a 2-core machine client and server share the CPU, so the number is a floor.
Routes: Xero ``GET /connections`` (the lightest authenticated call) and a 1,000-invoice
``GET /Invoices`` page; HubSpot ``GET /crm/v3/schemas``.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import sys
import time
from typing import Any

import aiohttp

from reverse_etl.core.settings import (
    SANDBOX_HUBSPOT_TOKEN,
    SANDBOX_XERO_CLIENT_ID,
    SANDBOX_XERO_CLIENT_SECRET,
)


async def _xero_token(session: aiohttp.ClientSession, url: str) -> tuple[str, str]:
    basic = base64.b64encode(f"{SANDBOX_XERO_CLIENT_ID}:{SANDBOX_XERO_CLIENT_SECRET}".encode())
    async with session.post(
        f"{url}/connect/token",
        data={"grant_type": "client_credentials"},
        headers={"Authorization": "Basic " + basic.decode()},
    ) as response:
        response.raise_for_status()
        token = (await response.json())["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    async with session.get(f"{url}/connections", headers=headers) as response:
        tenant = (await response.json())[0]["tenantId"]
    return token, tenant


async def _hammer(
    session: aiohttp.ClientSession,
    url: str,
    headers: dict[str, str],
    seconds: float,
    concurrency: int,
) -> dict[str, Any]:
    done = errors = 0
    deadline = time.perf_counter() + seconds

    async def worker() -> None:
        nonlocal done, errors
        while time.perf_counter() < deadline:
            async with session.get(url, headers=headers) as response:
                await response.read()
                if response.status == 200:
                    done += 1
                else:
                    errors += 1

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.perf_counter() - started
    return {"requests": done, "errors": errors, "seconds": elapsed, "per_second": done / elapsed}


async def run(api: str, base: str, seconds: float, concurrency: int) -> dict[str, Any]:
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:
        out: dict[str, Any] = {}
        if api == "xero":
            token, tenant = await _xero_token(session, base)
            headers = {"Authorization": f"Bearer {token}", "Xero-tenant-id": tenant}
            out["simple"] = await _hammer(
                session, f"{base}/connections", headers, seconds, concurrency
            )
            page = await _hammer(
                session,
                f"{base}/api.xro/2.0/Invoices?page=1&pageSize=1000",
                {**headers, "Accept": "application/json"},
                seconds,
                max(2, concurrency // 4),
            )
            page["invoices_per_second"] = page["per_second"] * 1000
            out["invoice_pages"] = page
        else:
            headers = {"Authorization": f"Bearer {SANDBOX_HUBSPOT_TOKEN}"}
            out["simple"] = await _hammer(
                session, f"{base}/crm/v3/schemas", headers, seconds, concurrency
            )
        return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Emulator raw throughput.")
    parser.add_argument("api", choices=("xero", "hubspot"))
    parser.add_argument("url")
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args(argv)
    result = asyncio.run(run(args.api, args.url.rstrip("/"), args.seconds, args.concurrency))
    sys.stdout.write(json.dumps(result) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

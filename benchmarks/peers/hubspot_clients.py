"""What a user would otherwise write to push invoices to HubSpot, for the side-by-side runs.

Both read the same rows our push reads (``reverse_etl.hubspot_invoices_desired``, built by
our dbt project) and write through the plain ``hubspot-api-client`` SDK, pointed at the
emulator with ``hubspot.Client.create(access_token=..., host=...)``:

- :func:`naive_push`: one call per record, in a loop, no diff and no batching — ``create``,
  and on a 409 (the unique ``xero_invoice_id`` exists) ``update`` by that id property. This
  is the code in most blog posts and forum answers.
- :func:`full_reexport`: what spreadsheet connectors do every hour: batch-upsert every
  invoice (100 a call), whether it changed or not; urllib3 retries 429s with backoff.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import duckdb
import hubspot
from hubspot.crm.objects import (
    ApiException,
    BatchInputSimplePublicObjectBatchInputUpsert,
    SimplePublicObjectBatchInputUpsert,
    SimplePublicObjectInput,
    SimplePublicObjectInputForCreate,
)
from urllib3.util.retry import Retry

DESIRED = "reverse_etl.hubspot_invoices_desired"


def desired_rows(warehouse: Path, limit: int | None) -> list[dict[str, str]]:
    """Rows to mirror, as HubSpot property dicts (nulls left out), in a stable order."""
    sql = f"select * from {DESIRED} order by xero_invoice_id"
    if limit is not None:
        sql += f" limit {int(limit)}"
    with duckdb.connect(str(warehouse), read_only=True) as con:
        cursor = con.execute(sql)
        names = [d[0] for d in cursor.description]
        rows = cursor.fetchall()
    return [
        {name: str(value) for name, value in zip(names, row, strict=True) if value is not None}
        for row in rows
    ]


def object_type_id(client: Any, object_name: str) -> str:
    for schema in client.crm.schemas.core_api.get_all().results:
        if schema.name == object_name:
            return str(schema.object_type_id)
    raise RuntimeError(f"no HubSpot custom object named {object_name}: run the setup first")


def naive_push(
    base_url: str, token: str, object_name: str, warehouse: Path, limit: int
) -> dict[str, Any]:
    """Create-or-update each record with its own calls; count what happened."""
    client = hubspot.Client.create(access_token=token, host=base_url)
    object_type = object_type_id(client, object_name)
    basic = client.crm.objects.basic_api  # one ApiClient, kept (the SDK builds one per access)
    rows = desired_rows(warehouse, limit)
    created = updated = failed = calls = 0
    started = time.perf_counter()
    for props in rows:
        calls += 1
        try:
            basic.create(object_type, SimplePublicObjectInputForCreate(properties=props))
            created += 1
            continue
        except ApiException as exc:
            if exc.status != 409:
                failed += 1
                continue
        calls += 1
        try:
            basic.update(
                object_type,
                props["xero_invoice_id"],
                SimplePublicObjectInput(properties=props),
                id_property="xero_invoice_id",
            )
            updated += 1
        except ApiException:
            failed += 1
    seconds = time.perf_counter() - started
    with duckdb.connect(str(warehouse), read_only=True) as con:
        (desired_total,) = con.execute(f"select count(*) from {DESIRED}").fetchone() or (0,)
    return {
        "records": len(rows),
        "desired_total": desired_total,
        "created": created,
        "updated": updated,
        "failed": failed,
        "client_calls": calls,
        "push_seconds": seconds,
    }


def full_reexport(
    base_url: str, token: str, object_name: str, warehouse: Path, workers: int = 2
) -> dict[str, Any]:
    """Batch-upsert every desired row (100 a call), as an hourly full re-export does."""
    retry = Retry(
        total=8,
        backoff_factor=0.5,
        status_forcelist=(429, 500, 502, 503, 504),
        allowed_methods=None,
        respect_retry_after_header=True,
        raise_on_status=False,
    )
    client = hubspot.Client.create(access_token=token, host=base_url, retry=retry)
    object_type = object_type_id(client, object_name)
    batch = client.crm.objects.batch_api
    rows = desired_rows(warehouse, None)
    chunks = [rows[i : i + 100] for i in range(0, len(rows), 100)]

    def send(chunk: list[dict[str, str]]) -> int:
        inputs = [
            SimplePublicObjectBatchInputUpsert(
                id=props["xero_invoice_id"], id_property="xero_invoice_id", properties=props
            )
            for props in chunk
        ]
        try:
            batch.upsert(object_type, BatchInputSimplePublicObjectBatchInputUpsert(inputs=inputs))
            return 0
        except ApiException:
            return len(chunk)

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=workers) as pool:
        failed = sum(pool.map(send, chunks))
    seconds = time.perf_counter() - started
    return {
        "records": len(rows),
        "failed": failed,
        "batches": len(chunks),
        "push_seconds": seconds,
    }

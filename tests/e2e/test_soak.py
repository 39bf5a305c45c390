"""Soak: the unattended loops survive an hour of injected faults, compressed into minutes.

`sync --every 10m` runs seven real ticks, an hour (Xero emulator → dlt → DuckDB → dbt → push
→ HubSpot emulator), on an injected clock, so waiting costs nothing; between ticks the test
changes Xero and switches faults on and off: a busy warehouse (another process holds the
DuckDB file), 5xx storms on both APIs, a HubSpot outage longer than the retries, a poisoned
record HubSpot rejects. The webhook server gets the same treatment through real signed
deliveries and a flood of idle connections. At the end both must still be syncing, HubSpot
must match Xero, and health must tell the truth.
"""

from __future__ import annotations

import io
import json
import socket

import pytest
import requests
from rich.console import Console

from reverse_etl.app.sync import run_sync_command
from reverse_etl.app.webhook_batch import sync_invoices
from reverse_etl.core.health import LoopHealth
from reverse_etl.core.settings import load_settings
from reverse_etl.webhooks.receiver import WEBHOOK_PATH, WebhookWorker, build_app
from reverse_etl.webhooks.server import ConnectionGuard, ServerLimits, start_guarded
from tests.e2e.faults_helpers import WarehouseHolder
from tests.e2e.test_sync import assert_hubspot_matches_xero, expected_ids

# ~2 minutes each on an idle machine; the per-test timeout leaves room for a loaded CI box.
pytestmark = [pytest.mark.e2e, pytest.mark.soak, pytest.mark.timeout(1200)]
INTERVAL = 600.0


def _authorised(world) -> list[str]:
    return sorted(
        i.invoice_id
        for i in world.xero.emulator.invoices(world.tenant_id)
        if i.type == "ACCREC" and i.status == "AUTHORISED"
    )


def _new_invoice(world, number: str | None = None) -> str:
    fields = {"invoice_number": number} if number else {}
    return world.xero.emulator.create_invoice(
        world.tenant_id,
        contact_name="Soak Test Ltd",
        status="AUTHORISED",
        line_items=[{"Description": "Work", "Quantity": 2, "UnitAmount": 75}],
        **fields,
    )["InvoiceID"]


def test_sync_every_survives_an_hour_of_faults_and_still_syncs(world, caplog):
    holder = WarehouseHolder(world.warehouse)
    hub, xero = world.hubspot.emulator, world.xero.emulator
    poisoned_number = "INV-POISON-[/1]"
    state: dict = {"tick": 1, "now": 0.0, "backoffs": 0}

    def before_tick(tick: int) -> None:
        """What the hour brings before each tick (tick 1 is a plain first sync)."""
        world.xero.clock.advance(minutes=10)
        hub.faults.clear()
        xero.faults.clear()
        if tick == 2:  # a 5xx storm on both sides, absorbed by the retries
            xero.pay(_authorised(world)[0])
            hub.faults.add(
                "status", status=503, path_prefix="/crm/objects/2026-09", times=None, every=2
            )
            xero.faults.add("status", status=502, path_prefix="/api.xro", times=3)
        elif tick == 3:  # the warehouse is held by another process for the whole tick
            xero.pay(_authorised(world)[0])
            holder.hold()
        elif tick == 4:  # still held at the start; released during the back-off; and a
            # poisoned record beside ordinary changes
            state["poisoned"] = _new_invoice(world, poisoned_number)
            hub.reject_value("invoice_number", poisoned_number, "Sandbox rejects [/1] numbers")
            xero.pay(_authorised(world)[0])
        elif tick == 5:  # HubSpot down for longer than the push's retries
            xero.activity(hours=0.2, seed=tick)
            hub.faults.add("status", status=503, path_prefix="/crm/objects/2026-09", times=None)
        elif tick == 6:  # the source is corrected: HubSpot accepts the record again
            hub.clear_rejections()
            xero.activity(hours=0.2, seed=tick)
            _new_invoice(world)

    def sleep(seconds: float) -> None:
        state["now"] += seconds
        if seconds >= INTERVAL / 2:  # the wait between ticks
            state["tick"] += 1
            before_tick(state["tick"])
        else:  # a back-off of a busy tick
            state["backoffs"] += 1
            if state["tick"] == 4:
                holder.release()

    settings = load_settings(dotenv_path=None)
    health = LoopHealth()
    console = Console(file=io.StringIO(), width=200)
    try:
        with caplog.at_level("WARNING"):
            run_sync_command(
                settings,
                every="10m",
                console=console,
                max_runs=7,
                sleep=sleep,
                clock=lambda: state["now"],
                health=health,
            )
    finally:
        holder.release()
        hub.faults.clear()
        xero.faults.clear()

    assert state["tick"] == 7, "every tick of the hour ran"
    assert health.failures == 2  # tick 3 (busy throughout) and tick 5 (HubSpot down)
    assert health.successes == 5 and health.consecutive_failures == 0
    assert state["backoffs"] == 4 + 1  # tick 3: all four; tick 4: one, then it ran
    errors = [r.getMessage() for r in caplog.records if r.levelname == "ERROR"]
    assert any("WarehouseBusyError" in e for e in errors), errors
    assert any("HubSpot" in e for e in errors), errors
    assert all("\n" not in e for e in errors)
    rejected = world.query(
        "select distinct xero_invoice_id from sync_log.record_results where outcome = 'rejected'"
    )
    assert rejected == [(state["poisoned"],)]  # named, and the only one held back
    assert set(world.hubspot_by_invoice()) == expected_ids(world)
    assert_hubspot_matches_xero(world)
    assert "[extract]" in console.file.getvalue()


def _deliver(url: str, key: str, invoice_ids: list[str], tenant: str) -> int:
    """A signed delivery, the way Xero sends it; returns the status code."""
    import base64
    import hashlib
    import hmac

    body = json.dumps(
        {
            "events": [
                {"eventCategory": "INVOICE", "eventType": "UPDATE", "tenantId": tenant,
                 "resourceId": invoice_id}
                for invoice_id in invoice_ids
            ],
            "firstEventSequence": 1,
            "lastEventSequence": 1,
            "entropy": "SOAK",
        }
    ).encode()  # fmt: skip
    signature = base64.b64encode(hmac.new(key.encode(), body, hashlib.sha256).digest()).decode()
    answer = requests.post(url, data=body, headers={"x-xero-signature": signature}, timeout=5)
    return answer.status_code


def test_webhook_server_survives_an_hour_of_faults_and_still_syncs(world, monkeypatch, caplog):
    from typer.testing import CliRunner

    from reverse_etl.app.cli import app

    monkeypatch.setenv("XERO_WEBHOOK_KEY", "soak-key")
    assert CliRunner().invoke(app, ["sync"]).exit_code == 0
    settings = load_settings(dotenv_path=None)
    holder = WarehouseHolder(world.warehouse)
    hub, xero = world.hubspot.emulator, world.xero.emulator
    waits: list[float] = []

    def sleep(seconds: float) -> None:  # the worker's busy wait, on no real clock
        waits.append(seconds)
        if len(waits) == 2:
            holder.release()

    limits = ServerLimits(max_connections=50, idle_seconds=1.0, body_seconds=1.0)
    worker = WebhookWorker(
        settings,
        sync=sync_invoices,
        debounce_seconds=0.05,
        retry_seconds=30,
        busy_retries=3,
        sleep=sleep,
    )
    worker.start()
    server = start_guarded(build_app(settings, worker, limits), ConnectionGuard(limits))
    url = server.url + WEBHOOK_PATH
    health_url = server.url + "/healthz"
    idle = [socket.create_connection(("127.0.0.1", server.port)) for _ in range(120)]
    touched: set[str] = set()

    def change_and_deliver(invoice_id: str) -> None:
        world.xero.clock.advance(minutes=5)
        xero.pay(invoice_id)
        touched.add(invoice_id)
        assert _deliver(url, "soak-key", [invoice_id], world.tenant_id) == 200
        assert worker.wait_idle(120)

    try:
        # 1. the warehouse is busy; the worker waits (twice), then the batch runs
        holder.hold()
        change_and_deliver(_authorised(world)[0])
        assert worker.health.successes == 1 and len(waits) == 2
        # 2. a 5xx storm on both APIs, absorbed by the retries
        hub.faults.add(
            "status", status=503, path_prefix="/crm/objects/2026-09", times=None, every=2
        )
        xero.faults.add("status", status=502, path_prefix="/api.xro", times=2)
        change_and_deliver(_authorised(world)[0])
        hub.faults.clear()
        xero.faults.clear()
        assert worker.health.successes == 2
        # 3. a poisoned record: named in the log, set aside; data to fix, not a broken
        # worker, so the batch counts as synced (as `sync --every` counts it)
        poisoned = _new_invoice(world, "INV-[/poison]")
        hub.reject_value("invoice_number", "INV-[/poison]", "no [/poison] please")
        with caplog.at_level("WARNING", logger="reverse_etl.webhooks.receiver"):
            assert _deliver(url, "soak-key", [poisoned], world.tenant_id) == 200
            assert worker.wait_idle(120)
        assert "INV-[/poison]" in caplog.text
        assert worker.health.successes == 3 and worker.health.failures == 0
        # 4. an outage past the retries (two batches), then a busy warehouse past the
        # worker's patience: three failures in a row
        hub.faults.add("status", status=503, path_prefix="/crm/objects/2026-09", times=None)
        change_and_deliver(_authorised(world)[0])
        change_and_deliver(_authorised(world)[0])
        hub.faults.clear()
        holder.hold()
        waits.clear()
        waits.extend([0.0, 0.0, 0.0])  # the holder is not released this time
        change_and_deliver(_authorised(world)[0])
        holder.release()
        unhealthy = requests.get(health_url, timeout=5)
        assert unhealthy.status_code == 503 and unhealthy.json()["consecutive_failures"] == 3
        # 5. garbage on the wire: forged, non-ASCII, arrays, slow bodies — all answered
        forged = requests.post(
            url, data=b"[1,2]", headers={"x-xero-signature": "\u00e9"}, timeout=5
        )
        assert forged.status_code == 401
        # 6. the source is corrected and everything catches up with ordinary deliveries
        hub.clear_rejections()
        final = _authorised(world)[0]
        world.xero.clock.advance(minutes=5)
        xero.pay(final)
        touched.add(final)
        assert _deliver(url, "soak-key", [*sorted(touched), poisoned], world.tenant_id) == 200
        assert worker.wait_idle(120)
        healthy = requests.get(health_url, timeout=5)
    finally:
        for sock in idle:
            sock.close()
        holder.release()
        hub.faults.clear()
        xero.faults.clear()
        server.stop()
        worker.stop()

    assert healthy.status_code == 200, healthy.json()
    assert healthy.json()["worker_alive"] is True
    assert worker.health.failures == 3  # two batches in the outage, busy past patience
    assert server.guard.closed_idle >= 70  # the idle connections did not pile up
    assert_hubspot_matches_xero(world, touched | {poisoned})

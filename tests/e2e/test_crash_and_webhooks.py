"""A sync killed mid-push, then rerun; and near-real-time sync from Xero webhooks."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from typer.testing import CliRunner

from reverse_etl.app.cli import app
from reverse_etl.app.webhook_batch import sync_invoices
from reverse_etl.core.settings import load_settings
from reverse_etl.webhooks.receiver import WEBHOOK_PATH, WebhookWorker, build_app
from sandbox.runner import start_in_thread
from tests.e2e.conftest import both_engines, make_world
from tests.e2e.test_sync import assert_hubspot_matches_xero, expected_ids

UPSERT_ROUTE = "POST /crm/objects/2026-09/{objectType}/batch/upsert"


@both_engines()
def test_sync_killed_mid_push_then_rerun_loses_and_duplicates_nothing(
    xero_sandbox, hubspot_sandbox, warehouse_path, warehouse_url, monkeypatch, tmp_path
):
    world = make_world(
        xero_sandbox,
        hubspot_sandbox,
        warehouse_path,
        monkeypatch,
        invoices=1500,
        seed=5,
        warehouse_url=warehouse_url,
    )
    expected = expected_ids(world)
    assert len(expected) > 400  # several batches of 100
    hubspot_sandbox.emulator.faults.latency_seconds = 0.4  # slow HubSpot: time to kill mid-push
    env = {**os.environ, **world.env, "HUBSPOT_MAX_IN_FLIGHT": "1"}
    process = subprocess.Popen(
        [sys.executable, "-m", "reverse_etl.app.cli", "sync"],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 180
    while hubspot_sandbox.emulator.counters.by_route[UPSERT_ROUTE] < 2:
        assert process.poll() is None, process.stdout.read().decode()
        assert time.monotonic() < deadline, "the push never started"
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    partial = world.hubspot_by_invoice()
    assert 0 < len(partial) < len(expected), "the kill should land in the middle of the push"

    hubspot_sandbox.emulator.faults.latency_seconds = 0
    result = CliRunner().invoke(app, ["sync"])
    assert result.exit_code == 0, result.output
    assert set(world.hubspot_by_invoice()) == expected
    assert_hubspot_matches_xero(world)  # also asserts one record per invoice
    statuses = [row[0] for row in world.query("select status from sync_log.runs")]
    assert "success" in statuses


def test_webhook_event_syncs_the_paid_invoice(world, monkeypatch):
    monkeypatch.setenv("XERO_WEBHOOK_KEY", "e2e-webhook-key")
    assert CliRunner().invoke(app, ["sync"]).exit_code == 0
    settings = load_settings(dotenv_path=None)
    worker = WebhookWorker(settings, sync=sync_invoices, debounce_seconds=0.2)
    worker.start()
    server = start_in_thread(build_app(settings, worker))
    try:
        world.xero.emulator.configure_webhooks(server.url + WEBHOOK_PATH, settings.xero.webhook_key)
        assert world.xero.emulator.send_intent_to_receive() == (200, 401)
        invoice_id = sorted(
            i.invoice_id
            for i in world.xero.emulator.invoices(world.tenant_id)
            if i.type == "ACCREC" and i.status == "AUTHORISED"
        )[0]
        world.xero.clock.advance(minutes=5)
        world.xero.emulator.pay(invoice_id)
        world.hubspot.emulator.counters.reset()
        world.xero.emulator.flush_webhooks()
        assert worker.wait_idle(180)
        # the batch held the warehouse open while it ran; between batches another process
        # (the hourly job) can open it for writing
        reopen = "import duckdb, sys; duckdb.connect(sys.argv[1]).close()"
        opened = subprocess.run(
            [sys.executable, "-c", reopen, str(world.warehouse)],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert opened.returncode == 0, opened.stderr
    finally:
        server.stop()
        worker.stop()
    assert worker.failures == []
    assert world.hubspot_by_invoice()[invoice_id]["properties"]["status"] == "PAID"
    assert world.hubspot_writes() == 1  # one batch, holding only that invoice

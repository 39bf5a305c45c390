"""Alerts after a push: a json:// receiver on 127.0.0.1 gets one message per run."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from reverse_etl.core.settings import Settings
from reverse_etl.push.invoices import run_push
from sandbox.runner import free_port
from tests.fixtures.hubspot import HubSpotSandbox
from tests.push.conftest import (
    inserts,
    invoice,
    make_client,
    query,
    write_actions,
    write_status_changes,
)

OBJECT = "xero_invoice"


class Receiver:
    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []
        received = self.messages

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                received.append(json.loads(self.rfile.read(length)))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *_args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"json://127.0.0.1:{self.server.server_port}/alerts"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    yield server
    server.close()


def _change(n: int, previous: str, new: str) -> dict[str, Any]:
    row = invoice(n)
    return {
        "xero_invoice_id": row["xero_invoice_id"],
        "invoice_number": row["invoice_number"],
        "contact_name": row["contact_name"],
        "currency_code": "NZD",
        "total": "1234.50",
        "previous_status": previous,
        "new_status": new,
        "xero_updated_at": "2026-11-24T10:00:00Z",
    }


def _paid_state(sandbox: HubSpotSandbox, settings: Settings, warehouse: Path) -> None:
    """Three invoices in HubSpot; invoices 1 and 2 paid in Xero since, 3 paid but rejected."""
    write_actions(warehouse, inserts([1, 2, 3]))
    run_push(settings, client=make_client(settings))
    ids = {r["properties"]["xero_invoice_id"]: r["id"] for r in sandbox.emulator.records(OBJECT)}
    updates = []
    for n in (1, 2, 3):
        row = invoice(n, status="PAID", amount_due="0", reference="BAD" if n == 3 else None)
        updates.append(
            {
                **row,
                "action": "UPDATE",
                "hs_object_id": ids[row["xero_invoice_id"]],
                "changed_properties": ["status", "amount_due", "reference"],
            }
        )
    write_actions(warehouse, updates)
    write_status_changes(warehouse, [_change(n, "AUTHORISED", "PAID") for n in (1, 2, 3)])
    sandbox.emulator.reject_value("reference", "BAD")


def test_status_changes_alerted_once_to_a_json_target(
    hubspot_sandbox: HubSpotSandbox, settings: Settings, receiver: Receiver
) -> None:
    settings = replace(settings, alert_urls=(receiver.url,))
    _paid_state(hubspot_sandbox, settings, settings.warehouse_path)
    receiver.messages.clear()  # the first push announced the 3 new invoices

    report = run_push(settings, client=make_client(settings))

    assert report.updated == 2 and report.rejected == 1
    assert len(receiver.messages) == 1
    message = receiver.messages[0]
    assert set(message) >= {"version", "title", "message", "type"}
    body = message["message"]
    assert "INV-00001 (Customer 1, 1,234.50 NZD): AUTHORISED → PAID" in body
    assert "INV-00002" in body
    assert "INV-00003" not in body  # rejected: not written, not alerted
    assert query(
        settings.warehouse_path,
        "select xero_invoice_id, new_status from sync_log.alerted_status_changes order by 1",
    ) == [(invoice(1)["xero_invoice_id"], "PAID"), (invoice(2)["xero_invoice_id"], "PAID")]

    again = run_push(settings, client=make_client(settings))  # same state pushed again

    assert again.updated == 2
    assert len(receiver.messages) == 1  # no duplicate alert


def test_first_push_announces_created_invoices(
    hubspot_sandbox: HubSpotSandbox, settings: Settings, receiver: Receiver
) -> None:
    settings = replace(settings, alert_urls=(receiver.url,))
    write_actions(settings.warehouse_path, inserts(range(1, 6)))

    run_push(settings, client=make_client(settings))

    assert len(receiver.messages) == 1
    assert "5 invoice(s) created" in receiver.messages[0]["title"]


def test_a_failing_target_does_not_fail_the_push(
    hubspot_sandbox: HubSpotSandbox,
    settings: Settings,
    receiver: Receiver,
    caplog: pytest.LogCaptureFixture,
) -> None:
    dead = f"json://127.0.0.1:{free_port()}/secret-token"
    settings = replace(settings, alert_urls=(dead, receiver.url))
    write_actions(settings.warehouse_path, inserts(range(1, 4)))

    with caplog.at_level(logging.DEBUG):  # even at DEBUG, no secret reaches the log
        report = run_push(settings, client=make_client(settings))

    assert report.status == "success" and report.alerts_failed == 1
    assert len(receiver.messages) == 1
    warnings = [r.getMessage() for r in caplog.records if r.name == "reverse_etl.push.alerts"]
    assert any("json://****" in w for w in warnings)
    assert not any("secret-token" in r.getMessage() for r in caplog.records)


def test_without_alert_urls_the_message_goes_to_the_log(
    hubspot_sandbox: HubSpotSandbox, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    _paid_state(hubspot_sandbox, settings, settings.warehouse_path)

    with caplog.at_level(logging.INFO, logger="reverse_etl.push.alerts"):
        run_push(settings, client=make_client(settings))

    logged = "\n".join(
        r.getMessage() for r in caplog.records if r.name == "reverse_etl.push.alerts"
    )
    assert "INV-00002 (Customer 2, 1,234.50 NZD): AUTHORISED → PAID" in logged


def test_changes_no_target_took_are_sent_by_the_next_run(
    hubspot_sandbox: HubSpotSandbox, settings: Settings, receiver: Receiver
) -> None:
    down = replace(settings, alert_urls=(f"json://127.0.0.1:{free_port()}/hook",))
    _paid_state(hubspot_sandbox, down, down.warehouse_path)
    report = run_push(down, client=make_client(down))
    assert report.updated == 2 and report.alerts_failed == 1

    # The next transform sees HubSpot up to date: the written changes leave the model.
    write_actions(settings.warehouse_path, [])
    write_status_changes(settings.warehouse_path, [])
    up = replace(settings, alert_urls=(receiver.url,))
    run_push(up, client=make_client(up))

    assert len(receiver.messages) == 1
    body = receiver.messages[0]["message"]
    assert "INV-00001 (Customer 1, 1,234.50 NZD): AUTHORISED → PAID" in body
    assert "INV-00002" in body
    assert "INV-00003" not in body  # rejected, never written: its change was never due

    run_push(up, client=make_client(up))
    assert len(receiver.messages) == 1  # delivered once, then not again

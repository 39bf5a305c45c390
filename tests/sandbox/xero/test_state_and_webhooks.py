"""Persistence between runs, deterministic demo data, and signed webhook delivery."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from aiohttp import web

from sandbox.clock import ManualClock
from sandbox.runner import start_in_thread
from sandbox.xero import XeroEmulator
from tests.fixtures.xero import CLOCK_START, XeroSandbox

KEY = "webhook-key-for-tests"


def test_save_and_load_round_trip(xero_sandbox: XeroSandbox, tmp_path: Path) -> None:
    emu = xero_sandbox.emulator
    tenants = emu.seed_demo(300, seed=8, tenants=2)
    edited = emu.create_invoice(tenants[1], line_items=[{"Description": "Ærø", "UnitAmount": 7}])
    emu.pay(edited["InvoiceID"], 1)
    emu.corrupt_invoice(next(iter(emu.store.invoices)), "Total", "bad")
    for name in ("state.json", "state.json.gz"):
        path = emu.save(tmp_path / name)
        loaded = XeroEmulator.load(path, clock=xero_sandbox.clock)
        assert loaded.tenant_ids == tenants
        assert loaded.state_path == path
        for invoice_id in emu.store.invoices:
            assert loaded.invoice(invoice_id) == emu.invoice(invoice_id)
        query = {"page": "1", "pageSize": "1000", "where": 'Type=="ACCREC"'}
        assert (
            json.loads(loaded.list_invoices_body(tenants[0], query, {}))["Invoices"]
            == (json.loads(emu.list_invoices_body(tenants[0], query, {}))["Invoices"])
        )
        after = loaded.create_invoice(tenants[1])
        assert after["InvoiceNumber"] != edited["InvoiceNumber"]
    saved = requests.post(f"{xero_sandbox.url}/_sandbox/save", json={"path": str(tmp_path / "x")})
    assert Path(saved.json()["saved"]).exists()
    (tmp_path / "other.json").write_text("{}")
    with pytest.raises(ValueError, match="not a Xero sandbox state file"):
        XeroEmulator.load(tmp_path / "other.json")
    header = (tmp_path / "state.json").read_text(encoding="utf-8").splitlines()[0]
    (tmp_path / "cut.json").write_text(header + "\n", encoding="utf-8")
    with pytest.raises(ValueError, match="truncated"):
        XeroEmulator.load(tmp_path / "cut.json")


def test_demo_data_is_deterministic() -> None:
    def dump(seed: int) -> bytes:
        emu = XeroEmulator(clock=ManualClock(CLOCK_START))
        tenant = emu.seed_demo(200, seed=seed, tenants=3)[0]
        return emu.list_invoices_body(tenant, {"page": "1", "pageSize": "1000"}, {})

    def invoices(body: bytes) -> list[dict]:
        return json.loads(body)["Invoices"]

    assert invoices(dump(7)) == invoices(dump(7))
    assert invoices(dump(7)) != invoices(dump(8))


def test_demo_data_has_several_organisations(xero_sandbox: XeroSandbox) -> None:
    emu = xero_sandbox.emulator
    emu.seed_demo(90, seed=1, tenants=3)
    currencies = {t.base_currency for t in emu.store.tenants}
    assert len(currencies) == 3
    assert {t.name for t in emu.store.tenants} >= {"Kiwi Kitchen Supplies Ltd"}
    assert len(emu.store.invoices) == 90


@pytest.fixture
def receiver() -> Iterator[tuple[str, list[tuple[bytes, str]]]]:
    """A webhook receiver that checks the signature like a real one must."""
    received: list[tuple[bytes, str]] = []

    async def hook(request: web.Request) -> web.Response:
        body = await request.read()
        signature = request.headers.get("x-xero-signature", "")
        expected = base64.b64encode(hmac.new(KEY.encode(), body, hashlib.sha256).digest()).decode()
        if not hmac.compare_digest(signature, expected):
            return web.Response(status=401)
        received.append((body, signature))
        return web.Response(status=200)

    app = web.Application()
    app.router.add_post("/hook", hook)
    server = start_in_thread(app)
    try:
        yield f"{server.url}/hook", received
    finally:
        server.stop()


def test_webhooks_deliver_signed_events(xero_sandbox: XeroSandbox, receiver) -> None:  # type: ignore[no-untyped-def]
    url, received = receiver
    emu = xero_sandbox.emulator
    tenant = emu.seed_demo(10)[0]
    assert emu.flush_webhooks() == []  # nothing configured, nothing queued
    emu.configure_webhooks(url, KEY)
    created = emu.create_invoice(tenant)["InvoiceID"]
    emu.pay(created)
    deliveries = emu.flush_webhooks()
    assert [(d.status, d.events) for d in deliveries] == [(200, 2)]
    payload = json.loads(received[0][0])
    assert set(payload) == {"events", "firstEventSequence", "lastEventSequence", "entropy"}
    assert payload["lastEventSequence"] == payload["firstEventSequence"] + 1
    first, second = payload["events"]
    assert (first["eventType"], second["eventType"]) == ("CREATE", "UPDATE")
    assert first["resourceId"] == created and first["eventCategory"] == "INVOICE"
    assert first["tenantId"] == tenant and first["tenantType"] == "ORGANISATION"
    assert first["resourceUrl"].endswith(f"/api.xro/2.0/Invoices/{created}")
    assert emu.flush_webhooks() == []


def test_intent_to_receive(xero_sandbox: XeroSandbox, receiver) -> None:  # type: ignore[no-untyped-def]
    url, received = receiver
    emu = xero_sandbox.emulator
    emu.configure_webhooks(url, KEY)
    assert emu.send_intent_to_receive() == (200, 401)
    assert json.loads(received[0][0])["events"] == []
    answer = requests.post(f"{xero_sandbox.url}/_sandbox/webhooks/intent").json()
    assert answer == {"correctly_signed": 200, "incorrectly_signed": 401}


def test_webhooks_can_deliver_by_themselves(xero_sandbox: XeroSandbox, receiver) -> None:  # type: ignore[no-untyped-def]
    url, received = receiver
    emu = xero_sandbox.emulator
    emu.seed_demo(5)
    answer = requests.post(
        f"{xero_sandbox.url}/_sandbox/webhooks",
        json={"url": url, "key": KEY, "deliver_every": 0.05},
    )
    assert answer.status_code == 200
    emu.create_invoice()
    deadline = time.monotonic() + 5
    while not received and time.monotonic() < deadline:
        time.sleep(0.02)
    assert json.loads(received[0][0])["events"][0]["eventType"] == "CREATE"
    emu.reset()  # stops the delivery thread
    assert emu.webhooks.url is None


def test_seeding_twice_adds_new_organisations(xero_sandbox: XeroSandbox) -> None:
    emu = xero_sandbox.emulator
    first = emu.seed_demo(10, seed=7)
    second = emu.seed_demo(10, seed=7)
    assert len(set(first + second)) == 2 and len(emu.store.invoices) == 20

"""Signature checks and batching of the webhook receiver, over real HTTP, sync stubbed."""

import json
import threading

import pytest
import requests

from reverse_etl.app.webhook_batch import sync_invoices
from reverse_etl.core.errors import ConfigError, LockBusyError
from reverse_etl.core.settings import load_settings
from reverse_etl.webhooks.receiver import WEBHOOK_PATH, WebhookWorker, build_app, sign
from sandbox.runner import start_in_thread

KEY = "test-webhook-key"


def event(invoice_id, category="INVOICE", tenant="t-1"):
    return {
        "resourceId": invoice_id,
        "eventCategory": category,
        "eventType": "UPDATE",
        "tenantId": tenant,
        "tenantType": "ORGANISATION",
        "resourceUrl": f"https://api.xero.com/api.xro/2.0/Invoices/{invoice_id}",
        "eventDateUtc": "2026-11-25T10:00:00.000",
    }


@pytest.fixture
def receiver():
    settings = load_settings({"XERO_WEBHOOK_KEY": KEY}, dotenv_path=None)
    synced = []
    lock = threading.Lock()

    def fake_sync(_settings, ids):
        with lock:
            synced.append(ids)

    worker = WebhookWorker(settings, sync=fake_sync, debounce_seconds=0.2)
    worker.start()
    server = start_in_thread(build_app(settings, worker))
    yield server.url + WEBHOOK_PATH, worker, synced
    server.stop()
    worker.stop()


def post(url, payload, key=KEY):
    body = json.dumps(payload).encode()
    return requests.post(url, data=body, headers={"x-xero-signature": sign(key, body)}, timeout=5)


def test_intent_to_receive_valid_200_empty_invalid_401(receiver):
    url, _, _ = receiver
    empty = {"events": [], "firstEventSequence": 0, "lastEventSequence": 0, "entropy": "X"}
    good = post(url, empty)
    assert good.status_code == 200 and good.content == b""
    bad = post(url, empty, key="wrong-key")
    assert bad.status_code == 401 and bad.content == b""
    unsigned = requests.post(url, data=b"{}", timeout=5)
    assert unsigned.status_code == 401


def test_events_are_debounced_into_one_batch_of_invoice_ids(receiver):
    url, worker, synced = receiver
    post(url, {"events": [event("inv-1"), event("contact-1", category="CONTACT")]})
    post(url, {"events": [event("inv-2"), event("inv-1")]})
    assert worker.wait_idle(10)
    assert synced == [["inv-1", "inv-2"]]


def test_forged_events_never_reach_the_sync(receiver):
    url, worker, synced = receiver
    assert post(url, {"events": [event("inv-9")]}, key="attacker").status_code == 401
    assert worker.wait_idle(1)
    assert synced == []


def test_batch_waits_for_the_hourly_lock_and_then_runs():
    settings = load_settings({"XERO_WEBHOOK_KEY": KEY}, dotenv_path=None)
    calls = []

    def busy_once(_settings, ids):
        calls.append(ids)
        if len(calls) == 1:
            raise LockBusyError("held by the hourly sync")

    worker = WebhookWorker(settings, sync=busy_once, debounce_seconds=0.05, retry_seconds=0.05)
    worker.start()
    worker.submit([("t", "inv-5")])
    assert worker.wait_idle(5)
    worker.stop()
    assert calls == [["inv-5"], ["inv-5"]]
    assert worker.batches_done == 1


def test_receiver_requires_a_webhook_key():
    settings = load_settings(
        {"XERO_CLIENT_ID": "a", "XERO_CLIENT_SECRET": "b", "HUBSPOT_ACCESS_TOKEN": "c"},
        dotenv_path=None,
    )
    with pytest.raises(ConfigError, match="XERO_WEBHOOK_KEY"):
        build_app(settings, WebhookWorker(settings, sync=sync_invoices))


def test_worker_survives_unexpected_errors_and_healthz_tells_the_truth():
    """Before: an exception that was not a project error killed the worker thread while
    /healthz kept answering 200 with failures 0."""
    settings = load_settings({"XERO_WEBHOOK_KEY": KEY}, dotenv_path=None)
    broken = {"on": True}
    synced = []

    def flaky(_settings, ids):
        if broken["on"]:
            raise RuntimeError("duckdb said no")
        synced.append(ids)

    worker = WebhookWorker(settings, sync=flaky, debounce_seconds=0.01)
    worker.start()
    server = start_in_thread(build_app(settings, worker))
    try:
        for n in range(3):
            worker.submit([("t", f"inv-{n}")])
            assert worker.wait_idle(5)
        health = requests.get(server.url + "/healthz", timeout=5)
        assert health.status_code == 503
        body = health.json()
        assert body["status"] == "failing" and body["worker_alive"] is True
        assert body["consecutive_failures"] == 3 and "duckdb said no" in body["last_error"]
        assert body["last_failure"] and body["last_success"] is None

        broken["on"] = False
        worker.submit([("t", "inv-9")])
        assert worker.wait_idle(5)
        assert synced == [["inv-9"]]
        health = requests.get(server.url + "/healthz", timeout=5)
        assert health.status_code == 200
        assert health.json()["consecutive_failures"] == 0
        assert health.json()["failures"] == 3
    finally:
        server.stop()
        worker.stop()


def test_worker_waits_for_a_busy_warehouse_but_not_forever():
    from reverse_etl.core.errors import WarehouseBusyError

    settings = load_settings({"XERO_WEBHOOK_KEY": KEY}, dotenv_path=None)
    waits = []

    def busy(_settings, _ids):
        raise WarehouseBusyError("another process holds the file")

    worker = WebhookWorker(
        settings, sync=busy, debounce_seconds=0.01, busy_retries=4, sleep=waits.append
    )
    worker.start()
    worker.submit([("t", "inv-1")])
    assert worker.wait_idle(5)
    worker.stop()
    assert len(waits) == 4
    assert worker.health.failures == 1 and "WarehouseBusyError" in worker.health.last_error


def test_healthz_is_503_when_the_worker_thread_is_gone(receiver):
    url, worker, _ = receiver
    worker.stop()
    health = requests.get(url.replace(WEBHOOK_PATH, "/healthz"), timeout=5)
    assert health.status_code == 503 and health.json()["worker_alive"] is False


def test_non_ascii_signature_is_401_not_500(receiver):
    url, _, _ = receiver
    body = b'{"events": []}'
    answer = requests.post(
        url, data=body, headers={"x-xero-signature": "é".encode().decode("latin-1")}, timeout=5
    )
    assert answer.status_code == 401


def test_signed_json_that_is_not_an_object_is_200_and_ignored(receiver):
    url, worker, synced = receiver
    for payload in ([event("inv-1")], "text", 42, None, {"events": "nope"}):
        assert post(url, payload).status_code == 200
    assert worker.wait_idle(2)
    assert synced == []


@pytest.mark.parametrize("error", ["RejectedRecordsError", "QuarantinedRecordsError"])
def test_records_set_aside_are_warned_by_name_but_the_worker_stays_healthy(error, caplog):
    """A batch that went through with records rejected by HubSpot or quarantined from Xero is
    data for a person to fix, not a broken worker: named in the log, /healthz stays 200 (as
    `sync --every` does), and the next batch retries them."""
    from reverse_etl.core import errors

    settings = load_settings({"XERO_WEBHOOK_KEY": KEY}, dotenv_path=None)

    def set_aside(_settings, _ids):
        raise getattr(errors, error)("invoice INV-[b]7[/b]: Status 'PENDING' is not one we know")

    worker = WebhookWorker(settings, sync=set_aside, debounce_seconds=0.01)
    worker.start()
    with caplog.at_level("WARNING", logger="reverse_etl.webhooks.receiver"):
        worker.submit([("t", "inv-1")])
        assert worker.wait_idle(5)
    worker.stop()
    assert worker.health.failures == 0 and worker.health.consecutive_failures == 0
    assert worker.batches_done == 1 and worker.failures == []
    assert "INV-[b]7[/b]" in caplog.text


def test_the_debounce_comes_from_the_settings_and_a_warm_up_runs_before_the_first_batch():
    settings = load_settings(
        {"XERO_WEBHOOK_KEY": KEY, "XERO_WEBHOOK_DEBOUNCE_MS": "50"}, dotenv_path=None
    )
    order = []

    def warm_up(_settings):
        order.append("warm-up")
        raise RuntimeError("no warehouse yet")  # logged; the worker lives on

    worker = WebhookWorker(settings, sync=lambda _s, ids: order.append(ids), warm_up=warm_up)
    worker.start()
    try:
        worker.submit([("t-1", "inv-1"), ("t-1", "inv-2")])
        assert worker.wait_idle(5)
    finally:
        worker.stop()
    assert worker.debounce_seconds == 0.05
    assert order == ["warm-up", ["inv-1", "inv-2"]]


def test_events_that_queued_during_a_batch_start_the_next_one_without_a_new_debounce():
    """The debounce window opens when a batch's first event arrives: events that waited while
    the last batch ran (longer than the window) are synced at once, all together."""
    settings = load_settings({"XERO_WEBHOOK_KEY": KEY}, dotenv_path=None)
    now = [1000.0]
    synced = []

    def slow_batch(_settings, ids):
        synced.append(ids)
        if len(synced) == 1:  # two events arrive while this batch runs for a minute
            worker.submit([("t-1", "inv-b"), ("t-1", "inv-c")])
            now[0] += 60

    worker = WebhookWorker(
        settings, sync=slow_batch, debounce_seconds=30, clock=lambda: now[0], sleep=lambda _s: None
    )
    worker.submit([("t-1", "inv-a")])
    now[0] += 60  # the worker starts late (the warm-up): inv-a has spent its window already
    worker.start()
    try:
        assert worker.wait_idle(5), "a batch waited out a debounce its events had already spent"
    finally:
        worker.stop()
    assert synced == [["inv-a"], ["inv-b", "inv-c"]]

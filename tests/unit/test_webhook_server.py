"""The webhook server's bounds, with real sockets on loopback: slow bodies, idle connections."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator

import pytest
import requests

from reverse_etl.core.settings import load_settings
from reverse_etl.webhooks.receiver import WEBHOOK_PATH, WebhookWorker, build_app, sign
from reverse_etl.webhooks.server import ConnectionGuard, ServerLimits, start_guarded

KEY = "test-webhook-key"


@pytest.fixture
def guarded() -> Iterator[tuple[str, int, ConnectionGuard, list[list[str]]]]:
    limits = ServerLimits(max_connections=20, idle_seconds=0.5, body_seconds=0.5, sweep_seconds=0.1)
    settings = load_settings({"XERO_WEBHOOK_KEY": KEY}, dotenv_path=None)
    synced: list[list[str]] = []
    worker = WebhookWorker(settings, sync=lambda _s, ids: synced.append(ids), debounce_seconds=0)
    worker.start()
    guard = ConnectionGuard(limits)
    server = start_guarded(build_app(settings, worker, limits), guard)
    yield server.url + WEBHOOK_PATH, server.port, guard, synced
    server.stop()
    worker.stop()


def delivery(url: str, invoice_id: str = "inv-1") -> requests.Response:
    body = json.dumps(
        {"events": [{"eventCategory": "INVOICE", "tenantId": "t", "resourceId": invoice_id}]}
    ).encode()
    return requests.post(url, data=body, headers={"x-xero-signature": sign(KEY, body)}, timeout=5)


def closed_by_server(sock: socket.socket) -> bool:
    """True when the server closed the connection (recv returns b'' or the peer reset it)."""
    sock.settimeout(5)
    try:
        while data := sock.recv(4096):
            if b"408" in data:
                continue
        return True
    except ConnectionResetError:
        return True
    except TimeoutError:
        return False


def test_a_slow_body_gets_408_and_the_connection_is_closed(guarded):
    _url, port, _guard, synced = guarded
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.sendall(
            f"POST {WEBHOOK_PATH} HTTP/1.1\r\nHost: x\r\nContent-Length: 500\r\n\r\n{{".encode()
        )
        sock.settimeout(5)
        answer = sock.recv(4096)
        assert answer.startswith(b"HTTP/1.1 408")
        assert closed_by_server(sock)
    assert synced == []


def test_idle_and_half_sent_connections_are_closed(guarded):
    _url, port, guard, _synced = guarded
    idle = socket.create_connection(("127.0.0.1", port))
    slowloris = socket.create_connection(("127.0.0.1", port))
    slowloris.sendall(b"POST /webhooks/xero HTTP/1.1\r\nHost: x\r\n")  # headers never finish
    try:
        assert closed_by_server(idle)
        assert closed_by_server(slowloris)
    finally:
        idle.close()
        slowloris.close()
    assert guard.closed_idle >= 2


def test_three_hundred_idle_connections_do_not_keep_out_a_real_delivery(guarded):
    url, port, guard, _synced = guarded
    sockets = [socket.create_connection(("127.0.0.1", port)) for _ in range(300)]
    try:
        answer = delivery(url, "inv-real")
        assert answer.status_code == 200
        assert guard.open_connections <= 20  # the oldest idle ones were closed to admit it
    finally:
        for sock in sockets:
            sock.close()

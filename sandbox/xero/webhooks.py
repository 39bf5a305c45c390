"""Xero webhooks, emulated: queued INVOICE events, signed and POSTed to the configured URL.

Shape and signing as Xero documents them ("Webhooks" in the developer docs): the body is
``{"events": [...], "firstEventSequence", "lastEventSequence", "entropy"}``; every event has
``resourceUrl``, ``resourceId``, ``eventDateUtc``, ``eventType`` (CREATE/UPDATE),
``eventCategory`` (INVOICE), ``tenantId``, ``tenantType``; the ``x-xero-signature`` header is
base64(HMAC-SHA256(webhook key, raw body)). The receiver must answer 200 to a correctly signed
payload and 401 to a wrongly signed one ("intent to receive").
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import string
import threading
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sandbox.xero.model import Invoice

if TYPE_CHECKING:
    from sandbox.xero.emulator import XeroEmulator


def sign(key: str, body: bytes) -> str:
    return base64.b64encode(hmac.new(key.encode(), body, hashlib.sha256).digest()).decode()


@dataclass
class Delivery:
    status: int
    events: int
    body: bytes = field(repr=False)


class Webhooks:
    def __init__(self, emu: XeroEmulator) -> None:
        self._emu = emu
        self._lock = threading.Lock()
        self.url: str | None = None
        self.key: str | None = None
        self.pending: list[dict[str, Any]] = []
        self.deliveries: list[Delivery] = []
        self.sequence = 0
        self._stop: threading.Event | None = None

    def reset(self) -> None:
        self.stop_auto_delivery()
        with self._lock:
            self.url = self.key = None
            self.pending.clear()
            self.deliveries.clear()
            self.sequence = 0

    def configure(self, url: str, key: str, deliver_every: float | None = None) -> None:
        """Deliver to ``url`` signed with ``key``; with ``deliver_every`` (seconds) a background
        thread flushes pending events on that period, as Xero batches and sends them."""
        self.stop_auto_delivery()
        with self._lock:
            self.url, self.key = url, key
        if deliver_every:
            stop = threading.Event()
            self._stop = stop

            def deliver() -> None:
                while not stop.wait(deliver_every):
                    self.flush()

            threading.Thread(target=deliver, name="xero-webhooks", daemon=True).start()

    def stop_auto_delivery(self) -> None:
        if self._stop is not None:
            self._stop.set()
            self._stop = None

    def record(self, inv: Invoice, event_type: str) -> None:
        """Queue an event for a mutation (a no-op until webhooks are configured)."""
        if self.url is None:
            return
        tenant_id = self._emu.store.tenants[inv.tenant].tenant_id
        event = {
            "resourceUrl": f"https://api.xero.com/api.xro/2.0/Invoices/{inv.invoice_id}",
            "resourceId": inv.invoice_id,
            "eventDateUtc": datetime.fromtimestamp(inv.updated_ms / 1000, UTC)
            .replace(tzinfo=None)
            .isoformat(timespec="milliseconds"),
            "eventType": event_type,
            "eventCategory": "INVOICE",
            "tenantId": tenant_id,
            "tenantType": "ORGANISATION",
        }
        with self._lock:
            self.sequence += 1
            self.pending.append({"sequence": self.sequence, "event": event})

    def flush(self) -> list[Delivery]:
        """POST every pending event now (one payload), returning what the receiver answered."""
        with self._lock:
            batch, self.pending = self.pending, []
            url, key = self.url, self.key
        if not batch or url is None or key is None:
            return []
        payload = {
            "events": [item["event"] for item in batch],
            "firstEventSequence": batch[0]["sequence"],
            "lastEventSequence": batch[-1]["sequence"],
            "entropy": _entropy(),
        }
        body = json.dumps(payload, separators=(",", ":")).encode()
        delivery = Delivery(post(url, body, sign(key, body)), len(batch), body)
        self.deliveries.append(delivery)
        return [delivery]

    def intent_to_receive(self) -> tuple[int, int]:
        """Xero's check before enabling a subscription: (status for good, status for bad)."""
        if self.url is None or self.key is None:
            raise RuntimeError("configure_webhooks(url, key) first")
        body = json.dumps(
            {"events": [], "firstEventSequence": 0, "lastEventSequence": 0, "entropy": _entropy()},
            separators=(",", ":"),
        ).encode()
        good = post(self.url, body, sign(self.key, body))
        bad = post(self.url, body, sign(self.key + "-wrong", body))
        return good, bad


def _entropy() -> str:
    return "".join(secrets.choice(string.ascii_uppercase) for _ in range(20))


def post(url: str, body: bytes, signature: str, timeout: float = 5.0) -> int:
    """POST like Xero does (5 s to answer); the status, or 0 when nothing answered."""
    request = urllib.request.Request(
        url,
        data=body,
        method="POST",
        headers={"Content-Type": "application/json", "x-xero-signature": signature},
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)
    except (urllib.error.URLError, TimeoutError, ConnectionError):
        return 0

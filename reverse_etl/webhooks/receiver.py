"""Near-real-time mode: receive Xero webhooks and sync the invoices they name.

Xero's contract (developer.xero.com, "Webhooks"; summarised in shared/API_FACTS.md): each POST
carries ``{"events": [...], "firstEventSequence", "lastEventSequence", "entropy"}`` and the
header ``x-xero-signature`` = base64(HMAC-SHA256(webhook key, raw body)). The receiver answers
``200`` with an empty body for a valid signature and ``401`` for an invalid one, within five
seconds; the "intent to receive" check sends one of each before Xero enables the subscription.
Events say only *what* changed, so the receiver fetches those invoices itself.

So the HTTP handler only checks the signature and queues the invoice ids; a worker thread
collects events for a short debounce window (``XERO_WEBHOOK_DEBOUNCE_MS``, 250 ms by default:
events that arrive together, or while a batch runs, go in one batch), then runs the batch it was
handed (``sync``: the app layer hands it :func:`reverse_etl.app.webhook_batch.sync_invoices`,
so this package imports nothing of the app) under the same warehouse lock as the hourly job: extract
(those ids only, via Xero's ``IDs`` filter) → the dbt fast path (only the models on the path
to the invoice actions, only for those invoices, into the ``webhook_*`` schemas;
:mod:`reverse_etl.fast_path`) → push. A batch logs its run in ``sync_log.runs`` (command
``webhook``) and reports quarantine as `sync` does; it does not publish the analysts'
database nor write the customers' side: the next hourly sync sees the batch's new dlt load,
builds the whole project, and publishes. If the hourly job holds the lock, the batch is retried
after it. The worker parses the dbt project once when it starts (``warm_up``), so the first
event does not wait for it.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from aiohttp import web

from reverse_etl.core.errors import (
    ConfigError,
    LockBusyError,
    QuarantinedRecordsError,
    RejectedRecordsError,
    WarehouseBusyError,
)
from reverse_etl.core.failures import as_project_error, one_line
from reverse_etl.core.health import LoopHealth
from reverse_etl.core.settings import Settings
from reverse_etl.webhooks.server import ServerLimits

log = logging.getLogger(__name__)

WEBHOOK_PATH = "/webhooks/xero"


def sign(key: str, body: bytes) -> str:
    """The signature Xero puts in ``x-xero-signature`` for ``body``."""
    digest = hmac.new(key.encode(), body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def verify_signature(key: str, body: bytes, signature: str | None) -> bool:
    """Constant-time check; any header value (non-ASCII included) is simply not a match."""
    if signature is None:
        return False
    given = signature.encode("utf-8", "surrogateescape")
    return hmac.compare_digest(sign(key, body).encode(), given)


def invoice_ids_from(payload: object) -> list[tuple[str, str]]:
    """(tenant id, invoice id) for each INVOICE event; other categories and shapes are ignored."""
    found: list[tuple[str, str]] = []
    events = payload.get("events") if isinstance(payload, dict) else None
    if not isinstance(events, list):
        return found
    for event in events:
        if not isinstance(event, dict) or event.get("eventCategory") != "INVOICE":
            continue
        tenant, resource = event.get("tenantId"), event.get("resourceId")
        if isinstance(tenant, str) and isinstance(resource, str):
            found.append((tenant, resource))
    return found


# (settings, invoice ids) -> anything: one batch (the app's reverse_etl/app/webhook_batch.py)
SyncInvoices = Callable[[Settings, list[str]], object]


@dataclass
class WebhookWorker:
    """Collects invoice ids from verified events and syncs them in debounced batches.

    The thread survives anything a batch raises: the failure is logged as one line, counted in
    :attr:`health` (served by ``/healthz``), and the invoices are left to the next batch or
    the hourly sync (Xero's ``If-Modified-Since`` read includes them). A busy warehouse (the
    hourly job, or another process holding DuckDB's file lock) is waited for
    ``retry_seconds`` at a time, at most ``busy_retries`` times, before the batch counts as
    failed. ``debounce_seconds`` defaults to the settings' ``XERO_WEBHOOK_DEBOUNCE_MS`` and
    counts from the arrival of a batch's first event: the events that arrived while the last
    batch ran start the next one at once, with every event that arrived meanwhile.
    ``warm_up`` runs once in the worker thread before the first batch (the webhook server
    parses the dbt project there); its failure is logged, and the first batch tries again."""

    settings: Settings
    sync: SyncInvoices
    debounce_seconds: float | None = None
    warm_up: Callable[[Settings], object] | None = None
    retry_seconds: float = 30.0
    busy_retries: int = 20
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic
    health: LoopHealth = field(default_factory=LoopHealth)
    batches_done: int = 0
    failures: list[str] = field(default_factory=list)
    # (tenant id, invoice id, when it arrived), or None to stop
    _queue: queue.Queue[tuple[str, str, float] | None] = field(default_factory=queue.Queue)
    _outstanding: int = 0
    _changed: threading.Condition = field(default_factory=threading.Condition)
    _thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="webhook-worker", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._queue.put(None)
        if self._thread is not None:
            self._thread.join(timeout=60)

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def submit(self, ids: list[tuple[str, str]]) -> None:
        with self._changed:
            self._outstanding += len(ids)
        arrived = self.clock()
        for tenant_id, invoice_id in ids:
            self._queue.put((tenant_id, invoice_id, arrived))

    def wait_idle(self, timeout: float) -> bool:
        """True once every submitted id has been synced (or has failed); for tests and demos."""
        with self._changed:
            return self._changed.wait_for(lambda: self._outstanding == 0, timeout)

    def _done(self, count: int) -> None:
        with self._changed:
            self._outstanding -= count
            self._changed.notify_all()

    def _loop(self) -> None:
        if self.debounce_seconds is None:
            self.debounce_seconds = self.settings.xero.webhook_debounce_ms / 1000
        if self.warm_up is not None:
            try:
                self.warm_up(self.settings)
            except Exception as exc:  # the first batch will try again; the worker lives on
                log.warning("Webhook warm-up failed: %s", one_line(str(as_project_error(exc))))
        while True:
            first = self._queue.get()
            if first is None:
                return
            pending = {first[1]}
            taken = 1
            # the window opens when the first event arrived, not when the worker got to it: ids
            # that queued up while the last batch ran have waited long enough, so they go now
            deadline = first[2] + (self.debounce_seconds or 0.0)
            stopping = False
            while True:
                remaining = deadline - self.clock()
                try:
                    item = (
                        self._queue.get(timeout=remaining)
                        if remaining > 0
                        else self._queue.get_nowait()
                    )
                except queue.Empty:
                    break
                if item is None:
                    stopping = True
                    break
                pending.add(item[1])
                taken += 1
            try:
                self._run(sorted(pending))
            finally:
                self._done(taken)
            if stopping:
                return

    def _run(self, invoice_ids: list[str]) -> None:
        """Sync one batch; never raises (an unattended loop reports, it does not die)."""
        busy = 0
        while True:
            try:
                self.sync(self.settings, invoice_ids)
            except (RejectedRecordsError, QuarantinedRecordsError) as exc:
                # the batch went through; the records named stay set aside and are retried.
                # Data to fix, not a broken worker: /healthz stays healthy, as for `sync --every`
                self.batches_done += 1
                self.health.succeeded()
                log.warning(
                    "Webhook batch synced: %d invoice(s), with records set aside: %s",
                    len(invoice_ids),
                    one_line(str(exc)),
                )
                return
            except Exception as exc:
                error = as_project_error(exc)
                if (
                    isinstance(error, LockBusyError | WarehouseBusyError)
                    and busy < self.busy_retries
                ):
                    busy += 1
                    log.info(
                        "Warehouse busy (%s); retrying webhook batch in %ss.",
                        one_line(str(error)),
                        self.retry_seconds,
                    )
                    self.sleep(self.retry_seconds)
                    continue
                message = f"{type(error).__name__}: {one_line(str(error))}"
                self.failures.append(message)
                self.health.failed(message)
                log.error(
                    "Webhook batch of %d invoice(s) failed (%d in a row): %s "
                    "(the next batch or the hourly sync will pick them up)",
                    len(invoice_ids),
                    self.health.consecutive_failures,
                    message,
                )
                return
            self.batches_done += 1
            self.health.succeeded()
            log.info("Webhook batch synced: %d invoice(s).", len(invoice_ids))
            return


def build_app(
    settings: Settings, worker: WebhookWorker, limits: ServerLimits | None = None
) -> web.Application:
    key = settings.xero.webhook_key
    if not key:
        raise ConfigError(
            "XERO_WEBHOOK_KEY is not set: copy the webhook key from your Xero app's Webhooks "
            "page into it, so that deliveries can be verified."
        )
    body_seconds = (limits or ServerLimits()).body_seconds

    async def receive(request: web.Request) -> web.Response:
        try:
            body = await asyncio.wait_for(request.read(), body_seconds)
        except TimeoutError:
            log.warning("A webhook body did not arrive within %ss; answered 408.", body_seconds)
            return web.Response(status=408, headers={"Connection": "close"})
        if not verify_signature(key, body, request.headers.get("x-xero-signature")):
            log.warning("Rejected a webhook with an invalid signature (401).")
            return web.Response(status=401)
        try:
            payload = json.loads(body or b"{}")
        except ValueError:
            log.warning("Signed webhook body is not JSON; answered 200 and ignored it.")
            return web.Response(status=200)
        worker.submit(invoice_ids_from(payload))
        return web.Response(status=200)

    async def health(_request: web.Request) -> web.Response:
        """200 while the worker lives and fewer than three batches in a row failed, else 503."""
        body = {
            **worker.health.as_json(),
            "worker_alive": worker.alive,
            "batches_done": worker.batches_done,
        }
        healthy = worker.alive and worker.health.healthy
        if not worker.alive:
            body["status"] = "failing"
        return web.json_response(body, status=200 if healthy else 503)

    app = web.Application()
    app.router.add_post(WEBHOOK_PATH, receive)
    app.router.add_get("/healthz", health)
    return app

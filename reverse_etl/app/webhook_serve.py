"""`invoice-sync webhooks serve`: the receiver (:mod:`reverse_etl.webhooks.receiver`) handed the
app's batch (:func:`reverse_etl.app.webhook_batch.sync_invoices`, through the one
orchestrator) and the fast path's warm-up, in sandbox mode when no credentials are set."""

from __future__ import annotations

import threading

from rich.console import Console

from reverse_etl.app.sandbox_mode import sandbox_if_needed
from reverse_etl.app.webhook_batch import sync_invoices
from reverse_etl.core.errors import ConfigError
from reverse_etl.core.settings import Settings
from reverse_etl.fast_path import FAST_PATH
from reverse_etl.webhooks.receiver import WEBHOOK_PATH, WebhookWorker, build_app
from reverse_etl.webhooks.server import ConnectionGuard, ServerLimits, start_guarded


def serve(settings: Settings, *, host: str, port: int, console: Console) -> None:
    """`invoice-sync webhooks serve`: until Ctrl-C."""
    limits = ServerLimits()
    worker = WebhookWorker(settings, sync=sync_invoices, warm_up=FAST_PATH.prepare)
    app = build_app(settings, worker, limits)
    with sandbox_if_needed(settings):
        worker.start()
        try:
            server = start_guarded(app, ConnectionGuard(limits), host=host, port=port)
        except OSError as exc:
            worker.stop()
            raise ConfigError(f"{exc}: choose another --port or stop the other process.") from None
        console.print(
            f"Listening for Xero webhooks on {server.url}{WEBHOOK_PATH}",
            highlight=False,
            markup=False,
        )
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            pass
        finally:
            server.stop()
            worker.stop()

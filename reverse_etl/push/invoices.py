"""`invoice-sync push`: write ``reverse_etl.hubspot_invoice_actions`` to HubSpot.

Flow: read the action table (INSERT/UPDATE rows, see ``docs/contracts.md``) → log a ``running``
row in ``sync_log.runs`` → find the object (remembered objectTypeId, else :func:`ensure_schema`)
→ batches of ≤100 inputs to ``POST /crm/v3/objects/{objectType}/batch/upsert`` keyed on
``idProperty=xero_invoice_id``, several batches in flight (``HUBSPOT_MAX_IN_FLIGHT`` worker
threads under the one shared rate limiter, so throughput reaches HubSpot's limit rather than
the round-trip time; workers do HTTP only; :mod:`reverse_etl.push.batches`, the sender the
customers' writes use too) → each answer recorded by the main thread, which owns the one warehouse
connection, in one transaction (the answers that arrived together share it;
:mod:`reverse_etl.push.results`) → run row finished → alerts (:mod:`reverse_etl.push.alerts`).
A fatal error (401/403, HubSpot down past the retries, daily limit) stops new sends, records
what the batches in flight wrote, ends the run ``failed`` and is raised.

Crash safety: a record is in ``raw_hubspot.invoice_records`` as soon as its batch's answer is
committed, so after a kill the next `sync` (transform rebuilds the action table from that
snapshot) re-sends only the batches that were in flight, as harmless upserts.

A consumed action table is never pushed twice: dbt stamps the table with its invocation id (a
table comment, ``hubspot_invoice_actions``' post-hook), each run logs the id it read
(``sync_log.runs.actions_invocation_id``), and a push (or dry run) that finds the table already
written from re-derives it first with a targeted ``dbt build --select source:raw_hubspot+``:
the push upserted what it wrote into ``raw_hubspot.invoice_records``, so the rebuilt table
holds only what is still to do. dbt stays the one definition of what HubSpot should hold.

What is sent: for INSERT every non-null property; for UPDATE only ``changed_properties``,
a null sent as ``""`` (HubSpot clears a property given an empty string). ``xero_invoice_id``
is always in ``properties`` too, so HubSpot echoes it and each result maps back to its input
(batch results are not guaranteed to be in input order). Upsert makes a retried or re-run
batch harmless: an INSERT whose record already exists becomes an update, never a duplicate.
Inputs are de-duplicated on ``xero_invoice_id`` (HubSpot rejects a batch naming an id twice).

Failures per record (:mod:`reverse_etl.push.invoice_batches`): every error of a ``207`` answer
is mapped back to its input, and a whole-batch ``400`` is bisected until the bad inputs stand
alone, so the good ones land. Rejected records go to
``sync_log.record_results`` with HubSpot's words, the run ends ``partial`` and
:meth:`PushReport.raise_for_rejections` exits 3; they stay in the action table, so the next
run retries them. The customers' writes (company balances, associations) follow the invoices in
the same run, through :mod:`reverse_etl.push.customers`, and a refusal there ends the run the
same way.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial

from rich.console import Console

from reverse_etl.core import build_plan, sync_log
from reverse_etl.core.errors import HubSpotSchemaError
from reverse_etl.core.settings import Settings
from reverse_etl.core.warehouse import Connection
from reverse_etl.hubspot.client import HubSpot, HubSpotRequestError
from reverse_etl.push import alerts, records
from reverse_etl.push.actions import (
    ACTIONS_SCHEMA,
    Action,
    actions_invocation_id,
    read_actions,
    refresh_if_consumed,
)
from reverse_etl.push.alerts import StatusChange
from reverse_etl.push.batches import send_batches
from reverse_etl.push.customers import push_customers
from reverse_etl.push.display import PushProgress, print_plan, summary_table
from reverse_etl.push.invoice_batches import BATCH_SIZE, object_missing, upsert_isolating_rejects
from reverse_etl.push.records import BatchOutcome
from reverse_etl.push.report import PushReport
from reverse_etl.push.results import record_invoice_results
from reverse_etl.push.schema import forget_object_type_id, resolve_object_type_id
from reverse_etl.push.unexplained_invoices import read_unexplained

__all__ = ["BATCH_SIZE", "PushReport", "run_push"]
log = logging.getLogger(__name__)

NAME = "hubspot-push"  # the sender's worker threads


@dataclass
class _Run:
    """One push's working set, handed between the steps of :func:`run_push`."""

    settings: Settings
    con: Connection
    report: PushReport
    console: Console | None
    actions_schema: str
    started: float
    final: bool  # the push logs its own run (no sync started it)

    @property
    def whole(self) -> bool:
        """A whole build's action table (not the webhook fast path's partial one)."""
        return self.actions_schema == ACTIONS_SCHEMA


def run_push(
    settings: Settings,
    *,
    dry_run: bool = False,
    console: Console | None = None,
    client: HubSpot | None = None,
    notify: alerts.Notify | None = None,
    run_id: str | None = None,
    actions_schema: str = ACTIONS_SCHEMA,
) -> PushReport:
    """Push the action table to HubSpot (or print the plan); see the module docstring.

    ``run_id`` names a ``sync_log.runs`` row a sync already started: the push then records its
    counts there and leaves ``finished_at`` to the sync. Without it the push logs its own run.
    ``actions_schema`` other than ``reverse_etl`` is a partial build's (the webhook fast path,
    :mod:`reverse_etl.fast_path`, built just before): its invoice actions and status changes
    are pushed and alerted; the customers' writes (company balances, associations), the
    re-derivation of a consumed table and the ``pushed`` mark of ``sync_log.builds`` belong to
    whole builds and wait for the next sync.
    """
    started = time.monotonic()
    report = PushReport(run_id=run_id or str(uuid.uuid4()), dry_run=dry_run)
    whole = actions_schema == ACTIONS_SCHEMA
    report.rebuilt_stale_actions = refresh_if_consumed(settings) if whole else False
    con = settings.warehouse.connect()
    run = _Run(settings, con, report, console, actions_schema, started, final=run_id is None)
    try:
        sync_log.ensure_tables(con)
        actions = read_actions(con, actions_schema)
        report.planned = _count_by_action(actions)
        report.actions_invocation_id = actions_invocation_id(con, actions_schema)
        if run_id is None:
            sync_log.start_run(con, report.run_id, sync_log.now(), dry_run=dry_run, stage="push")
        sync_log.update_run(con, report.run_id, actions_invocation_id=report.actions_invocation_id)
        if dry_run:
            print_plan(actions, report.planned, console)
            report.status = "success"
            _finish(run)
            return report
        hub = client or HubSpot(settings.hubspot)
        changes, written_ids = _write(run, hub, actions)
        if whole and report.status == "success":  # the next sync may skip while nothing changes
            build_plan.mark_pushed(con)
        _report_unexplained_and_alert(run, changes, written_ids, notify)
        if console is None:
            log.info(report.summary())
        elif run.final:  # within a sync, the sync prints the push's summary line
            console.print(summary_table(report))
        return report
    finally:
        con.close()


def _write(
    run: _Run, hub: HubSpot, actions: Sequence[Action]
) -> tuple[list[StatusChange], set[str]]:
    """Write the invoices, then (whole builds) the customers; log the run's counts and status
    (``failed``, with the error, when a call or the warehouse fails: then re-raised). Returns
    the status changes to alert on and the ids of the invoices written."""
    report = run.report
    calls_before = hub.calls
    try:
        changes = alerts.read_status_changes(run.con, run.actions_schema)
        written_ids = _push(run, hub, actions) if actions else set()
        # a first sync with nothing to write still sets the object up (no call later)
        object_type = resolve_object_type_id(run.settings, hub)
        if run.whole:
            push_customers(run.con, hub, object_type, report.run_id, report)
    except BaseException as exc:
        report.hubspot_calls = hub.calls - calls_before
        report.status = "failed"
        _finish(run, error=f"{type(exc).__name__}: {exc}")
        raise
    report.hubspot_calls = hub.calls - calls_before
    report.rate_limited = hub.rate_limited
    report.status = "partial" if report.rejected or report.customers_refused else "success"
    _finish(run)
    return changes, written_ids


def _report_unexplained_and_alert(
    run: _Run, changes: list[StatusChange], written_ids: set[str], notify: alerts.Notify | None
) -> None:
    """After the run is logged: list the HubSpot records no Xero invoice explains and send the
    alerts. Neither ever fails the sync."""
    report = run.report
    try:
        report.unexplained = read_unexplained(run.con) if run.whole else []
    except Exception as exc:  # a report of what HubSpot holds never fails the sync
        log.warning("Unexplained invoice records could not be read: %s", exc)
    try:
        outcome = alerts.send_push_alerts(
            run.settings,
            run.con,
            inserted=report.inserted,
            updated=report.updated,
            changes=changes,
            written_ids=written_ids,
            notify=notify,
            unexplained=report.unexplained,
        )
        report.alerts_failed = outcome.targets_failed
    except Exception as exc:  # alerts never fail the sync
        log.warning("Alerts could not be sent: %s: %s", type(exc).__name__, exc)


def _push(run: _Run, hub: HubSpot, actions: Sequence[Action]) -> set[str]:
    """Send every batch, at most ``max_in_flight`` at a time; record the answers that came back
    together in one transaction as they return."""
    object_type = resolve_object_type_id(run.settings, hub)
    columns = records.snapshot_columns(run.con)
    by_id = {a.xero_invoice_id: a for a in actions}
    written_ids: set[str] = set()
    progress = PushProgress(run.console, total=len(actions))
    send = partial(upsert_isolating_rejects, hub, object_type)
    in_flight = run.settings.hubspot.max_in_flight
    try:
        for answers in send_batches(actions, BATCH_SIZE, send, max_in_flight=in_flight, name=NAME):
            arrived = BatchOutcome()
            for _batch, outcome in answers:
                arrived.extend(outcome)
            written_ids.update(record_invoice_results(run.con, run.report, arrived, by_id, columns))
            progress.advance(len(arrived.written) + len(arrived.rejected), run.report)
    except HubSpotRequestError as exc:
        if object_missing(exc):
            forget_object_type_id(run.settings)
            raise HubSpotSchemaError(
                f"HubSpot has no object {object_type} any more ({exc.message}). The next "
                "push (or `invoice-sync setup`) creates it again."
            ) from exc
        raise
    finally:
        progress.close()
    return written_ids


def _finish(run: _Run, error: str | None = None) -> None:
    report = run.report
    report.seconds = time.monotonic() - run.started
    sync_log.finish_run(
        run.con,
        report.run_id,
        status=report.status,
        inserted=report.inserted,
        updated=report.updated,
        rejected=report.rejected,
        hubspot_calls=report.hubspot_calls,
        error=error,
        final=run.final,
    )


def _count_by_action(actions: Sequence[Action]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for action in actions:
        counts[action.action] = counts.get(action.action, 0) + 1
    return counts

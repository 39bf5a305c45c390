"""`invoice-sync push`: write ``reverse_etl.hubspot_invoice_actions`` to HubSpot.

Flow: read the action table (INSERT/UPDATE rows, see ``docs/contracts.md``) → log a ``running``
row in ``sync_log.runs`` → find the object (remembered objectTypeId, else :func:`ensure_schema`)
→ batches of ≤100 inputs to ``POST /crm/v3/objects/{objectType}/batch/upsert`` keyed on
``idProperty=xero_invoice_id``, several batches in flight (``HUBSPOT_MAX_IN_FLIGHT`` worker
threads under the one shared rate limiter, so throughput reaches HubSpot's limit rather than
the round-trip time; workers do HTTP only) → each answer recorded by the main thread, which
owns the one DuckDB connection, in one transaction (the answers that arrived together share
it; :mod:`reverse_etl.core.sync_log`) → run row finished → alerts (:mod:`reverse_etl.push.alerts`).
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

Failures per record: a ``207 Multi-Status`` answer applies the valid inputs and lists the
others in ``errors[]`` (``category``, ``message``, ``context``); each error is mapped back to
its input through ``context`` values or the message, and inputs with neither a result nor an
attributed error are rejected with every unattributed message — all errors are reported, not
only the first. A whole-batch ``400`` (HubSpot validates some values for the batch as a whole)
is bisected until the bad inputs stand alone, so the good ones land. Rejected records go to
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
from collections.abc import Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field, replace

import duckdb
from rich.console import Console

from reverse_etl.core import build_plan, sync_log
from reverse_etl.core.errors import HubSpotSchemaError, RejectedRecordsError
from reverse_etl.core.private_files import shared_folder
from reverse_etl.core.settings import Settings
from reverse_etl.hubspot.client import (
    BatchError,
    HubSpot,
    HubSpotRequestError,
    UpsertAnswer,
    UpsertResult,
)
from reverse_etl.hubspot.properties import PROPERTY_NAMES, UPSERT_KEY
from reverse_etl.push import alerts, records
from reverse_etl.push.actions import (
    ACTIONS_SCHEMA,
    Action,
    actions_invocation_id,
    read_actions,
    refresh_if_consumed,
)
from reverse_etl.push.customers import CustomersPushReport, push_customers
from reverse_etl.push.display import PushProgress, name_rejected, print_plan, summary_table
from reverse_etl.push.records import BatchOutcome, RejectedRecord, WrittenRecord
from reverse_etl.push.schema import forget_object_type_id, resolve_object_type_id
from reverse_etl.push.unexplained_invoices import UnexplainedInvoice, read_unexplained

log = logging.getLogger(__name__)

BATCH_SIZE = 100


@dataclass
class PushReport:
    run_id: str
    dry_run: bool = False
    actions_invocation_id: str | None = None
    rebuilt_stale_actions: bool = False
    status: str = "running"
    planned: dict[str, int] = field(default_factory=dict)
    inserted: int = 0
    updated: int = 0
    rejected_records: list[RejectedRecord] = field(default_factory=list)
    hubspot_calls: int = 0
    rate_limited: int = 0
    seconds: float = 0.0
    alerts_failed: int = 0
    customers: CustomersPushReport | None = None
    unexplained: list[UnexplainedInvoice] = field(default_factory=list)

    @property
    def rejected(self) -> int:
        return len(self.rejected_records)

    @property
    def customers_refused(self) -> int:
        return len(self.customers.refused) if self.customers is not None else 0

    @property
    def records_per_second(self) -> float:
        return (self.inserted + self.updated) / self.seconds if self.seconds else 0.0

    def summary(self) -> str:
        if self.dry_run:
            plan = ", ".join(f"{n} {a}" for a, n in sorted(self.planned.items())) or "nothing"
            return f"Dry run: would write {plan}; nothing was sent to HubSpot."
        text = (
            f"Pushed to HubSpot: {self.inserted} created, {self.updated} updated, "
            f"{self.rejected} rejected in {self.seconds:.1f}s ({self.hubspot_calls} HubSpot calls"
            + (f", {self.rate_limited} rate-limited" if self.rate_limited else "")
            + ")."
        )
        if self.rejected:
            text += " Rejected: " + name_rejected(self.rejected_records) + "."
        if self.customers is not None:
            text += " " + self.customers.summary()
        if self.unexplained:
            text += (
                f" {len(self.unexplained)} HubSpot invoice record(s) match no Xero invoice and "
                "were left untouched (reverse_etl.hubspot_unexplained_invoices)."
            )
        return text

    def as_dict(self) -> dict[str, object]:
        """The push's part of the ``--json`` run summary."""
        return {
            "status": self.status,
            "planned": dict(self.planned),
            "inserted": self.inserted,
            "updated": self.updated,
            "rejected": self.rejected,
            "hubspot_calls": self.hubspot_calls,
            "rate_limited": self.rate_limited,
            "seconds": round(self.seconds, 3),
            "actions_invocation_id": self.actions_invocation_id,
            "rebuilt_stale_actions": self.rebuilt_stale_actions,
            "customers": self.customers.as_dict() if self.customers is not None else None,
            "customers_refused": (
                self.customers.refused_as_dicts() if self.customers is not None else []
            ),
            "unexplained_invoice_records": [u.as_dict() for u in self.unexplained],
        }

    def rejected_as_dicts(self) -> list[dict[str, object]]:
        return [
            {
                "xero_invoice_id": r.xero_invoice_id,
                "invoice_number": r.invoice_number,
                "action": r.action,
                "category": r.category,
                "message": r.message,
            }
            for r in self.rejected_records
        ]

    def raise_for_rejections(self) -> None:
        parts = []
        if self.rejected:
            parts.append(
                f"HubSpot rejected {self.rejected} invoice(s): "
                f"{name_rejected(self.rejected_records)}. The others were written; see "
                "sync_log.record_results, fix the data in Xero, and the next run retries them."
            )
        if self.customers is not None and self.customers.refused:
            lines = self.customers.rejected
            more = f" (and {len(lines) - 5} more)" if len(lines) > 5 else ""
            parts.append(
                f"HubSpot refused {len(lines)} customer write(s): "
                + "; ".join(lines[:5])
                + f"{more}. See sync_log.customer_results."
            )
        if parts:
            raise RejectedRecordsError(" ".join(parts))


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
    shared_folder(settings.warehouse_path.parent)
    whole = actions_schema == ACTIONS_SCHEMA
    report.rebuilt_stale_actions = refresh_if_consumed(settings) if whole else False
    con = sync_log.connect_warehouse(settings.warehouse_path)
    final = run_id is None
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
            _finish(con, report, started, final=final)
            return report
        hub = client or HubSpot(settings.hubspot)
        calls_before = hub.calls
        try:
            changes = alerts.read_status_changes(con, actions_schema)
            written_ids = _push(settings, con, hub, actions, report, console) if actions else set()
            # a first sync with nothing to write still sets the object up (no call later)
            object_type = resolve_object_type_id(settings, hub)
            if whole:
                report.customers = push_customers(con, hub, object_type, report.run_id)
        except BaseException as exc:
            report.hubspot_calls = hub.calls - calls_before
            report.status = "failed"
            _finish(con, report, started, error=f"{type(exc).__name__}: {exc}", final=final)
            raise
        report.hubspot_calls = hub.calls - calls_before
        report.rate_limited = hub.rate_limited
        report.status = "partial" if report.rejected or report.customers_refused else "success"
        _finish(con, report, started, final=final)
        if whole and report.status == "success":  # the next sync may skip while nothing changes
            build_plan.mark_pushed(con)
        try:
            report.unexplained = read_unexplained(con) if whole else []
        except duckdb.Error as exc:  # a report of what HubSpot holds never fails the sync
            log.warning("Unexplained invoice records could not be read: %s", exc)
        try:
            outcome = alerts.send_push_alerts(
                settings,
                con,
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
        if console is None:
            log.info(report.summary())
        elif final:  # within a sync, the sync prints the push's summary line
            console.print(summary_table(report))
        return report
    finally:
        con.close()


def _push(
    settings: Settings,
    con: duckdb.DuckDBPyConnection,
    hub: HubSpot,
    actions: Sequence[Action],
    report: PushReport,
    console: Console | None,
) -> set[str]:
    """Send every batch, at most ``max_in_flight`` at a time; record each as it returns."""
    object_type = resolve_object_type_id(settings, hub)
    columns = records.snapshot_columns(con)
    batches = list(_chunks(actions, BATCH_SIZE))
    by_id = {a.xero_invoice_id: a for a in actions}
    written_ids: set[str] = set()
    workers = settings.hubspot.max_in_flight
    progress = PushProgress(console, total=len(actions))
    fatal: BaseException | None = None
    try:
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="hubspot-push") as pool:
            pending: set[Future[BatchOutcome]] = set()
            queue = iter(batches)
            while True:
                while fatal is None and len(pending) < workers:
                    batch = next(queue, None)
                    if batch is None:
                        break
                    pending.add(pool.submit(upsert_isolating_rejects, hub, object_type, batch))
                if not pending:
                    break
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                arrived = BatchOutcome()
                for future in done:
                    try:
                        arrived.extend(future.result())
                    except BaseException as exc:  # stop sending; still record what landed
                        fatal = fatal or exc
                arrived.rejected = [
                    replace(
                        r,
                        invoice_number=by_id[r.xero_invoice_id].values.get("invoice_number"),
                        changed_properties=by_id[r.xero_invoice_id].changed_properties,
                    )
                    for r in arrived.rejected
                ]
                records.record_batch(con, report.run_id, arrived, columns)
                for written in arrived.written:
                    written_ids.add(written.xero_invoice_id)
                    if written.new:
                        report.inserted += 1
                    else:
                        report.updated += 1
                report.rejected_records.extend(arrived.rejected)
                progress.advance(len(arrived.written) + len(arrived.rejected), report)
    finally:
        progress.close()
    if fatal is not None:
        if _object_missing(fatal):
            forget_object_type_id(settings)
            raise HubSpotSchemaError(
                f"HubSpot has no object {object_type} any more ({fatal.message}). The next "
                "push (or `invoice-sync setup`) creates it again."
            ) from fatal
        raise fatal
    return written_ids


def upsert_isolating_rejects(
    hub: HubSpot, object_type: str, batch: Sequence[Action]
) -> BatchOutcome:
    """Worker: HTTP only. Upsert ``batch``; bisect a whole-batch 400/409 to isolate bad inputs."""
    try:
        result = hub.batch_upsert(object_type, [a.payload() for a in batch])
    except HubSpotRequestError as exc:
        if exc.status not in (400, 409) or _about_the_batch(exc):
            raise
        if len(batch) == 1:
            only = batch[0]
            return BatchOutcome(
                rejected=[
                    RejectedRecord(
                        only.xero_invoice_id,
                        only.action,
                        exc.category,
                        exc.message,
                        only.hs_object_id,
                    )
                ]
            )
        middle = len(batch) // 2
        outcome = upsert_isolating_rejects(hub, object_type, batch[:middle])
        outcome.extend(upsert_isolating_rejects(hub, object_type, batch[middle:]))
        return outcome
    return _complete_new_records(hub, object_type, batch, _read_batch_answer(batch, result))


def _complete_new_records(
    hub: HubSpot, object_type: str, batch: Sequence[Action], outcome: BatchOutcome
) -> BatchOutcome:
    """An UPDATE sends only the changed properties; if HubSpot answers ``new: true`` the record
    it meant to update is gone (archived or deleted in HubSpot: an archived record no longer
    holds its unique value, so the upsert created a new one) and the new record holds only
    those properties. Send such records again with every property, so they end complete."""
    by_id = {a.xero_invoice_id: a for a in batch}
    partial = [
        w
        for w in outcome.written
        if w.new
        and by_id[w.xero_invoice_id].action == "UPDATE"
        and by_id[w.xero_invoice_id].changed_properties
    ]
    if not partial:
        return outcome
    log.warning(
        "HubSpot created %d new record(s) for invoices it held before (archived or deleted in "
        "HubSpot): sending them again with every property.",
        len(partial),
    )
    resend = [replace(by_id[w.xero_invoice_id], changed_properties=()) for w in partial]
    again = upsert_isolating_rejects(hub, object_type, resend)
    done = {w.xero_invoice_id for w in partial}
    outcome.written = [w for w in outcome.written if w.xero_invoice_id not in done]
    outcome.written += [replace(w, new=True) for w in again.written]
    outcome.rejected += again.rejected
    return outcome


# 400s about the request as a whole, which bisecting cannot cure (HubSpot's wording; the
# first is its answer for an unknown objectType, the others concern the idProperty / inputs).
BATCH_LEVEL_MESSAGES = ("Unable to infer object type", "non-unique", "Duplicate IDs")


def _about_the_batch(exc: HubSpotRequestError) -> bool:
    return any(marker in exc.message for marker in BATCH_LEVEL_MESSAGES)


def _object_missing(exc: BaseException) -> bool:
    return isinstance(exc, HubSpotRequestError) and (
        exc.status == 404 or "Unable to infer object type" in exc.message
    )


def _read_batch_answer(batch: Sequence[Action], answer: UpsertAnswer) -> BatchOutcome:
    """Map a 200/207 answer back onto the inputs: results by echoed id, errors by context."""
    by_id = {a.xero_invoice_id: a for a in batch}
    outcome = BatchOutcome()
    unmatched: list[UpsertResult] = []
    for result in answer.results:
        action = by_id.pop(str(result.properties.get(UPSERT_KEY)), None)
        if action is None:
            unmatched.append(result)
        else:
            outcome.written.append(_written(action, result))
    unattributed: list[BatchError] = []
    for error in answer.errors:
        named = _error_mentions(error, by_id)
        if not named:
            unattributed.append(error)
        for key in named:
            action = by_id.pop(key)
            outcome.rejected.append(
                RejectedRecord(
                    key, action.action, error.category, error.message, action.hs_object_id
                )
            )
    if unmatched and not answer.errors and len(unmatched) == len(by_id):
        # no echo of the id to match on (not seen from HubSpot): fall back to input order
        for action, result in zip(list(by_id.values()), unmatched, strict=True):
            outcome.written.append(_written(action, result))
        by_id.clear()
    for action in by_id.values():  # neither a result nor an error naming it
        category = " / ".join(sorted({e.category for e in unattributed})) or "NO_RESULT"
        message = " | ".join(e.message for e in unattributed) or (
            "HubSpot returned no result for this input"
            + (
                f" (its answer was malformed: {'; '.join(answer.problems)})"
                if answer.problems
                else ""
            )
        )
        outcome.rejected.append(
            RejectedRecord(
                action.xero_invoice_id, action.action, category, message, action.hs_object_id
            )
        )
    if unattributed and not by_id:
        for error in unattributed:
            log.warning("HubSpot reported an error naming no input: %s", error.message)
    return outcome


def _error_mentions(error: BatchError, candidates: dict[str, Action]) -> list[str]:
    """The inputs an error names: in its ``context`` values (HubSpot puts the input's ``id``
    there), else in its message."""
    exact = [v for values in error.context.values() for v in values if v in candidates]
    if exact:
        return list(dict.fromkeys(exact))
    return [key for key in candidates if key in error.message]


def _written(action: Action, result: UpsertResult) -> WrittenRecord:
    values: dict[str, str | None] = dict(action.values)
    values.update({k: v for k, v in result.properties.items() if k in PROPERTY_NAMES})
    return WrittenRecord(
        xero_invoice_id=action.xero_invoice_id,
        hs_object_id=result.id,
        action=action.action,
        properties=values,
        created_at=result.created_at,
        updated_at=result.updated_at,
        new=result.new,
        changed_properties=action.changed_properties,
    )


# -- small helpers -------------------------------------------------------------------------


def _finish(
    con: duckdb.DuckDBPyConnection,
    report: PushReport,
    started: float,
    error: str | None = None,
    *,
    final: bool = True,
) -> None:
    report.seconds = time.monotonic() - started
    sync_log.finish_run(
        con,
        report.run_id,
        status=report.status,
        inserted=report.inserted,
        updated=report.updated,
        rejected=report.rejected,
        hubspot_calls=report.hubspot_calls,
        error=error,
        final=final,
    )


def _chunks(items: Sequence[Action], size: int) -> Iterator[list[Action]]:
    for start in range(0, len(items), size):
        yield list(items[start : start + size])


def _count_by_action(actions: Sequence[Action]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for action in actions:
        counts[action.action] = counts.get(action.action, 0) + 1
    return counts

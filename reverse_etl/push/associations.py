"""The associations phase of the customers push (issue 13): REMOVE then CREATE the invoice
records' associations with companies and contacts (``reverse_etl.hubspot_association_actions``,
plus those of companies the same run created), ``max_in_flight`` batches at a time through the
one HubSpot client; see :mod:`reverse_etl.push.customers` for the whole story.

- ``POST /crm/associations/{V}/{invoiceType}/{companies|contacts}/batch/archive`` for REMOVE,
  ``…/batch/create`` for CREATE (≤ :data:`ASSOCIATION_BATCH` inputs), with the unlabelled
  USER_DEFINED type read from ``…/labels`` (one call per target type, only when there is
  something to send). A 404 on that read (the association is not defined) fails only this
  phase: its writes are recorded refused, one line names `invoice-sync setup` (exit 3), and the
  invoices already written stay written.
- An association to a company or contact the snapshot holds as archived (deleted, or merged
  away) is forgotten without a call: HubSpot dropped it, or moved it to the merged record.
- What HubSpot confirmed is written back to ``raw_hubspot.invoice_associations`` once per phase.
"""

from __future__ import annotations

import logging
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from reverse_etl.core.errors import HubSpotSchemaError
from reverse_etl.core.warehouse import Connection
from reverse_etl.core.warehouse_sql import IN_LIST, insert_rows
from reverse_etl.hubspot.client import HubSpot, HubSpotRequestError
from reverse_etl.hubspot.customer_calls import COMPANIES, CONTACTS, BatchAnswer
from reverse_etl.hubspot.customer_records import association_key
from reverse_etl.push.batches import send_batches
from reverse_etl.push.customer_actions import AssociationAction
from reverse_etl.push.customer_outcomes import error_naming, ids_of, mark_gone, named_ids
from reverse_etl.push.customer_schema import association_type_id
from reverse_etl.push.report import PHASE_FAILED, CustomerOutcome, PushReport
from reverse_etl.push.results import record_customer_results

log = logging.getLogger(__name__)

ASSOCIATION_BATCH = 1_000
# the columns of raw_hubspot.invoice_associations the push writes back
ASSOCIATION_COLUMNS = tuple(
    (name, "varchar")
    for name in (
        "association_key",
        "invoice_hs_object_id",
        "to_object_type",
        "to_object_id",
        "_dlt_load_id",
        "_dlt_id",
    )
)
T = TypeVar("T")


@dataclass(frozen=True)
class _Phase:
    """One phase: the REMOVEs or the CREATEs of the associations with one target type."""

    con: Connection
    hub: HubSpot
    object_type: str  # the invoice object's type id
    to_type: str  # companies | contacts
    report: PushReport

    def send(
        self, items: Sequence[T], send: Callable[[list[T]], BatchAnswer]
    ) -> Iterator[list[tuple[list[T], BatchAnswer]]]:
        """``max_in_flight`` association batches at a time, through the push's one sender."""
        return send_batches(
            items,
            ASSOCIATION_BATCH,
            send,
            max_in_flight=self.hub.settings.max_in_flight,
            name="hubspot-customers",
        )


def push_associations(
    con: Connection,
    hub: HubSpot,
    object_type: str,
    actions: list[AssociationAction],
    report: PushReport,
) -> None:
    missing = sorted({a.xero_invoice_id for a in actions if not a.invoice_hs_object_id})
    ids = _record_ids(con, missing)
    by_target: dict[tuple[str, str], list[AssociationAction]] = defaultdict(list)
    for action in actions:
        record_id = action.invoice_hs_object_id or ids.get(action.xero_invoice_id)
        if not record_id:
            continue  # its record was not written (rejected): next run
        by_target[(action.action, action.to_object_type)].append(action.with_record(record_id))
    for (verb, to_type), batch_actions in sorted(
        by_target.items(), key=lambda kv: kv[0][0] != "REMOVE"
    ):
        phase = _Phase(con, hub, object_type, to_type, report)
        if verb == "REMOVE":
            _remove(phase, batch_actions)
        else:
            _create(phase, batch_actions)


def _remove(phase: _Phase, actions: list[AssociationAction]) -> None:
    actions = _without_archived_targets(phase.con, phase.to_type, actions)
    grouped: dict[str, list[AssociationAction]] = defaultdict(list)
    for action in actions:
        grouped[action.record_id].append(action)

    def send(batch: list[tuple[str, list[AssociationAction]]]) -> BatchAnswer:
        inputs = [{"from": {"id": r}, "to": [{"id": a.to_id} for a in group]} for r, group in batch]
        return phase.hub.associations_archive(phase.object_type, phase.to_type, inputs)

    done: list[tuple[str, str]] = []
    outcomes: list[CustomerOutcome] = []
    try:
        for answers in phase.send(list(grouped.items()), send):
            for batch, answer in answers:
                phase.report.association_calls += 1
                refused = named_ids(answer)
                for record_id, group in batch:
                    error = error_naming(answer, record_id) if record_id in refused else None
                    for action in group:
                        outcomes.append(_association_outcome(action, error))
                        if error is None:
                            done.append((record_id, action.to_id))
    finally:  # what HubSpot confirmed is kept even when a later call fails
        phase.report.associations_removed += len(done)
        _forget_associations(phase.con, phase.to_type, done)
        record_customer_results(phase.con, phase.report, outcomes)


def _create(phase: _Phase, actions: list[AssociationAction]) -> None:
    try:
        type_id = association_type_id(phase.hub, phase.object_type, phase.to_type)
    except (HubSpotRequestError, HubSpotSchemaError) as exc:
        if isinstance(exc, HubSpotRequestError) and exc.status != 404:
            raise
        _labels_missing(phase, actions)
        return
    phase.report.association_calls += 1
    types = [{"associationCategory": "USER_DEFINED", "associationTypeId": type_id}]

    def send(batch: list[AssociationAction]) -> BatchAnswer:
        inputs = [
            {"from": {"id": a.record_id}, "to": {"id": a.to_id}, "types": types} for a in batch
        ]
        return phase.hub.associations_create(phase.object_type, phase.to_type, inputs)

    made: list[tuple[str, str]] = []
    outcomes: list[CustomerOutcome] = []
    gone: set[str] = set()
    try:
        for answers in phase.send(actions, send):
            for batch, answer in answers:
                phase.report.association_calls += 1
                landed = {(str(x["fromObjectId"]), str(x["toObjectId"])) for x in answer.results}
                made += sorted(landed)
                for action in batch:
                    error = _create_error(answer, action, landed, gone)
                    outcomes.append(_association_outcome(action, error))
    finally:  # written back once per phase (one statement, not one per batch), even on failure
        phase.report.associations_created += len(made)
        _remember_associations(phase.con, phase.to_type, made, phase.report.run_id)
        mark_gone(phase.con, phase.to_type, gone)
        record_customer_results(phase.con, phase.report, outcomes)


def _create_error(
    answer: BatchAnswer,
    action: AssociationAction,
    landed: set[tuple[str, str]],
    gone: set[str],
) -> dict[str, Any] | None:
    """HubSpot's error for an association that did not land (None if it did); a company or
    contact an ``OBJECT_NOT_FOUND`` names alone (not the invoice record) joins ``gone``."""
    pair = (action.record_id, action.to_id)
    if pair in landed:
        return None
    error = error_naming(answer, action.to_id, action.record_id)
    named = ids_of(error)
    not_found = error.get("category") == "OBJECT_NOT_FOUND"
    if not_found and pair[1] in named and pair[0] not in named:
        gone.add(pair[1])
    return error


def _labels_missing(phase: _Phase, actions: list[AssociationAction]) -> None:
    """HubSpot has no association type from the invoice object to ``to_type`` (its labels
    read answers 404, or lists no unlabelled type): this phase cannot run, the invoices already
    written stay written, and the run ends partial (exit 3) with one line naming the fix. Each
    action is recorded refused, so the next run, after setup, makes them."""
    report = phase.report
    message = f"HubSpot has no association type between {phase.object_type} and {phase.to_type}"
    report.phase_failures.append(
        f"associating {len(actions)} invoice(s) with {phase.to_type}: {message} (its labels read "
        "failed); run `invoice-sync setup` to define the association, and the next run makes "
        "them"
    )
    error = {"category": PHASE_FAILED, "message": message}
    outcomes = [_association_outcome(action, error) for action in actions]
    log.warning("HubSpot: %s", report.phase_failures[-1])
    record_customer_results(phase.con, report, outcomes, logged=True)


def _association_outcome(
    action: AssociationAction, error: dict[str, Any] | None
) -> CustomerOutcome:
    return CustomerOutcome(
        kind="association",
        action=str(action.action),
        outcome="refused" if error is not None else "written",
        xero_contact_id=action.xero_contact_id,
        xero_invoice_id=action.xero_invoice_id,
        invoice_hs_object_id=action.record_id,
        to_object_type=action.to_object_type,
        to_object_id=action.to_id,
        category=error.get("category") if error else None,
        message=error.get("message") if error else None,
    )


def _record_ids(con: Connection, xero_ids: Sequence[str]) -> dict[str, str]:
    """The HubSpot ids of invoice records this push has just created (written back)."""
    if not xero_ids:
        return {}
    rows = con.execute(
        "select xero_invoice_id, hs_object_id from raw_hubspot.invoice_records "
        f"where xero_invoice_id {IN_LIST} and not coalesce(archived, false)",
        [list(xero_ids)],
    ).fetchall()
    return {str(x): str(h) for x, h in rows}


def _remember_associations(
    con: Connection, to_type: str, pairs: list[tuple[str, str]], run_id: str
) -> None:
    if not pairs:
        return
    keys = [association_key(r, to_type, t) for r, t in pairs]
    con.execute(
        f"delete from raw_hubspot.invoice_associations where association_key {IN_LIST}",
        [keys],
    )
    load = f"push:{run_id}"
    rows = [
        (k, r, to_type, t, load, str(uuid.uuid4())) for k, (r, t) in zip(keys, pairs, strict=True)
    ]
    insert_rows(con, "raw_hubspot.invoice_associations", ASSOCIATION_COLUMNS, rows)


def _without_archived_targets(
    con: Connection, to_type: str, actions: list[AssociationAction]
) -> list[AssociationAction]:
    """The REMOVE actions still worth a call. An association to a company or contact the
    snapshot holds as archived (deleted, or merged away: HubSpot moves a merged record's
    associations to the record the merge made — changelog "Updated merge functionality for
    contacts and companies") no longer exists in HubSpot: it is forgotten here, not sent."""
    if not actions or to_type not in (COMPANIES, CONTACTS):
        return actions
    archived = {
        str(r[0])
        for r in con.execute(
            f"select hs_object_id from raw_hubspot.{to_type} where coalesce(archived, false) "
            f"and hs_object_id {IN_LIST}",
            [sorted({a.to_id for a in actions})],
        ).fetchall()
    }
    gone = [(a.record_id, a.to_id) for a in actions if a.to_id in archived]
    if gone:
        log.info(
            "%d association(s) to archived %s forgotten without a call (HubSpot dropped or moved "
            "them with the record).",
            len(gone),
            to_type,
        )
        _forget_associations(con, to_type, gone)
    return [a for a in actions if a.to_id not in archived]


def _forget_associations(con: Connection, to_type: str, pairs: list[tuple[str, str]]) -> None:
    if pairs:
        con.execute(
            f"delete from raw_hubspot.invoice_associations where association_key {IN_LIST}",
            [[association_key(r, to_type, t) for r, t in pairs]],
        )

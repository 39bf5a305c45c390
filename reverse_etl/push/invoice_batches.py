"""One batch of invoice upserts, from the worker thread's side (HTTP only, no SQL): send it,
read HubSpot's answer back onto the inputs, and isolate the inputs HubSpot refused, so the
good ones land (see :mod:`reverse_etl.push.invoices` for the whole push).

- A ``207 Multi-Status`` answer applies the valid inputs and lists the others in ``errors[]``
  (``category``, ``message``, ``context``); each error is mapped back to its input through
  ``context`` values or the message, and inputs with neither a result nor an attributed error
  are rejected with every unattributed message: all errors are reported, not only the first.
- A whole-batch ``400``/``409`` (HubSpot validates some values for the batch as a whole) is
  bisected until the bad inputs stand alone.
- An UPDATE answered ``new: true`` is sent again with every property
  (:func:`_complete_new_records`).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import replace

from reverse_etl.hubspot.client import (
    BatchError,
    HubSpot,
    HubSpotRequestError,
    UpsertAnswer,
    UpsertResult,
)
from reverse_etl.hubspot.properties import PROPERTY_NAMES, UPSERT_KEY
from reverse_etl.push.actions import Action
from reverse_etl.push.records import BatchOutcome, RejectedRecord, WrittenRecord

log = logging.getLogger("reverse_etl.push.invoices")  # these warnings are the invoice push's

BATCH_SIZE = 100


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


def object_missing(exc: BaseException) -> bool:
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

"""Reading the customers' batch answers (issue 13), shared by the companies
(:mod:`reverse_etl.push.customers`) and associations (:mod:`reverse_etl.push.associations`)
phases: which inputs a batch answer's per-input errors name, HubSpot's error for an input that
got no result, and marking a company or contact HubSpot no longer has as archived in
``raw_hubspot``. The outcomes themselves are :class:`~reverse_etl.push.report.CustomerOutcome`
values, written by :func:`reverse_etl.push.results.record_customer_results`.
"""

from __future__ import annotations

import logging
from typing import Any

from reverse_etl.core.warehouse import Connection
from reverse_etl.core.warehouse_sql import IN_LIST
from reverse_etl.hubspot.customer_calls import COMPANIES, CONTACTS, BatchAnswer
from reverse_etl.push.report import SINGULAR

log = logging.getLogger(__name__)


def ids_of(error: dict[str, Any]) -> set[str]:
    context = error.get("context") or {}
    if not isinstance(context, dict):
        return set()
    return {str(i) for values in context.values() if isinstance(values, list) for i in values}


def named_ids(answer: BatchAnswer) -> set[str]:
    return {i for error in answer.errors for i in ids_of(error)}


def error_naming(answer: BatchAnswer, *ids: str | None) -> dict[str, Any]:
    """HubSpot's error for an input that got no result: the one whose context names one of
    ``ids`` (in that order of preference), else all the batch's messages together (HubSpot
    does not always say which input an error is about)."""
    for wanted in ids:
        for error in answer.errors:
            if wanted is not None and wanted in ids_of(error):
                return error
    if len(answer.errors) == 1:
        return answer.errors[0]
    messages = "; ".join(str(e.get("message")) for e in answer.errors)
    return {
        "category": "UNATTRIBUTED" if answer.errors else "NO_RESULT",
        "message": messages or "HubSpot returned no result for it and no error",
    }


def not_found(answer: BatchAnswer, candidates: set[str]) -> set[str]:
    """Of ``candidates``, the ids an ``OBJECT_NOT_FOUND`` error names."""
    return {
        i
        for error in answer.errors
        if error.get("category") == "OBJECT_NOT_FOUND"
        for i in ids_of(error)
        if i in candidates
    }


def mark_gone(con: Connection, to_type: str, ids: set[str]) -> None:
    """HubSpot no longer has these companies or contacts: archive them in the snapshot and drop
    their associations (HubSpot drops a deleted record's associations), so the next transform
    matches their customers again."""
    if not ids or to_type not in (COMPANIES, CONTACTS):
        return
    for company_or_contact in sorted(ids):
        log.warning(
            "HubSpot has no %s %s any more (deleted or merged): the next run matches its "
            "customer again",
            SINGULAR[to_type],
            company_or_contact,
        )
    con.execute(
        f"update raw_hubspot.{to_type} set archived = true where hs_object_id {IN_LIST}",
        [sorted(ids)],
    )
    con.execute(
        "delete from raw_hubspot.invoice_associations where to_object_type = ? and "
        f"to_object_id {IN_LIST}",
        [to_type, sorted(ids)],
    )

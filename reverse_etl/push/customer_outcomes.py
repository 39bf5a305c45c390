"""What the customers part of the push did, write by write (issue 13): each company or
association write and HubSpot's words for it (:class:`CustomerOutcome`), the run's counts
(:class:`CustomersPushReport`), and the bookkeeping shared by the companies
(:mod:`reverse_etl.push.customers`) and associations (:mod:`reverse_etl.push.associations`)
phases: reading a batch answer's per-input errors, recording every outcome in
``sync_log.customer_results``, and marking a company or contact HubSpot no longer has as
archived in ``raw_hubspot``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from operator import attrgetter
from typing import Any

import duckdb

from reverse_etl.core import sync_log
from reverse_etl.hubspot.customer_calls import COMPANIES, CONTACTS, BatchAnswer

log = logging.getLogger(__name__)

SINGULAR = {"companies": "company", "contacts": "contact"}
PHASE_FAILED = "ASSOCIATION_NOT_DEFINED"  # the category of the writes of a phase that could not run


@dataclass(slots=True)
class CustomerOutcome:
    """One company or association write and what HubSpot said of it."""

    kind: str  # company | association
    action: str  # UPDATE | CLEAR | CREATE | REMOVE
    outcome: str  # written | refused
    xero_contact_id: str | None = None
    hs_company_id: str | None = None
    xero_invoice_id: str | None = None
    invoice_hs_object_id: str | None = None
    to_object_type: str | None = None
    to_object_id: str | None = None
    category: str | None = None
    message: str | None = None
    invoice_number: str | None = None

    def line(self) -> str:
        """One line: which write, HubSpot's words, and the fix."""
        words = f"{self.category or 'ERROR'}: {(self.message or 'no message').rstrip('. ')}"
        if self.kind == "association":
            invoice = self.invoice_number or self.xero_invoice_id
            target = SINGULAR.get(self.to_object_type or "", self.to_object_type)
            verb = "removing the association of" if self.action == "REMOVE" else "associating"
            what = f"{verb} invoice {invoice} with {target} {self.to_object_id}"
        else:
            target = "company"
            company = f"company {self.hs_company_id}" if self.hs_company_id else "a new company"
            what = f"{self.action.lower()} of {company} for Xero contact {self.xero_contact_id}"
        if self.category == "OBJECT_NOT_FOUND":
            fix = (
                f"if that {target} was deleted or merged in HubSpot, the next run matches the "
                "customer again without it"
            )
        else:
            fix = (
                f"it is retried next run; fix the {target} in HubSpot, or set xero_contact_id "
                "on the right company"
            )
        return f"{what}: {words}; {fix}"


@dataclass
class CustomersPushReport:
    companies_updated: int = 0
    companies_created: int = 0
    associations_created: int = 0
    associations_removed: int = 0
    association_calls: int = 0
    company_calls: int = 0
    refused: list[CustomerOutcome] = field(default_factory=list)
    phase_failures: list[str] = field(default_factory=list)  # a whole phase could not run

    @property
    def rejected(self) -> list[str]:
        """One line per phase that could not run, then one per other refused write (see
        :meth:`CustomerOutcome.line`)."""
        others = [r.line() for r in self.refused if r.category != PHASE_FAILED]
        return self.phase_failures + others

    def summary(self) -> str:
        text = (
            f"Customers: {self.companies_updated} company(ies) updated, "
            f"{self.companies_created} created; {self.associations_created} association(s) "
            f"made, {self.associations_removed} removed ({self.company_calls} company + "
            f"{self.association_calls} association call(s))"
        )
        if self.refused:
            text += f"; {len(self.refused)} refused: " + "; ".join(self.rejected[:5])
        return text + "."

    def as_dict(self) -> dict[str, object]:
        """The customers' part of the ``--json`` run summary."""
        return {
            "companies_updated": self.companies_updated,
            "companies_created": self.companies_created,
            "associations_created": self.associations_created,
            "associations_removed": self.associations_removed,
            "company_calls": self.company_calls,
            "association_calls": self.association_calls,
            "refused": len(self.refused),
        }

    def refused_as_dicts(self) -> list[dict[str, object]]:
        return [
            {
                "kind": r.kind,
                "action": r.action,
                "xero_contact_id": r.xero_contact_id,
                "hs_company_id": r.hs_company_id,
                "xero_invoice_id": r.xero_invoice_id,
                "invoice_number": r.invoice_number,
                "to_object_type": r.to_object_type,
                "to_object_id": r.to_object_id,
                "category": r.category,
                "message": r.message,
            }
            for r in self.refused
        ]


# -- outcomes ------------------------------------------------------------------------------


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


def mark_gone(con: duckdb.DuckDBPyConnection, to_type: str, ids: set[str]) -> None:
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
        f"update raw_hubspot.{to_type} set archived = true where hs_object_id in "
        "(select unnest(?))",
        [sorted(ids)],
    )
    con.execute(
        "delete from raw_hubspot.invoice_associations where to_object_type = ? and "
        "to_object_id in (select unnest(?))",
        [to_type, sorted(ids)],
    )


def record(
    con: duckdb.DuckDBPyConnection,
    run_id: str,
    outcomes: list[CustomerOutcome],
    report: CustomersPushReport,
    *,
    logged: bool = False,
) -> None:
    """Append every outcome to ``sync_log.customer_results``; name each refusal in the log
    (unless the caller already logged them as one)."""
    if not outcomes:
        return
    refused = [o for o in outcomes if o.outcome == "refused"]
    if refused:
        numbers = invoice_numbers(con, [o.xero_invoice_id for o in refused if o.xero_invoice_id])
        refused = [replace(o, invoice_number=numbers.get(o.xero_invoice_id or "")) for o in refused]
        for outcome in refused if not logged else ():
            log.warning("HubSpot refused %s", outcome.line())
        report.refused.extend(refused)
    fields = (
        "kind",
        "action",
        "outcome",
        "xero_contact_id",
        "hs_company_id",
        "xero_invoice_id",
        "invoice_hs_object_id",
        "to_object_type",
        "to_object_id",
        "category",
        "message",
    )
    rows = list(map(attrgetter(*fields), outcomes))
    columns = {name: [row[i] for row in rows] for i, name in enumerate(fields)}
    con.execute(
        "insert into sync_log.customer_results (run_id, kind, action, outcome, xero_contact_id, "
        "hs_company_id, xero_invoice_id, invoice_hs_object_id, to_object_type, to_object_id, "
        "error_category, error_message, recorded_at) select $run, unnest($kind), "
        "unnest($action), unnest($outcome), unnest($xero_contact_id), unnest($hs_company_id), "
        "unnest($xero_invoice_id), unnest($invoice_hs_object_id), unnest($to_object_type), "
        "unnest($to_object_id), unnest($category), unnest($message), $at",
        {"run": run_id, "at": sync_log.now(), **columns},
    )


def invoice_numbers(con: duckdb.DuckDBPyConnection, xero_ids: list[str]) -> dict[str, str]:
    if not xero_ids:
        return {}
    try:
        rows = con.execute(
            "select xero_invoice_id, invoice_number from reverse_etl.hubspot_invoices_desired "
            "where xero_invoice_id in (select unnest(?))",
            [xero_ids],
        ).fetchall()
    except duckdb.Error:  # no transform yet (benchmarks, older warehouses)
        return {}
    return {str(x): str(n) for x, n in rows if n}


# -- helpers -------------------------------------------------------------------------------


def chunks(items: Sequence[Any], size: int) -> Iterator[list[Any]]:
    for start in range(0, len(items), size):
        yield list(items[start : start + size])

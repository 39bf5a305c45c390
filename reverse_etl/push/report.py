"""What a push did, for the run summary, the ``--json`` output and the exit code: the one
:class:`PushReport` of a run (invoices, then the customers' companies and associations), and
each company or association write with HubSpot's words for it (:class:`CustomerOutcome`).
Refusals are named here, once, for the summary line and for
:meth:`PushReport.raise_for_rejections`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from operator import attrgetter

from reverse_etl.core.errors import RejectedRecordsError
from reverse_etl.push.records import RejectedRecord
from reverse_etl.push.unexplained_invoices import UnexplainedInvoice

SINGULAR = {"companies": "company", "contacts": "contact"}
PHASE_FAILED = "ASSOCIATION_NOT_DEFINED"  # the category of the writes of a phase that could not run

# The fields of a refusal in the ``--json`` summary, in order: an invoice HubSpot rejected, and
# a company or association write it refused.
REJECTED_FIELDS = ("xero_invoice_id", "invoice_number", "action", "category", "message")
REFUSED_FIELDS = (
    "kind",
    "action",
    "xero_contact_id",
    "hs_company_id",
    "xero_invoice_id",
    "invoice_number",
    "to_object_type",
    "to_object_id",
    "category",
    "message",
)


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
class PushReport:
    """The one report of a push: the invoices' counts and rejections, then the customers'
    (company balances and associations, written after the invoices of a whole build:
    ``customers_pushed``), each counted by the phase that made the call."""

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
    unexplained: list[UnexplainedInvoice] = field(default_factory=list)
    customers_pushed: bool = False
    companies_updated: int = 0
    companies_created: int = 0
    associations_created: int = 0
    associations_removed: int = 0
    association_calls: int = 0
    company_calls: int = 0
    refused: list[CustomerOutcome] = field(default_factory=list)
    phase_failures: list[str] = field(default_factory=list)  # a whole phase could not run

    @property
    def rejected(self) -> int:
        return len(self.rejected_records)

    @property
    def customers_refused(self) -> int:
        return len(self.refused) if self.customers_pushed else 0

    @property
    def refused_lines(self) -> list[str]:
        """One line per customers' phase that could not run, then one per other refused write
        (see :meth:`CustomerOutcome.line`)."""
        others = [r.line() for r in self.refused if r.category != PHASE_FAILED]
        return self.phase_failures + others

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
        if self.customers_pushed:
            text += " " + self.customers_summary()
        if self.unexplained:
            text += (
                f" {len(self.unexplained)} HubSpot invoice record(s) match no Xero invoice and "
                "were left untouched (reverse_etl.hubspot_unexplained_invoices)."
            )
        return text

    def customers_summary(self) -> str:
        text = (
            f"Customers: {self.companies_updated} company(ies) updated, "
            f"{self.companies_created} created; {self.associations_created} association(s) "
            f"made, {self.associations_removed} removed ({self.company_calls} company + "
            f"{self.association_calls} association call(s))"
        )
        if self.refused:
            text += f"; {len(self.refused)} refused: " + "; ".join(self.refused_lines[:5])
        return text + "."

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
            "customers": self.customers_as_dict() if self.customers_pushed else None,
            "customers_refused": self.refused_as_dicts() if self.customers_pushed else [],
            "unexplained_invoice_records": [u.as_dict() for u in self.unexplained],
        }

    def customers_as_dict(self) -> dict[str, object]:
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

    def rejected_as_dicts(self) -> list[dict[str, object]]:
        return as_dicts(self.rejected_records, REJECTED_FIELDS)

    def refused_as_dicts(self) -> list[dict[str, object]]:
        return as_dicts(self.refused, REFUSED_FIELDS)

    def raise_for_rejections(self) -> None:
        parts = []
        if self.rejected:
            parts.append(
                f"HubSpot rejected {self.rejected} invoice(s): "
                f"{name_rejected(self.rejected_records)}. The others were written; see "
                "sync_log.record_results, fix the data in Xero, and the next run retries them."
            )
        if self.customers_pushed and self.refused:
            lines = self.refused_lines
            more = f" (and {len(lines) - 5} more)" if len(lines) > 5 else ""
            parts.append(
                f"HubSpot refused {len(lines)} customer write(s): "
                + "; ".join(lines[:5])
                + f"{more}. See sync_log.customer_results."
            )
        if parts:
            raise RejectedRecordsError(" ".join(parts))


def name_rejected(records: Sequence[RejectedRecord], limit: int = 10) -> str:
    names = [f"{r.invoice_number or r.xero_invoice_id} ({reason(r)})" for r in records[:limit]]
    more = f" and {len(records) - limit} more" if len(records) > limit else ""
    return ", ".join(names) + more


def reason(record: RejectedRecord) -> str:
    """HubSpot's reason, short: ``due_date: 2026-13-45 is not a valid date`` for the
    ``Property values were not valid: [{...}]`` form, else the category and message."""
    _, _, listed = record.message.partition("Property values were not valid: ")
    try:
        problems = json.loads(listed) if listed else None
    except ValueError:
        problems = None
    if isinstance(problems, list) and problems:
        return "; ".join(
            f"{p.get('name')}: {p.get('message')}" for p in problems if isinstance(p, dict)
        )
    return f"{record.category}: {record.message[:160]}"


def as_dicts(records: Iterable[object], fields: Sequence[str]) -> list[dict[str, object]]:
    """Each record as ``{field: value}``, the fields in the order given."""
    read = attrgetter(*fields)
    return [dict(zip(fields, read(r), strict=True)) for r in records]

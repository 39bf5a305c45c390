"""The finance list endpoints and the tables their records go to (docs/contracts.md, "Finance
tables"); read by :mod:`pipelines.xero.finance_source`. Scopes: see that module."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pipelines.xero import finance_records as fr
from pipelines.xero.credit_versions import CREDIT_VERSION_COLUMNS
from pipelines.xero.paging import Endpoint


@dataclass(frozen=True)
class FinanceTable:
    """One list endpoint and the table its records go to."""

    name: str  # dlt resource name
    endpoint: Endpoint
    resource: str  # what a record is called in messages
    id_field: str
    table: str
    key: str
    spec: fr.Spec
    columns: dict[str, dict[str, Any]]
    scope: str
    allocations_of: str | None = None  # source_type of its Allocations, if it has them
    name_field: str | None = None  # what names a record besides its id (quarantine)


FINANCE_TABLES = (
    FinanceTable(
        "xero_contacts",
        # includeArchived: without it Xero leaves ARCHIVED contacts out (OpenAPI spec).
        Endpoint("Contacts", "Contacts", "ContactID", (("includeArchived", "true"),)),
        "contact",
        "ContactID",
        "contacts",
        "contact_id",
        fr.CONTACT_FIELDS,
        fr.CONTACT_COLUMNS,
        "accounting.contacts.read",
        name_field="Name",
    ),
    FinanceTable(
        "xero_payments",
        Endpoint("Payments", "Payments", "PaymentID"),
        "payment",
        "PaymentID",
        "payments",
        "payment_id",
        fr.PAYMENT_FIELDS,
        fr.PAYMENT_COLUMNS,
        "accounting.payments.read",
    ),
    FinanceTable(
        "xero_credit_notes",
        Endpoint("CreditNotes", "CreditNotes", "CreditNoteID"),
        "credit note",
        "CreditNoteID",
        "credit_notes",
        "credit_note_id",
        fr.CREDIT_NOTE_FIELDS,
        fr.CREDIT_NOTE_COLUMNS,
        "accounting.invoices.read",
        "CREDITNOTE",
        name_field="CreditNoteNumber",
    ),
    FinanceTable(
        "xero_overpayments",
        Endpoint("Overpayments", "Overpayments", "OverpaymentID"),
        "overpayment",
        "OverpaymentID",
        "overpayments",
        "overpayment_id",
        fr.OVERPAYMENT_FIELDS,
        fr.OVERPAYMENT_COLUMNS,
        "accounting.payments.read",
        "OVERPAYMENT",
    ),
    FinanceTable(
        "xero_prepayments",
        Endpoint("Prepayments", "Prepayments", "PrepaymentID"),
        "prepayment",
        "PrepaymentID",
        "prepayments",
        "prepayment_id",
        fr.PREPAYMENT_FIELDS,
        fr.PREPAYMENT_COLUMNS,
        "accounting.payments.read",
        "PREPAYMENT",
    ),
)
# every finance table and its columns (created empty when no row reached it: dbt sources)
FINANCE_TABLE_COLUMNS: dict[str, dict[str, dict[str, Any]]] = {
    **{t.table: t.columns for t in FINANCE_TABLES},
    "contact_persons": fr.CONTACT_PERSON_COLUMNS,
    "allocations": fr.ALLOCATION_COLUMNS,
    "credit_versions": CREDIT_VERSION_COLUMNS,
    "organisations": fr.ORGANISATION_COLUMNS,
    "finance_rejects": fr.FINANCE_REJECT_COLUMNS,
}

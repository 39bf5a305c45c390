"""Xero contacts, payments, credit notes, overpayments, prepayments and organisations → the
rows of ``raw_xero`` (docs/contracts.md, "Finance tables"), with their column types.

Same rules as the invoices (:mod:`pipelines.xero.records`): amounts stay exact
(:class:`~decimal.Decimal`), dates are parsed once by :mod:`pipelines.xero.dates`, and a record
is either fully parsed or a :class:`RecordParseError` naming it, the field and the fix, and
then checked against the push path's contract (:mod:`pipelines.xero.contract`) — the resource
quarantines a record that fails (:mod:`pipelines.quarantine`) and goes on with the others.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from pipelines.dlt_values import plain
from pipelines.xero.contract import ContractViolation, enforce
from pipelines.xero.records import (
    BOOL,
    DATE,
    DECIMAL,
    DLT_PARSERS,
    FIXES,
    PARSERS,
    TEXT,
    TIMESTAMP,
    FieldError,
    is_mapping,
    quarantine_error,
)
from pipelines.xero.timezones import iana_timezone
from reverse_etl.core.errors import RecordParseError

BIGINT = {"data_type": "bigint"}
_TYPES = {"text": TEXT, "decimal": DECIMAL, "date": DATE, "bool": BOOL, "timestamp": TIMESTAMP}
Spec = tuple[tuple[str, tuple[str, ...], str], ...]

CONTACT_FIELDS: Spec = (
    ("contact_id", ("ContactID",), "text"),
    ("name", ("Name",), "text"),
    ("first_name", ("FirstName",), "text"),
    ("last_name", ("LastName",), "text"),
    ("email_address", ("EmailAddress",), "text"),
    ("account_number", ("AccountNumber",), "text"),
    ("contact_number", ("ContactNumber",), "text"),
    ("contact_status", ("ContactStatus",), "text"),
    ("is_customer", ("IsCustomer",), "bool"),
    ("is_supplier", ("IsSupplier",), "bool"),
    ("default_currency", ("DefaultCurrency",), "text"),
    ("ar_outstanding", ("Balances", "AccountsReceivable", "Outstanding"), "decimal"),
    ("ar_overdue", ("Balances", "AccountsReceivable", "Overdue"), "decimal"),
    ("ap_outstanding", ("Balances", "AccountsPayable", "Outstanding"), "decimal"),
    ("ap_overdue", ("Balances", "AccountsPayable", "Overdue"), "decimal"),
    ("updated_date_utc", ("UpdatedDateUTC",), "timestamp"),
)
PERSON_FIELDS: Spec = (
    ("first_name", ("FirstName",), "text"),
    ("last_name", ("LastName",), "text"),
    ("email_address", ("EmailAddress",), "text"),
    ("include_in_emails", ("IncludeInEmails",), "bool"),
)
PAYMENT_FIELDS: Spec = (
    ("payment_id", ("PaymentID",), "text"),
    ("invoice_id", ("Invoice", "InvoiceID"), "text"),
    ("invoice_number", ("Invoice", "InvoiceNumber"), "text"),
    ("invoice_type", ("Invoice", "Type"), "text"),
    ("contact_id", ("Invoice", "Contact", "ContactID"), "text"),
    ("currency_code", ("Invoice", "CurrencyCode"), "text"),
    ("payment_date", ("Date",), "date"),
    ("amount", ("Amount",), "decimal"),
    ("bank_amount", ("BankAmount",), "decimal"),
    ("currency_rate", ("CurrencyRate",), "decimal"),
    ("payment_type", ("PaymentType",), "text"),
    ("status", ("Status",), "text"),
    ("is_reconciled", ("IsReconciled",), "bool"),
    ("reference", ("Reference",), "text"),
    ("updated_date_utc", ("UpdatedDateUTC",), "timestamp"),
)
_DOC_COMMON: Spec = (
    ("contact_id", ("Contact", "ContactID"), "text"),
    ("status", ("Status",), "text"),
    ("currency_code", ("CurrencyCode",), "text"),
    ("currency_rate", ("CurrencyRate",), "decimal"),
    ("sub_total", ("SubTotal",), "decimal"),
    ("total_tax", ("TotalTax",), "decimal"),
    ("total", ("Total",), "decimal"),
    ("remaining_credit", ("RemainingCredit",), "decimal"),
    ("reference", ("Reference",), "text"),
    ("updated_date_utc", ("UpdatedDateUTC",), "timestamp"),
)
CREDIT_NOTE_FIELDS: Spec = (
    ("credit_note_id", ("CreditNoteID",), "text"),
    ("credit_note_number", ("CreditNoteNumber",), "text"),
    ("credit_note_type", ("Type",), "text"),
    ("credit_note_date", ("Date",), "date"),
    ("fully_paid_on_date", ("FullyPaidOnDate",), "date"),
    *_DOC_COMMON,
)
OVERPAYMENT_FIELDS: Spec = (
    ("overpayment_id", ("OverpaymentID",), "text"),
    ("type", ("Type",), "text"),
    ("date", ("Date",), "date"),
    *_DOC_COMMON,
)
PREPAYMENT_FIELDS: Spec = (
    ("prepayment_id", ("PrepaymentID",), "text"),
    ("type", ("Type",), "text"),
    ("date", ("Date",), "date"),
    *_DOC_COMMON,
)
ALLOCATION_FIELDS: Spec = (
    ("allocation_id", ("AllocationID",), "text"),
    ("invoice_id", ("Invoice", "InvoiceID"), "text"),
    ("amount", ("Amount",), "decimal"),
    ("allocation_date", ("Date",), "date"),
    ("is_deleted", ("IsDeleted",), "bool"),
)
ORGANISATION_FIELDS: Spec = (
    ("organisation_id", ("OrganisationID",), "text"),
    ("name", ("Name",), "text"),
    ("legal_name", ("LegalName",), "text"),
    ("short_code", ("ShortCode",), "text"),
    ("base_currency", ("BaseCurrency",), "text"),
    ("country_code", ("CountryCode",), "text"),
    ("xero_timezone", ("Timezone",), "text"),
    ("organisation_status", ("OrganisationStatus",), "text"),
    ("created_date_utc", ("CreatedDateUTC",), "timestamp"),
)


def _columns(spec: Spec, key: str | None) -> dict[str, dict[str, Any]]:
    cols: dict[str, dict[str, Any]] = {"tenant_id": {**TEXT, "nullable": False}}
    for name, _path, kind in spec:
        cols[name] = dict(_TYPES[kind])
    if key is not None:
        cols[key] = {**TEXT, "nullable": False}
    return cols


CONTACT_COLUMNS = _columns(CONTACT_FIELDS, "contact_id")
CONTACT_PERSON_COLUMNS = {
    **_columns(PERSON_FIELDS, "contact_id"),
    "person_index": {**BIGINT, "nullable": False},
    "contact_updated_date_utc": TIMESTAMP,
}
PAYMENT_COLUMNS = _columns(PAYMENT_FIELDS, "payment_id")
CREDIT_NOTE_COLUMNS = _columns(CREDIT_NOTE_FIELDS, "credit_note_id")
OVERPAYMENT_COLUMNS = _columns(OVERPAYMENT_FIELDS, "overpayment_id")
PREPAYMENT_COLUMNS = _columns(PREPAYMENT_FIELDS, "prepayment_id")
ALLOCATION_COLUMNS = {
    "allocation_key": {**TEXT, "nullable": False},
    **_columns(ALLOCATION_FIELDS, None),
    "source_type": TEXT,
    "source_id": TEXT,
    "source_updated_date_utc": TIMESTAMP,
}
ORGANISATION_COLUMNS = {
    **_columns(ORGANISATION_FIELDS, None),
    "timezone": TEXT,
    "financial_year_end_day": BIGINT,
    "financial_year_end_month": BIGINT,
    "read_at": TIMESTAMP,
}
FINANCE_REJECT_COLUMNS = {
    "resource": TEXT,
    "record_id": TEXT,
    "tenant_id": TEXT,
    "field": TEXT,
    "error": TEXT,
    "payload": TEXT,
    "rejected_at": TIMESTAMP,
}


def _get(payload: Mapping[str, Any], path: tuple[str, ...]) -> Any:
    value: Any = payload
    for part in path:
        value = value.get(part) if is_mapping(value) else None
    return value


def _fill(
    row: dict[str, Any], payload: Mapping[str, Any], spec: Spec, prefix: str, for_dlt: bool
) -> None:
    parsers = DLT_PARSERS if for_dlt else PARSERS
    for column, path, kind in spec:
        raw = _get(payload, path)
        if for_dlt and (raw is None or (kind == "text" and type(raw) is str)):
            if raw is not None:  # as in parse_invoice
                row[column] = raw
            continue
        try:
            value = parsers[kind](raw)
        except ValueError as exc:
            raise FieldError(prefix + ".".join(path), kind, str(exc)) from None
        if value is not None or not for_dlt:
            row[column] = value


def parse_record(
    resource: str,
    id_field: str,
    spec: Spec,
    payload: object,
    tenant_id: str,
    *,
    for_dlt: bool = False,
) -> dict[str, Any]:
    """One record of ``resource`` (e.g. ``"payment"``) as a row; its id column must be set and
    ``updated_date_utc`` (when the spec has it) present. ``for_dlt``: amounts and dates in
    dlt's typed-JSON form, empty fields left out (as :func:`~pipelines.xero.records.
    parse_invoice`). Raises :class:`RecordParseError`."""
    record_id = payload.get(id_field) if isinstance(payload, Mapping) else None
    try:
        if not isinstance(payload, Mapping):
            raise FieldError(id_field, "text", f"the {resource} is not a JSON object")
        if not isinstance(record_id, str) or not record_id:
            raise FieldError(id_field, "text", f"the {resource} has no {id_field}")
        row: dict[str, Any] = {"tenant_id": tenant_id}
        _fill(row, payload, spec, "", for_dlt)
        if row.get("updated_date_utc") is None and any(c == "updated_date_utc" for c, *_ in spec):
            raise FieldError("UpdatedDateUTC", "timestamp", "UpdatedDateUTC is missing")
        try:
            enforce(resource, payload, row)  # the push path's contract (pipelines/xero/contract)
        except ContractViolation as exc:
            raise FieldError(exc.field, "contract", str(exc), exc.fix) from None
    except FieldError as exc:
        raise _error(resource, record_id, tenant_id, exc) from None
    return row


def parse_children(
    resource: str,
    record_id: str,
    tenant_id: str,
    items: object,
    list_field: str,
    spec: Spec,
    *,
    for_dlt: bool = False,
) -> list[dict[str, Any]]:
    """The rows of a nested list (``ContactPersons``, ``Allocations``), in order."""
    try:
        if items is None:
            return []
        if not isinstance(items, list):
            raise FieldError(list_field, "text", f"{list_field} is not a list")
        rows = []
        for index, item in enumerate(items):
            if not isinstance(item, Mapping):
                raise FieldError(f"{list_field}[{index}]", "text", "not a JSON object")
            row: dict[str, Any] = {}
            _fill(row, item, spec, f"{list_field}[{index}].", for_dlt)
            rows.append(row)
        return rows
    except FieldError as exc:
        raise _error(resource, record_id, tenant_id, exc) from None


def organisation_row(payload: object, tenant_id: str, read_at: datetime) -> dict[str, Any]:
    """The organisation, with its IANA time zone and financial year end (integers)."""
    row = parse_record("organisation", "OrganisationID", ORGANISATION_FIELDS, payload, tenant_id)
    assert isinstance(payload, Mapping)
    for column, field in (
        ("financial_year_end_day", "FinancialYearEndDay"),
        ("financial_year_end_month", "FinancialYearEndMonth"),
    ):
        value = payload.get(field)
        if value is not None and (isinstance(value, bool) or not float(value).is_integer()):
            raise _error(
                "organisation",
                row["organisation_id"],
                tenant_id,
                FieldError(field, "decimal", f"{value!r} is not a whole number"),
            )
        row[column] = None if value is None else int(value)
    row["timezone"] = iana_timezone(row["xero_timezone"])  # known: the contract checked it
    row["read_at"] = read_at
    return row


def allocation_key(source_type: str, source_id: str, row: Mapping[str, Any]) -> str:
    """Xero's ``AllocationID`` when present, else ``source_type:source_id:invoice:date:amount``
    (the contract's fallback: stable for the same allocation read twice)."""
    if row.get("allocation_id"):
        return str(row["allocation_id"])
    return (
        f"{source_type}:{source_id}:{row.get('invoice_id')}:{plain(row.get('allocation_date'))}:"
        f"{plain(row.get('amount'))}"
    )


def _error(resource: str, record_id: object, tenant_id: str, exc: FieldError) -> RecordParseError:
    who = f"{resource} {record_id}" if isinstance(record_id, str) and record_id else f"a {resource}"
    fix = exc.fix or FIXES[exc.kind].replace("the invoice", f"the {resource}")
    return quarantine_error(who, record_id, tenant_id, exc, fix)

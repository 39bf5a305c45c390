"""Xero invoice JSON → the rows of ``raw_xero`` (docs/contracts.md), with their column types.

Amounts arrive as :class:`~decimal.Decimal` (the client parses JSON with
``parse_float=Decimal``) and stay exact; integers are widened to Decimal; anything else is a
:class:`RecordParseError` naming the invoice, the field and the fix. Dates are parsed here, once
(:mod:`pipelines.xero.dates`). A row is either fully parsed or rejected, never half-filled.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from datetime import datetime
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Any

from pipelines.xero.dates import XeroDateError, parse_date, parse_datetime
from reverse_etl.errors import RecordParseError

DECIMAL = {"data_type": "decimal", "precision": 38, "scale": 9}
TEXT = {"data_type": "text"}
DATE = {"data_type": "date"}
BOOL = {"data_type": "bool"}
TIMESTAMP = {"data_type": "timestamp", "timezone": True}

# (column, Xero field path, kind): kind picks the parser and the column type.
_INVOICE_FIELDS: tuple[tuple[str, tuple[str, ...], str], ...] = (
    ("invoice_id", ("InvoiceID",), "text"),
    ("invoice_type", ("Type",), "text"),
    ("invoice_number", ("InvoiceNumber",), "text"),
    ("reference", ("Reference",), "text"),
    ("status", ("Status",), "text"),
    ("line_amount_types", ("LineAmountTypes",), "text"),
    ("contact_id", ("Contact", "ContactID"), "text"),
    ("contact_name", ("Contact", "Name"), "text"),
    ("invoice_date", ("Date",), "date"),
    ("due_date", ("DueDate",), "date"),
    ("expected_payment_date", ("ExpectedPaymentDate",), "date"),
    ("fully_paid_on_date", ("FullyPaidOnDate",), "date"),
    ("currency_code", ("CurrencyCode",), "text"),
    ("currency_rate", ("CurrencyRate",), "decimal"),
    ("sub_total", ("SubTotal",), "decimal"),
    ("total_tax", ("TotalTax",), "decimal"),
    ("total", ("Total",), "decimal"),
    ("total_discount", ("TotalDiscount",), "decimal"),
    ("amount_due", ("AmountDue",), "decimal"),
    ("amount_paid", ("AmountPaid",), "decimal"),
    ("amount_credited", ("AmountCredited",), "decimal"),
    ("has_attachments", ("HasAttachments",), "bool"),
    ("sent_to_contact", ("SentToContact",), "bool"),
    ("is_discounted", ("IsDiscounted",), "bool"),
    ("updated_date_utc", ("UpdatedDateUTC",), "timestamp"),
    ("url", ("Url",), "text"),
)
_LINE_FIELDS: tuple[tuple[str, str, str], ...] = (
    ("line_item_id", "LineItemID", "text"),
    ("description", "Description", "text"),
    ("quantity", "Quantity", "decimal"),
    ("unit_amount", "UnitAmount", "decimal"),
    ("item_code", "ItemCode", "text"),
    ("account_code", "AccountCode", "text"),
    ("tax_type", "TaxType", "text"),
    ("tax_amount", "TaxAmount", "decimal"),
    ("line_amount", "LineAmount", "decimal"),
    ("discount_rate", "DiscountRate", "decimal"),
)
_TYPES = {"text": TEXT, "decimal": DECIMAL, "date": DATE, "bool": BOOL, "timestamp": TIMESTAMP}

INVOICE_COLUMNS: dict[str, dict[str, Any]] = {
    "invoice_id": {"data_type": "text", "nullable": False},
    "tenant_id": {"data_type": "text", "nullable": False},
    **{name: dict(_TYPES[kind]) for name, _path, kind in _INVOICE_FIELDS if name != "invoice_id"},
}
INVOICE_COLUMNS["updated_date_utc"] = {**TIMESTAMP, "nullable": False, "dedup_sort": "desc"}
VERSION_COLUMNS: dict[str, dict[str, Any]] = {
    name: {k: v for k, v in hints.items() if k != "dedup_sort"}
    for name, hints in INVOICE_COLUMNS.items()
}
LINE_ITEM_COLUMNS: dict[str, dict[str, Any]] = {
    name: dict(_TYPES[kind]) for name, _field, kind in _LINE_FIELDS
}
REJECT_COLUMNS: dict[str, dict[str, Any]] = {
    "invoice_id": TEXT,
    "tenant_id": TEXT,
    "field": TEXT,
    "error": TEXT,
    "payload": TEXT,
    "rejected_at": TIMESTAMP,
}

_FIXES = {
    "decimal": "Xero should send a number here; correct the invoice in Xero",
    "date": "Xero should send /Date(<ms>+0000)/ here; correct the invoice in Xero",
    "timestamp": "Xero should send /Date(<ms>+0000)/ here; correct the invoice in Xero",
    "bool": "Xero should send true/false here",
    "text": "Xero should send text here",
}


class _FieldError(ValueError):
    def __init__(self, field: str, kind: str, detail: str) -> None:
        super().__init__(detail)
        self.field = field
        self.kind = kind


def _decimal(value: object) -> Decimal | None:
    if type(value) is Decimal:  # what json.loads(parse_float=Decimal) gives: always finite
        return value
    if value is None:
        return None
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a number")
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"{value!r} is not a finite number")
        return value
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, str):
        try:
            parsed = Decimal(value)
        except InvalidOperation:
            raise ValueError(f"{value!r} is not a number") from None
        if not parsed.is_finite():
            raise ValueError(f"{value!r} is not a finite number")
        return parsed
    raise ValueError(f"{value!r} is not a number")


def _bool(value: object) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise ValueError(f"{value!r} is not true/false")


def _text(value: object) -> str | None:
    if type(value) is str or value is None:
        return value
    if isinstance(value, int | Decimal) and not isinstance(value, bool):
        return str(value)
    raise ValueError(f"{value!r} is not text")


@lru_cache(maxsize=8192)
def _cached_date(value: str) -> Any:
    return parse_date(value)


def _date_value(value: object) -> Any:
    """Dates repeat across invoices (same issue/due days): parsed once per distinct string."""
    try:
        return _cached_date(value) if type(value) is str else parse_date(value)
    except XeroDateError as exc:
        raise ValueError(str(exc)) from None


def _timestamp_value(value: object) -> Any:
    try:
        return parse_datetime(value)
    except XeroDateError as exc:
        raise ValueError(str(exc)) from None


_PARSERS: dict[str, Callable[[object], Any]] = {
    "text": _text,
    "decimal": _decimal,
    "bool": _bool,
    "date": _date_value,
    "timestamp": _timestamp_value,
}


PARSERS = _PARSERS  # shared with :mod:`pipelines.xero.finance_records`
FIXES = _FIXES

_INVOICE_SPEC = tuple(
    (column, path[0], path[1] if len(path) > 1 else None, _PARSERS[kind], ".".join(path), kind)
    for column, path, kind in _INVOICE_FIELDS
)
_LINE_SPEC = tuple((column, field, _PARSERS[kind], kind) for column, field, kind in _LINE_FIELDS)


def parse_invoice(payload: Mapping[str, Any], tenant_id: str) -> dict[str, Any]:
    """One Xero invoice as a ``raw_xero.invoices`` row (``line_items`` as a nested list).

    Raises :class:`RecordParseError` naming the invoice id, the Xero field and the fix.
    """
    invoice_id = payload.get("InvoiceID") if isinstance(payload, Mapping) else None
    try:
        if not isinstance(invoice_id, str) or not invoice_id:
            raise _FieldError("InvoiceID", "text", "the invoice has no InvoiceID")
        row: dict[str, Any] = {"tenant_id": tenant_id}
        for column, key, subkey, parse, label, kind in _INVOICE_SPEC:
            value = payload.get(key)
            if subkey is not None:
                value = value.get(subkey) if isinstance(value, Mapping) else None
            try:
                row[column] = parse(value)
            except ValueError as exc:
                raise _FieldError(label, kind, str(exc)) from None
        if row["updated_date_utc"] is None:
            raise _FieldError("UpdatedDateUTC", "timestamp", "UpdatedDateUTC is missing")
        lines = payload.get("LineItems") or []
        if not isinstance(lines, list):
            raise _FieldError("LineItems", "text", "LineItems is not a list")
        row["line_items"] = [_parse_line(line, index) for index, line in enumerate(lines)]
    except _FieldError as exc:
        who = (
            f"invoice {invoice_id}"
            if isinstance(invoice_id, str) and invoice_id
            else (
                f"an invoice without InvoiceID (number {payload.get('InvoiceNumber')!r})"
                if isinstance(payload, Mapping)
                else "an invoice that is not a JSON object"
            )
        )
        fix = (
            "Xero should always send InvoiceID; report the payload to Xero support"
            if exc.field == "InvoiceID"
            else _FIXES[exc.kind]
        )
        error = RecordParseError(
            f"Cannot parse {who} of organisation {tenant_id}: field {exc.field}: {exc}. "
            f"{fix}, or run `invoice-sync extract --continue-on-error` to load the other "
            "invoices and record this one in raw_xero.invoice_rejects."
        )
        error.invoice_id = invoice_id if isinstance(invoice_id, str) else None  # type: ignore[attr-defined]
        error.field = exc.field  # type: ignore[attr-defined]
        error.detail = str(exc)  # type: ignore[attr-defined]
        raise error from None
    return row


def _parse_line(line: object, index: int) -> dict[str, Any]:
    if not isinstance(line, Mapping):
        raise _FieldError(f"LineItems[{index}]", "text", "a line item is not a JSON object")
    out: dict[str, Any] = {}
    for column, field, parse, kind in _LINE_SPEC:
        try:
            out[column] = parse(line.get(field))
        except ValueError as exc:
            raise _FieldError(f"LineItems[{index}].{field}", kind, str(exc)) from None
    return out


def version_row(row: Mapping[str, Any]) -> dict[str, Any]:
    """The ``raw_xero.invoice_versions`` row of an invoice row: its scalar columns."""
    return {k: v for k, v in row.items() if k != "line_items"}


def reject_row(
    payload: object, tenant_id: str, error: RecordParseError, rejected_at: datetime
) -> dict[str, Any]:
    return {
        "invoice_id": getattr(error, "invoice_id", None),
        "tenant_id": tenant_id,
        "field": getattr(error, "field", None),
        "error": getattr(error, "detail", str(error)),
        "payload": json.dumps(payload, default=str, sort_keys=True),
        "rejected_at": rejected_at,
    }

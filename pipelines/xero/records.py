"""Xero invoice JSON → the rows of ``raw_xero`` (docs/contracts.md), with their column types.

Amounts arrive as :class:`~decimal.Decimal` (the client parses JSON with
``parse_float=Decimal``) and stay exact; integers are widened to Decimal; anything else is a
:class:`RecordParseError` naming the invoice, the field and the fix. Dates are parsed here, once
(:mod:`pipelines.xero.dates`). A row is either fully parsed or rejected, never half-filled.

Everything the warehouse or the dbt tests would refuse later is refused here, where the invoice
can still be named, so it is quarantined (:mod:`pipelines.quarantine`) instead of failing a load
or a test for every record:

- amounts must fit the columns' ``decimal(38,9)``: at most 29 integer digits (DuckDB raises
  "Could not convert … to DECIMAL(38,9)" on load, which wedged the pipeline), and at most 9
  decimal places — anything finer would be rounded silently by the cast; Xero itself sends 2
  (4 with ``unitdp=4``, API_FACTS.md), so a 10th place is corruption, not precision;
- dates must lie in :data:`pipelines.xero.dates.EARLIEST`..:data:`~pipelines.xero.dates.LATEST`;
- then the push path's contract (:mod:`pipelines.xero.contract`): required fields, Xero's
  enumerations, ISO 4217 currency codes (upper-cased), a positive ``CurrencyRate``, the
  invoice's own arithmetic, line items with a ``LineItemID`` each, unique within the invoice.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from decimal import Context, Decimal, InvalidOperation, localcontext
from functools import lru_cache
from typing import Any

from pipelines.dlt_values import date_for_dlt, decimal_for_dlt
from pipelines.xero.contract import ContractViolation, enforce
from pipelines.xero.dates import XeroDateError, parse_date, parse_datetime
from reverse_etl.core.errors import RecordParseError

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
MAX_INTEGER_DIGITS = DECIMAL["precision"] - DECIMAL["scale"]  # 29 for decimal(38,9)
_QUANTUM = Decimal(1).scaleb(-DECIMAL["scale"])
_LIMIT = Decimal(10) ** MAX_INTEGER_DIGITS
_WIDE = Context(prec=200)

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
_FIXES = {
    "decimal": "Xero should send an amount here (at most 29 digits before the point and 9 "
    "after); correct the invoice in Xero",
    "enum": "correct the invoice in Xero (if Xero added this value, add it to "
    "pipelines/xero/records.py and the dbt accepted_values tests)",
    "date": "Xero should send /Date(<ms>+0000)/ here; correct the invoice in Xero",
    "timestamp": "Xero should send /Date(<ms>+0000)/ here; correct the invoice in Xero",
    "bool": "Xero should send true/false here",
    "text": "Xero should send text here",
}


class FieldError(ValueError):
    """A field of a Xero record that fails a parser or a contract check (any resource)."""

    def __init__(self, field: str, kind: str, detail: str, fix: str | None = None) -> None:
        super().__init__(detail)
        self.field = field
        self.kind = kind
        self.fix = fix


def _decimal(value: object) -> Decimal | None:
    if type(value) is Decimal:  # what json.loads(parse_float=Decimal) gives: always finite
        text = str(value)
        if "E" not in text and -_LIMIT < value < _LIMIT:
            dot = text.find(".")
            if dot < 0 or len(text) - dot - 1 <= DECIMAL["scale"]:
                return value  # the common case, checked inline: parsing is the extract's hot path
        return _fits(value)
    return None if value is None else _fits(_any_decimal(value))


def _dlt_decimal(value: object) -> Any:
    """:func:`_decimal`, in dlt's typed-JSON form (:mod:`pipelines.dlt_values`)."""
    if type(value) is Decimal:
        text = str(value)
        if "E" not in text and -_LIMIT < value < _LIMIT:
            dot = text.find(".")
            if dot < 0 or len(text) - dot - 1 <= DECIMAL["scale"]:
                return decimal_for_dlt(value, text)
    parsed = _decimal(value)
    return None if parsed is None else decimal_for_dlt(parsed, str(parsed))


def _fits(value: Decimal) -> Decimal:
    """``value`` if ``decimal(38,9)`` holds it exactly; otherwise a ValueError saying why."""
    if value.adjusted() >= MAX_INTEGER_DIGITS and value:
        raise ValueError(
            f"{value} is too large for the warehouse (more than {MAX_INTEGER_DIGITS} digits "
            "before the decimal point)"
        )
    text = str(value)  # cheaper than as_tuple(); exact for the plain form Xero sends
    dot = text.find(".")
    if "E" in text or (dot >= 0 and len(text) - dot - 1 > DECIMAL["scale"]):
        exponent = value.as_tuple().exponent
        if isinstance(exponent, int) and exponent < -DECIMAL["scale"]:
            with localcontext(_WIDE):  # trailing zeros (1.5000000000) are exact, not rounded
                if value.quantize(_QUANTUM) != value:
                    raise ValueError(
                        f"{value} has more than {DECIMAL['scale']} decimal places and would "
                        "be rounded"
                    )
    return value


def _any_decimal(value: object) -> Decimal:
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


@lru_cache(maxsize=8192)
def _cached_dlt_date(value: str) -> Any:
    parsed = parse_date(value)
    return None if parsed is None else date_for_dlt(parsed)


def _dlt_date_value(value: object) -> Any:
    """:func:`_date_value`, in dlt's typed-JSON form (:mod:`pipelines.dlt_values`)."""
    if type(value) is str:
        try:
            return _cached_dlt_date(value)
        except XeroDateError as exc:
            raise ValueError(str(exc)) from None
    parsed = _date_value(value)
    return None if parsed is None else date_for_dlt(parsed)


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


# The same parsers, with amounts and dates in dlt's typed-JSON form: for rows handed to dlt.
_DLT_PARSERS: dict[str, Callable[[object], Any]] = {
    **_PARSERS,
    "decimal": _dlt_decimal,
    "date": _dlt_date_value,
}

PARSERS = _PARSERS  # shared with :mod:`pipelines.xero.finance_records`
DLT_PARSERS = _DLT_PARSERS
FIXES = _FIXES


def _invoice_spec(parsers: dict[str, Callable[[object], Any]]) -> tuple[Any, ...]:
    return tuple(
        (column, path[0], path[1] if len(path) > 1 else None, parsers[kind], ".".join(path), kind)
        for column, path, kind in _INVOICE_FIELDS
    )


_INVOICE_SPEC = _invoice_spec(_PARSERS)
_DLT_INVOICE_SPEC = _invoice_spec(_DLT_PARSERS)
_LINE_SPEC = tuple((column, field, _PARSERS[kind], kind) for column, field, kind in _LINE_FIELDS)
_DLT_LINE_SPEC = tuple(
    (column, field, _DLT_PARSERS[kind], kind) for column, field, kind in _LINE_FIELDS
)


def parse_invoice(
    payload: Mapping[str, Any], tenant_id: str, *, for_dlt: bool = False
) -> dict[str, Any]:
    """One Xero invoice as a ``raw_xero.invoices`` row (``line_items`` as a nested list).

    ``for_dlt``: the row as the resource hands it to dlt — amounts and dates in dlt's
    typed-JSON form (:mod:`pipelines.dlt_values`) and empty fields left out (dlt's normalizer
    drops ``None`` values anyway, so the loaded rows are the same); timestamps stay
    ``datetime``. Raises :class:`RecordParseError` naming the invoice id, the Xero field and
    the fix.
    """
    invoice_id = payload.get("InvoiceID") if isinstance(payload, Mapping) else None
    spec, line_spec = (
        (_DLT_INVOICE_SPEC, _DLT_LINE_SPEC) if for_dlt else (_INVOICE_SPEC, _LINE_SPEC)
    )
    try:
        if not isinstance(invoice_id, str) or not invoice_id:
            raise FieldError("InvoiceID", "text", "the invoice has no InvoiceID")
        row: dict[str, Any] = {"tenant_id": tenant_id}
        for column, key, subkey, parse, label, kind in spec:
            value = payload.get(key)
            if subkey is not None:
                value = value.get(subkey) if _is_mapping(value) else None
            if for_dlt and (value is None or (kind == "text" and type(value) is str)):
                if value is not None:  # every parser maps None to None; text is kept as is
                    row[column] = value
                continue
            try:
                parsed = parse(value)
            except ValueError as exc:
                raise FieldError(label, kind, str(exc)) from None
            if parsed is not None or not for_dlt:
                row[column] = parsed
        lines = payload.get("LineItems") or []
        if not isinstance(lines, list):
            raise FieldError("LineItems", "text", "LineItems is not a list")
        row["line_items"] = [
            _parse_line(line, index, line_spec, for_dlt) for index, line in enumerate(lines)
        ]
        try:
            enforce("invoice", payload, row)  # the push path's contract (pipelines/xero/contract)
        except ContractViolation as exc:
            raise FieldError(exc.field, "contract", str(exc), exc.fix) from None
    except FieldError as exc:
        raise _record_error(payload, invoice_id, tenant_id, exc) from None
    return row


def _record_error(
    payload: object, invoice_id: object, tenant_id: str, exc: FieldError
) -> RecordParseError:
    number = payload.get("InvoiceNumber") if isinstance(payload, Mapping) else None
    if isinstance(invoice_id, str) and invoice_id:
        who = f"invoice {number} (id {invoice_id})" if number else f"invoice {invoice_id}"
    elif isinstance(payload, Mapping):
        who = f"an invoice without InvoiceID (number {number!r})"
    else:
        who = "an invoice that is not a JSON object"
    fix = exc.fix or (
        "Xero should always send InvoiceID; report the payload to Xero support"
        if exc.field == "InvoiceID"
        else _FIXES[exc.kind]
    )
    return quarantine_error(who, invoice_id, tenant_id, exc, fix)


def quarantine_error(
    who: str, record_id: object, tenant_id: str, exc: FieldError, fix: str
) -> RecordParseError:
    """The one-line error a quarantined record of any resource is named by: who, the field,
    what is wrong and the fix (invoices here, finance records in :mod:`.finance_records`)."""
    return RecordParseError(
        f"Quarantined {who} of organisation {tenant_id}: field {exc.field}: {exc}. Fix: {fix}; "
        "it is retried when it changes in Xero.",
        record_id=record_id if isinstance(record_id, str) and record_id else None,
        field=exc.field,
        detail=str(exc),
        fix=fix,
    )


def _parse_line(line: object, index: int, spec: tuple[Any, ...], for_dlt: bool) -> dict[str, Any]:
    if not isinstance(line, Mapping):
        raise FieldError(f"LineItems[{index}]", "text", "a line item is not a JSON object")
    out: dict[str, Any] = {}
    for column, field, parse, kind in spec:
        value = line.get(field)
        if for_dlt and (value is None or (kind == "text" and type(value) is str)):
            if value is not None:  # as in parse_invoice
                out[column] = value
            continue
        try:
            parsed = parse(value)
        except ValueError as exc:
            raise FieldError(f"LineItems[{index}].{field}", kind, str(exc)) from None
        if parsed is not None or not for_dlt:
            out[column] = parsed
    return out


def _is_mapping(value: object) -> bool:
    """``isinstance(value, Mapping)``, with JSON's ``dict`` checked first (the ABC check is
    slow, and this runs for every nested field of every record)."""
    return type(value) is dict or isinstance(value, Mapping)


is_mapping = _is_mapping  # shared with :mod:`pipelines.xero.finance_records`


def version_row(row: Mapping[str, Any]) -> dict[str, Any]:
    """The ``raw_xero.invoice_versions`` row of an invoice row: its scalar columns."""
    version = dict(row)
    del version["line_items"]
    return version

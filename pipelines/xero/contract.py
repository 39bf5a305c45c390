"""The gate's contract: every Xero value the push path relies on, checked per record at the door.

A dbt test or a model contract that fails on one bad record stops the whole build, and with it
the push for every other record. So whatever those tests rely on (not null, unique, accepted
values, currency codes, rates, time zones, the per-invoice reconciliations) is checked here,
for each record, while it can still be named: a record that breaks a rule is quarantined
(:mod:`pipelines.quarantine`) with the field and the fix, and the others go on.

:data:`CHECKS` is the one list. The parsers (:func:`pipelines.xero.records.parse_invoice`,
:func:`pipelines.xero.finance_records.parse_record`) call :func:`enforce` after the types
parsed; a check with ``enforced_by`` set is guaranteed by something else (the merge key, the
shape of the load) and says what. The list is not a second copy of dbt's tests kept by hand:
:mod:`pipelines.xero.contract_coverage` walks the dbt manifest and fails (a unit test runs it)
when a test on the push path has no matching check here.

Facts relied on:

- Currency codes: ISO 4217, the seed ``dbt_project/seeds/iso_4217_currencies.csv`` (one list
  for the gate and for dbt's ``relationships`` tests): ISO 4217 "List One" (current currency
  and funds codes, published by SIX Financial Information, the ISO 4217 maintenance agency),
  without the X codes that are no money of a country (metals XAU/XAG/XPT/XPD, bond units,
  XDR, XSU, XUA, the testing code XTS and XXX, "no currency"), plus the codes withdrawn in the
  last years (List Three: HRK 2023, SLL 2024, ANG 2026, ...) because an old invoice keeps the
  currency it was raised in. Every code of Xero's own ``CurrencyCode`` enum (XeroAPI/Xero-OpenAPI
  ``xero_accounting.yaml``, 168 codes, among them SKK, ZMK and ZWD) is in it, checked by
  ``tests/extract/test_gate_contract.py``: the gate is never stricter than Xero. Xero sends
  codes upper case (API_FACTS.md); a lower-case code is upper-cased, not quarantined.
- ``CurrencyRate``: units of the document's currency per one unit of the organisation's base
  currency, positive; a base-currency document has rate 1 (API_FACTS.md; XeroAPI/Xero-OpenAPI
  ``xero_accounting.yaml``: "The currency rate for a multicurrency invoice. If no rate is
  specified, the XE.com day rate is used" — so Xero itself fills it in). The marts convert
  with ``amount / rate`` (``dbt_project/macros/finance.sql``), which is NULL for a missing or
  zero rate and negative for a negative one whatever the currency, so every invoice and credit
  document must carry a positive rate (Xero always sends one, 1 for the base currency).
- ``Organisation.Timezone``: Xero's own enum (``NEWZEALANDSTANDARDTIME``), mapped to IANA by
  :mod:`pipelines.xero.timezones`; an unmapped value is an error naming it, never UTC.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Context, Decimal, InvalidOperation
from functools import cache
from pathlib import Path
from typing import Any

from pipelines.xero.timezones import iana_timezone

ISO_4217_SEED = (
    Path(__file__).resolve().parents[2] / "dbt_project" / "seeds" / "iso_4217_currencies.csv"
)
INVOICE_TYPES = ("ACCREC", "ACCPAY")
INVOICE_STATUSES = ("DRAFT", "SUBMITTED", "AUTHORISED", "PAID", "VOIDED", "DELETED")
LINE_AMOUNT_TYPES = ("Exclusive", "Inclusive", "NoTax")
_FIX_XERO = "correct the {resource} in Xero"


@cache
def iso_4217_codes() -> frozenset[str]:
    """The currency codes of the seed (see the module docstring)."""
    with ISO_4217_SEED.open(encoding="utf-8", newline="") as handle:
        return frozenset(row["currency_code"] for row in csv.DictReader(handle))


@dataclass(frozen=True)
class Check:
    """One rule on one Xero field of one kind of record.

    ``path`` is the field in Xero's JSON (for ``line item``, within one of ``LineItems``);
    ``column`` the ``raw_xero`` column it lands in. ``rule``: ``required``, ``one_of``
    (``values``), ``unique``, ``currency`` (ISO 4217, upper-cased), ``positive`` (a rate),
    ``timezone`` (a Xero time zone we map), ``relationships`` (a child points at its parent),
    ``reconciles`` (the invoice's own arithmetic, as the singular dbt tests check it).
    ``enforced_by``: empty when :func:`enforce` checks it, else what guarantees it.
    """

    resource: str
    path: tuple[str, ...]
    column: str
    rule: str
    values: tuple[str, ...] = ()
    fix: str = ""
    enforced_by: str = ""

    @property
    def field(self) -> str:
        return ".".join(self.path)


def _checks_of_document(resource: str, id_field: str, column: str) -> tuple[Check, ...]:
    """The checks every credit document (credit note, overpayment, prepayment) shares."""
    fix = _FIX_XERO.format(resource=resource)
    return (
        Check(resource, (id_field,), column, "required", fix=f"report the {resource} to Xero"),
        Check(resource, (id_field,), column, "unique", enforced_by=f"merge key {column}"),
        Check(resource, ("Contact", "ContactID"), "contact_id", "required", fix=fix),
        Check(resource, ("CurrencyCode",), "currency_code", "required", fix=fix),
        Check(resource, ("CurrencyCode",), "currency_code", "currency", fix=fix),
        Check(resource, ("CurrencyRate",), "currency_rate", "required", fix=fix),
        Check(resource, ("CurrencyRate",), "currency_rate", "positive", fix=fix),
    )


_INVOICE_FIX = _FIX_XERO.format(resource="invoice")
_NEW_VALUE_FIX = (
    "correct the invoice in Xero (if Xero added this value, add it to "
    "pipelines/xero/contract.py and the dbt accepted_values tests)"
)
CHECKS: tuple[Check, ...] = (
    Check("invoice", ("InvoiceID",), "invoice_id", "required",
          fix="Xero should always send InvoiceID; report the payload to Xero support"),
    Check("invoice", ("InvoiceID",), "invoice_id", "unique",
          enforced_by="merge key invoice_id (one row per invoice in raw_xero.invoices)"),
    Check("invoice", ("InvoiceID",), "invoice_id", "relationships",
          enforced_by="a line item or version is written only with its invoice, in the same "
          "dlt load package"),
    Check("invoice", ("Type",), "invoice_type", "required", fix=_INVOICE_FIX),
    Check("invoice", ("Type",), "invoice_type", "one_of", INVOICE_TYPES,
          fix=_NEW_VALUE_FIX),
    Check("invoice", ("Status",), "status", "required", fix=_INVOICE_FIX),
    Check("invoice", ("Status",), "status", "one_of", INVOICE_STATUSES,
          fix=_NEW_VALUE_FIX),
    Check("invoice", ("LineAmountTypes",), "line_amount_types", "one_of", LINE_AMOUNT_TYPES,
          fix=_NEW_VALUE_FIX),
    Check("invoice", ("UpdatedDateUTC",), "updated_date_utc", "required",
          fix="Xero should send /Date(<ms>+0000)/ here; correct the invoice in Xero"),
    Check("invoice", ("Contact", "ContactID"), "contact_id", "required",
          fix="every invoice needs a contact: set the invoice's contact in Xero"),
    Check("invoice", ("CurrencyCode",), "currency_code", "required", fix=_INVOICE_FIX),
    Check("invoice", ("CurrencyCode",), "currency_code", "currency",
          fix="set an ISO 4217 currency on the invoice in Xero (if ISO added this code, add "
          "it to dbt_project/seeds/iso_4217_currencies.csv)"),
    Check("invoice", ("CurrencyRate",), "currency_rate", "required",
          fix="set the invoice's exchange rate in Xero (1 for the base currency)"),
    Check("invoice", ("CurrencyRate",), "currency_rate", "positive",
          fix="set a positive exchange rate on the invoice in Xero (units of the invoice's "
          "currency per unit of the base currency)"),
    Check("invoice", ("AmountDue",), "amount_due", "reconciles",
          fix="AmountDue must be Total − AmountPaid − AmountCredited; correct the invoice "
          "in Xero"),
    Check("invoice", ("SubTotal",), "sub_total", "reconciles",
          fix="SubTotal must be the sum of the line amounts (less their tax when Inclusive), "
          "within a cent per line; correct the invoice in Xero"),
    Check("line item", ("LineItemID",), "line_item_id", "required",
          fix="Xero should always send LineItemID; edit and save the invoice in Xero"),
    Check("line item", ("LineItemID",), "line_item_id", "unique",
          fix="two lines of the invoice share a LineItemID; edit and save the invoice in Xero"),
    Check("contact", ("ContactID",), "contact_id", "required",
          fix="Xero should always send ContactID; report the contact to Xero support"),
    Check("contact", ("ContactID",), "contact_id", "unique", enforced_by="merge key contact_id"),
    Check("payment", ("PaymentID",), "payment_id", "required",
          fix="Xero should always send PaymentID; report the payment to Xero support"),
    Check("payment", ("PaymentID",), "payment_id", "unique", enforced_by="merge key payment_id"),
    Check("payment", ("Invoice", "CurrencyCode"), "currency_code", "currency",
          fix="correct the payment's invoice currency in Xero"),
    Check("payment", ("CurrencyRate",), "currency_rate", "positive",
          fix="set a positive exchange rate on the payment in Xero"),
    *_checks_of_document("credit note", "CreditNoteID", "credit_note_id"),
    *_checks_of_document("overpayment", "OverpaymentID", "overpayment_id"),
    *_checks_of_document("prepayment", "PrepaymentID", "prepayment_id"),
    Check("organisation", ("OrganisationID",), "organisation_id", "required",
          fix="report the organisation to Xero support"),
    Check("organisation", ("Timezone",), "xero_timezone", "required",
          fix="set the organisation's time zone in Xero (Settings → Organisation details)"),
    Check("organisation", ("Timezone",), "xero_timezone", "timezone",
          fix="if Xero added this time zone, add it with its IANA name to "
          "pipelines/xero/xero_timezones.csv"),
    Check("organisation", ("BaseCurrency",), "base_currency", "currency",
          fix="if ISO added this code, add it to dbt_project/seeds/iso_4217_currencies.csv"),
)  # fmt: skip


class ContractViolation(ValueError):
    """A record breaks a check: ``field`` (as Xero names it), what is wrong, and the fix."""

    def __init__(self, check: Check, field: str, detail: str) -> None:
        super().__init__(detail)
        self.check = check
        self.field = field
        self.fix = check.fix


def _get(payload: Any, path: tuple[str, ...]) -> Any:
    value = payload
    for part in path:  # JSON's dict checked first: the ABC check is slow (the extract's hot path)
        value = value.get(part) if type(value) is dict or isinstance(value, Mapping) else None
    return value


def _number(value: Any) -> Decimal | None:
    """An amount the type parser already accepted, as a Decimal (``None`` when absent)."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, Decimal):
        return value
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


def _required(check: Check, _payload: Any, value: Any, _row: dict[str, Any], label: str) -> None:
    if value is None or (isinstance(value, str) and not value.strip()):
        raise ContractViolation(check, label, f"{label} is missing")


def _one_of(check: Check, _payload: Any, value: Any, _row: dict[str, Any], label: str) -> None:
    if value is not None and value not in check.values:
        raise ContractViolation(
            check,
            label,
            f"{value!r} is not a Xero {check.resource} {label} "
            f"(expected one of {', '.join(check.values)})",
        )


def _currency(check: Check, _payload: Any, value: Any, row: dict[str, Any], label: str) -> None:
    if value is None:
        return
    code = value.strip().upper() if isinstance(value, str) else None
    if code not in iso_4217_codes():
        raise ContractViolation(check, label, f"{value!r} is not an ISO 4217 currency code")
    if value != code:
        row[check.column] = code  # 'usd' is USD: upper-cased, as Xero itself writes codes


def _positive(check: Check, _payload: Any, value: Any, _row: dict[str, Any], label: str) -> None:
    rate = _number(value)
    if rate is not None and rate <= 0:
        raise ContractViolation(
            check, label, f"{label} {rate} is not positive (a rate converts to base currency)"
        )


def _timezone(check: Check, _payload: Any, value: Any, _row: dict[str, Any], label: str) -> None:
    if value is not None and iana_timezone(str(value)) is None:
        raise ContractViolation(check, label, f"{value!r} is not a Xero time zone we know")


_CENT = Decimal("0.01")
_EXACT = Context(prec=200)  # amounts have 38 digits: the default context's 28 would round


def _reconciles(check: Check, payload: Any, _value: Any, _row: dict[str, Any], label: str) -> None:
    """The arithmetic of the singular dbt tests ``assert_amount_due_is_total_less_paid_and_
    credited`` and ``assert_line_items_sum_to_invoice_subtotal``, on one invoice, with SQL's
    null rules (a missing total or sub-total is not checked)."""
    if check.column == "amount_due":
        if payload.get("Status") in ("VOIDED", "DELETED"):
            return
        total, due = _number(payload.get("Total")), _number(payload.get("AmountDue"))
        if total is None and due is None:
            return
        paid = _number(payload.get("AmountPaid")) or Decimal(0)
        credited = _number(payload.get("AmountCredited")) or Decimal(0)
        expected = (
            None if total is None else _EXACT.subtract(_EXACT.subtract(total, paid), credited)
        )
        if due != expected:
            raise ContractViolation(
                check,
                label,
                f"AmountDue {due} is not Total − AmountPaid − AmountCredited ({expected})",
            )
        return
    lines = payload.get("LineItems")
    sub_total = _number(payload.get("SubTotal"))
    if not isinstance(lines, list) or not lines or sub_total is None:
        return
    amounts = [_number(line.get("LineAmount")) for line in lines if isinstance(line, Mapping)]
    present = [a for a in amounts if a is not None]
    if not present:
        return
    from_lines = Decimal(0)
    for amount in present:
        from_lines = _EXACT.add(from_lines, amount)
    if payload.get("LineAmountTypes") == "Inclusive":
        for line in lines:
            tax = _number(line.get("TaxAmount")) if isinstance(line, Mapping) else None
            if tax is not None:
                from_lines = _EXACT.subtract(from_lines, tax)
    if _EXACT.subtract(sub_total, from_lines).copy_abs() > _CENT * len(lines):
        raise ContractViolation(
            check,
            label,
            f"SubTotal {sub_total} does not match its line items ({from_lines})",
        )


_RULES: dict[str, Callable[[Check, Any, Any, dict[str, Any], str], None]] = {
    "required": _required,
    "one_of": _one_of,
    "currency": _currency,
    "positive": _positive,
    "timezone": _timezone,
    "reconciles": _reconciles,
}
_ENFORCED: dict[str, tuple[Check, ...]] = {}
for _check in CHECKS:
    if not _check.enforced_by:
        _ENFORCED[_check.resource] = (*_ENFORCED.get(_check.resource, ()), _check)


def _getter(path: tuple[str, ...]) -> Callable[[Any], Any]:
    """A reader of ``path`` in a JSON object, specialised for the usual one or two levels."""
    if len(path) == 1:
        (key,) = path
        return lambda payload: payload.get(key)
    return lambda payload: _get(payload, path)


# (rule, check, label, getter) per resource, resolved once: enforce() runs for every record
_PLAN = {
    resource: tuple(
        (_RULES[c.rule], c, c.field, _getter(c.path)) for c in checks if c.rule in _RULES
    )
    for resource, checks in _ENFORCED.items()
}


def enforce(resource: str, payload: Mapping[str, Any], row: dict[str, Any]) -> None:
    """Run the checks of ``resource`` on one parsed record (and, for an invoice, on its line
    items); raises :class:`ContractViolation` on the first that fails. Normalises ``row`` in
    place where the contract says so (currency codes upper-cased)."""
    for rule, check, label, get in _PLAN.get(resource, ()):
        rule(check, payload, get(payload), row, label)
    if resource == "invoice":
        _enforce_lines(payload)


_LINE_CHECKS = tuple(c for c in CHECKS if c.resource == "line item" and not c.enforced_by)


def _enforce_lines(payload: Mapping[str, Any]) -> None:
    lines = payload.get("LineItems")
    if not isinstance(lines, list):
        return
    seen: set[str] = set()
    for index, line in enumerate(lines):
        for check in _LINE_CHECKS:
            value = _get(line, check.path)
            if check.rule != "unique":
                try:
                    _RULES[check.rule](check, line, value, {}, check.field)
                except ContractViolation:  # again, with the line named (labels cost, errors rare)
                    _RULES[check.rule](check, line, value, {}, _line_label(index, check))
            elif isinstance(value, str) and value:
                key = value.lower()
                if key in seen:
                    raise ContractViolation(
                        check,
                        _line_label(index, check),
                        f"LineItemID {value} appears twice in the invoice",
                    )
                seen.add(key)


def _line_label(index: int, check: Check) -> str:
    return f"LineItems[{index}].{check.field}"

"""Invoices as Xero's JSON: Microsoft dates, amounts as numbers, the list/page/summary shapes.

What the real API does, and so what this module imitates:
- Dates are ``"/Date(<ms since epoch>+0000)/"``; ``DateString``/``DueDateString`` are local
  ISO datetimes at midnight (``"2018-10-20T00:00:00"``); the envelope's ``DateTimeUTC`` has no
  offset part. (Xero's published GetInvoices example; the ``xero-python`` deserializer's
  ``MS_DATETIME_RE`` accepts both forms.)
- Amounts are JSON numbers (``"SubTotal": 40.0``). The emulator holds exact cents and writes
  ``cents / 100``, whose shortest float repr is exactly the two-decimal value, so a client
  parsing with ``parse_float=Decimal`` gets the exact amount.
- ``UnitAmount`` is rounded to 2 decimals unless the request says ``unitdp=4``.
- Listing without ``page`` returns no line items ("only a summary of the contact is returned
  and no line details"); with ``page`` — or for a single invoice — line items are included.
  (Xero developer FAQ "retrieving data": "use pagination to retrieve line item details for 100
  items at a time"; the ``page`` parameter in Xero's OpenAPI spec, as in ``xero-python``'s
  ``AccountingApi.get_invoices``: "Up to 100 invoices will be returned in a single API call
  with line items shown for each invoice".) Without ``page`` there is no ``pagination`` object.
- ``summaryOnly=true`` returns lightweight fields only: no ``LineItems``, ``Payments``,
  ``CreditNotes``, ``Prepayments``, ``Overpayments`` and a Contact with ``ContactID``/``Name``.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from sandbox.xero.model import Invoice, Line, Totals, compute_totals, derived_id, round_div

try:
    import orjson
except ImportError:  # pragma: no cover - dlt brings it; without it the stdlib encodes
    orjson = None

_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
MS_PER_DAY = 86_400_000


def compact_json(value: Any, *, verbatim: bool = False) -> str:
    """``value`` as compact JSON text: what ``json.dumps(value, ensure_ascii=False,
    separators=(",", ":"))`` writes, encoded by orjson when it can (rendering was about a third
    of a cold page of invoices, and the emulator must not be what a benchmark measures).

    orjson writes the same text for what the emulator renders (strings, whole numbers, the
    shortest repr of a float, booleans, null; only an exponent's zero padding differs, ``1e-7``
    for ``1e-07``, the same number). It refuses integers beyond 64 bits and writes ``NaN`` as
    ``null``; ``verbatim`` (a value a test planted, e.g. a corrupt field) always goes through
    the stdlib, so a test's bad value reaches the client exactly as before.
    """
    if orjson is not None and not verbatim:
        try:
            return orjson.dumps(value).decode()
        except TypeError:  # orjson.JSONEncodeError: e.g. an integer beyond 64 bits
            pass
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def ms_date(ms: int) -> str:
    return f"/Date({ms}+0000)/"


def ordinal_ms(ordinal: int) -> int:
    return (ordinal - _EPOCH_ORDINAL) * MS_PER_DAY


def ordinal_ms_date(ordinal: int) -> str:
    return ms_date(ordinal_ms(ordinal))


def ordinal_iso(ordinal: int) -> str:
    return date.fromordinal(ordinal).isoformat() + "T00:00:00"


def datetime_ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def money(cents: int) -> float:
    return cents / 100


def unit(amount: int, unitdp: int) -> float:
    """``amount`` in 1/10,000ths, rounded to ``unitdp`` (2 or 4) decimals."""
    if unitdp >= 4:
        return amount / 10_000
    return round_div(amount, 100) / 100


DUPLICATE_KEY = "__duplicate__"
"""Key of ``Invoice.corrupt`` whose value (field overrides) makes the list endpoint serve a
second, altered copy of the invoice right after it in the same page (see
:meth:`sandbox.xero.emulator.XeroEmulator.duplicate_in_page`)."""


def duplicate_copy(rendered: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    """The second copy of a duplicated invoice: the rendered invoice with ``overrides``."""
    copy = json.loads(json.dumps(rendered))
    for path, value in overrides.items():
        _set_path(copy, path, value)
    return copy


def _set_path(target: dict[str, Any], path: str, value: Any) -> None:
    """Set ``"Total"`` or a dotted path such as ``"LineItems.0.LineAmount"`` (skipped when the
    shape being rendered has no such element, e.g. line items in a summary)."""
    *parents, last = path.split(".")
    node: Any = target
    for part in parents:
        if isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        elif isinstance(node, dict) and part in node:
            node = node[part]
        else:
            return
    if isinstance(node, dict):
        node[last] = value
    elif isinstance(node, list) and last.isdigit() and int(last) < len(node):
        node[int(last)] = value


class Renderer:
    """Turns :class:`Invoice` records into Xero JSON dicts for one emulator's reference data."""

    def __init__(
        self,
        contacts: list[tuple[str, str]],
        tenants: list[dict[str, Any]],
        totals: Callable[[Invoice, list[Line]], Totals] | None = None,
    ) -> None:
        self.contacts = contacts  # index → (ContactID, Name)
        self.tenants = tenants
        self.totals = totals  # the invoice's totals, if a reader keeps them (reading.py)

    def contact(self, index: int, full: bool) -> dict[str, Any]:
        contact_id, name = self.contacts[index]
        if not full:
            return {"ContactID": contact_id, "Name": name}
        return {
            "ContactID": contact_id,
            "ContactStatus": "ACTIVE",
            "Name": name,
            "Addresses": [],
            "Phones": [],
            "ContactGroups": [],
            "ContactPersons": [],
            "HasValidationErrors": False,
        }

    def invoice(
        self, inv: Invoice, *, line_items: bool, summary: bool = False, unitdp: int = 2
    ) -> dict[str, Any]:
        lines = inv.lines
        if self.totals is not None:
            totals = self.totals(inv, lines)
        else:
            totals = compute_totals(lines, inv.line_amount_types, inv.payments, inv.credits)
        rate = inv.rate_micros / 1_000_000
        out: dict[str, Any] = {"Type": inv.type, "InvoiceID": inv.invoice_id}
        out["InvoiceNumber"] = inv.number
        out["Reference"] = inv.reference
        if not summary:
            out["Payments"] = [
                {
                    "PaymentID": derived_id(inv.invoice_id, "payment", p.salt),
                    "Date": ordinal_ms_date(p.date),
                    "Amount": money(amount),
                    "Reference": p.reference,
                    "CurrencyRate": rate,
                    "HasAccount": False,
                    "HasValidationErrors": False,
                }
                for p, amount in zip(inv.payments, totals.payment_amounts, strict=True)
                if not p.deleted
            ]
            live = [a for a in inv.credits if not a.deleted]
            out["CreditNotes"] = [
                {
                    "CreditNoteID": a.source.doc_id,
                    "CreditNoteNumber": a.source.number,
                    "ID": a.allocation_id,
                    "AppliedAmount": money(a.amount),
                    "DateString": ordinal_iso(a.date),
                    "Date": ordinal_ms_date(a.date),
                    "LineItems": [],
                    "Total": money(a.source.total),
                }
                for a in live
                if a.source.kind == "CREDITNOTE"
            ]
            for kind, key, id_key in (
                ("PREPAYMENT", "Prepayments", "PrepaymentID"),
                ("OVERPAYMENT", "Overpayments", "OverpaymentID"),
            ):
                out[key] = [
                    {
                        id_key: a.source.doc_id,
                        "ID": a.allocation_id,
                        "AppliedAmount": money(a.amount),
                        "Date": ordinal_ms_date(a.date),
                        "Total": money(a.source.total),
                    }
                    for a in live
                    if a.source.kind == kind
                ]
        out["AmountDue"] = money(totals.amount_due)
        out["AmountPaid"] = money(totals.amount_paid)
        out["AmountCredited"] = money(totals.amount_credited)
        out["CurrencyRate"] = rate
        out["IsDiscounted"] = totals.total_discount > 0
        out["HasAttachments"] = inv.has_attachments
        out["HasErrors"] = False
        out["Contact"] = self.contact(inv.contact, full=not summary)
        out["DateString"] = ordinal_iso(inv.date)
        out["Date"] = ordinal_ms_date(inv.date)
        out["DueDateString"] = ordinal_iso(inv.due_date)
        out["DueDate"] = ordinal_ms_date(inv.due_date)
        out["BrandingThemeID"] = self.tenants[inv.tenant]["branding_theme_id"]
        out["Status"] = inv.status
        out["LineAmountTypes"] = inv.line_amount_types
        if line_items and not summary:
            out["LineItems"] = [
                {
                    "ItemCode": line.item_code,
                    "Description": line.description,
                    "UnitAmount": unit(line.unit_amount, unitdp),
                    "TaxType": line.tax_type,
                    "TaxAmount": money(amounts.tax_amount),
                    "LineAmount": money(amounts.line_amount),
                    "AccountCode": line.account_code,
                    "Tracking": [],
                    "Quantity": line.quantity / 10_000,
                    "DiscountRate": line.discount_bp / 100 if line.discount_bp else None,
                    "LineItemID": derived_id(inv.invoice_id, "line", line.salt),
                }
                for line, amounts in zip(lines, totals.lines, strict=True)
            ]
            for item in out["LineItems"]:
                if item["ItemCode"] is None:
                    del item["ItemCode"]
                if item["DiscountRate"] is None:
                    del item["DiscountRate"]
        out["SubTotal"] = money(totals.sub_total)
        out["TotalTax"] = money(totals.total_tax)
        out["Total"] = money(totals.total)
        if totals.total_discount:
            out["TotalDiscount"] = money(totals.total_discount)
        out["UpdatedDateUTC"] = ms_date(inv.updated_ms)
        out["CurrencyCode"] = inv.currency
        if inv.fully_paid_on is not None:
            out["FullyPaidOnDate"] = ordinal_ms_date(inv.fully_paid_on)
        if inv.expected_payment is not None:
            key = "ExpectedPaymentDate" if inv.type == "ACCREC" else "PlannedPaymentDate"
            out[key] = ordinal_ms_date(inv.expected_payment)
        out["SentToContact"] = inv.sent_to_contact
        if inv.url:
            out["Url"] = inv.url
        if inv.corrupt:
            for path, value in inv.corrupt.items():
                if path != DUPLICATE_KEY:
                    _set_path(out, path, value)
        return out

    def envelope_json(
        self, now: datetime, invoices: list[str], pagination: dict[str, int] | None
    ) -> str:
        """The envelope around already-encoded invoices (see :meth:`envelope`)."""
        head = self.envelope(now, [], pagination)
        del head["Invoices"]
        text = json.dumps(head, separators=(",", ":"))
        return text[:-1] + ',"Invoices":[' + ",".join(invoices) + "]}"

    def envelope(
        self, now: datetime, invoices: list[dict[str, Any]], pagination: dict[str, int] | None
    ) -> dict[str, Any]:
        body: dict[str, Any] = {
            "Id": str(uuid.uuid4()),
            "Status": "OK",
            "ProviderName": "invoice-sync sandbox",
            "DateTimeUTC": f"/Date({datetime_ms(now)})/",
        }
        if pagination is not None:
            body["pagination"] = pagination
        body["Invoices"] = invoices
        return body

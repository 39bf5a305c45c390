"""Answering GET /Contacts, /Payments, /CreditNotes, /Overpayments, /Prepayments and
/Organisation: selection, ``where``/``order``, ``If-Modified-Since``, paging.

The rules are the invoices' (:mod:`query`: the same ``where`` grammar and 400 for anything it
cannot parse, the same inclusive, second-truncated ``If-Modified-Since``) over each resource's
own fields. Paging as Xero's OpenAPI spec documents for each of the five list endpoints: ``page``
(1-based, "up to 100 … will be returned in a single API call") and ``pageSize`` (capped like the
invoices' at ``limits.max_page_size``); with ``page`` the answer carries ``pagination``
(``page``, ``pageSize``, ``pageCount``, ``itemCount``); without it, every match. Default order:
``UpdatedDateUTC`` ascending, then the id. ``/Contacts`` leaves ARCHIVED contacts out unless
``includeArchived=true`` (spec: "Contacts with a status of ARCHIVED will be included").
``/Organisation`` is one object, never paged.

Payments have no index of their own: a payment's ``UpdatedDateUTC`` is never later than its
invoice's (see :class:`model.Payment`), so the payments changed since T are found among the
invoices changed since T, through the invoices' index.
"""

from __future__ import annotations

import uuid
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sandbox.xero import finance_render as fr
from sandbox.xero.ledger import CreditDoc
from sandbox.xero.model import Invoice, Payment, derived_id
from sandbox.xero.query import (
    Fields,
    QueryError,
    matches,
    parse_if_modified_since,
    parse_order,
    parse_where,
    split_list,
)
from sandbox.xero.render import compact_json, datetime_ms

if TYPE_CHECKING:
    from sandbox.xero.emulator import XeroEmulator


SELECTION_CACHE_SIZE = 16


@dataclass(slots=True)
class ContactRow:
    index: int
    contact_id: str
    name: str
    status: str
    email: str
    updated_ms: int


@dataclass(slots=True)
class PaymentRow:
    """A payment and its invoice; the amount is computed only when asked (a generated full
    payment's amount needs the invoice's lines), so selecting costs no arithmetic."""

    inv: Invoice
    payment: Payment
    position: int
    payment_id: str

    @property
    def amount(self) -> int:
        return self.inv.totals().payment_amounts[self.position]


CONTACT_FIELDS: Fields = {
    "ContactID": ("guid", lambda r, _c: r.contact_id),
    "Name": ("str", lambda r, _c: r.name),
    "ContactStatus": ("str", lambda r, _c: r.status),
    "EmailAddress": ("str", lambda r, _c: r.email),
    "UpdatedDateUTC": ("datetime", lambda r, _c: r.updated_ms),
}
PAYMENT_FIELDS: Fields = {
    "PaymentID": ("guid", lambda r, _c: r.payment_id),
    "Status": ("str", lambda r, _c: "DELETED" if r.payment.deleted else "AUTHORISED"),
    "PaymentType": ("str", lambda r, _c: fr.PAYMENT_TYPES[r.inv.type]),
    "Date": ("date", lambda r, _c: r.payment.date),
    "Amount": ("money", lambda r, _c: r.amount),
    "Reference": ("str", lambda r, _c: r.payment.reference),
    "IsReconciled": ("bool", lambda r, _c: r.payment.reconciled),
    "UpdatedDateUTC": ("datetime", lambda r, _c: r.payment.updated_ms),
    "Invoice.InvoiceID": ("guid", lambda r, _c: r.inv.invoice_id),
    "Invoice.InvoiceNumber": ("str", lambda r, _c: r.inv.number),
    "Invoice.Type": ("str", lambda r, _c: r.inv.type),
}
_DOC_FIELDS: Fields = {
    "Type": ("str", lambda d, _c: d.type),
    "Status": ("str", lambda d, _c: d.status),
    "Date": ("date", lambda d, _c: d.date),
    "CurrencyCode": ("str", lambda d, _c: d.currency),
    "Total": ("money", lambda d, _c: d.total),
    "RemainingCredit": ("money", lambda d, _c: d.remaining),
    "UpdatedDateUTC": ("datetime", lambda d, _c: d.updated_ms),
    "Contact.ContactID": ("guid", lambda d, c: c[d.contact][0]),
    "Contact.Name": ("str", lambda d, c: c[d.contact][1]),
}
DOC_FIELDS: dict[str, Fields] = {
    "CREDITNOTE": {
        "CreditNoteID": ("guid", lambda d, _c: d.doc_id),
        "CreditNoteNumber": ("str", lambda d, _c: d.number),
        "Reference": ("str", lambda _d, _c: ""),
        **_DOC_FIELDS,
    },
    "OVERPAYMENT": {
        "OverpaymentID": ("guid", lambda d, _c: d.doc_id),
        "Reference": ("str", lambda d, _c: d.number),
        **_DOC_FIELDS,
    },
    "PREPAYMENT": {
        "PrepaymentID": ("guid", lambda d, _c: d.doc_id),
        "Reference": ("str", lambda d, _c: d.number),
        **_DOC_FIELDS,
    },
}
# endpoint → (record type name in Xero's errors, envelope key)
ENDPOINTS = {
    "Contacts": ("Contact", "Contacts"),
    "Payments": ("Payment", "Payments"),
    "CREDITNOTE": ("CreditNote", "CreditNotes"),
    "OVERPAYMENT": ("Overpayment", "Overpayments"),
    "PREPAYMENT": ("Prepayment", "Prepayments"),
}


class FinanceReader:
    def __init__(self, emu: XeroEmulator) -> None:
        self.emu = emu
        self._balances: dict[tuple[int, int, int], Any] = {}
        self._selections: OrderedDict[tuple[Any, ...], list[Any]] = OrderedDict()

    @property
    def store(self) -> Any:
        return self.emu.store

    def clear(self) -> None:
        """Forget cached selections (a reset store may reach the same ``sequence`` again)."""
        self._selections.clear()
        self._balances = {}

    # -- selections (also the emulator's accessors) ---------------------------------------

    def contacts(self, tenant: int, from_ms: int | None, archived: bool) -> list[ContactRow]:
        s = self.store
        rows = []
        for index in s.tenant_contacts[tenant]:
            d = s.contact_details[index]
            if from_ms is not None and d.updated_ms < from_ms:
                continue
            if d.status == "ARCHIVED" and not archived:
                continue
            cid, name = s.contacts[index]
            rows.append(ContactRow(index, cid, name, d.status, d.email, d.updated_ms))
        rows.sort(key=lambda r: (r.updated_ms, r.contact_id))
        return rows

    def payments(self, tenant: int, from_ms: int | None) -> list[PaymentRow]:
        rows = []
        for inv in self.store.indexes[tenant].since(from_ms):
            for position, p in enumerate(inv.payments):
                if from_ms is None or p.updated_ms >= from_ms:
                    payment_id = derived_id(inv.invoice_id, "payment", p.salt)
                    rows.append(PaymentRow(inv, p, position, payment_id))
        rows.sort(key=lambda r: (r.payment.updated_ms, r.payment_id))
        return rows

    def docs(self, tenant: int, kind: str, from_ms: int | None) -> list[CreditDoc]:
        rows = [
            d
            for d in self.store.credit_docs.values()
            if d.tenant == tenant
            and d.kind == kind
            and (from_ms is None or d.updated_ms >= from_ms)
        ]
        rows.sort(key=lambda d: (d.updated_ms, d.doc_id))
        return rows

    def balances(self, tenant: int) -> Any:
        """Contact balances and roles, computed once per state of the store."""
        today = self.emu.now().date().toordinal()
        key = (self.store.sequence, tenant, today)
        hit = self._balances.get(key)
        if hit is None:
            hit = fr.balances_and_roles(self.store, tenant, today)
            self._balances = {key: hit}
        return hit

    # -- HTTP bodies ----------------------------------------------------------------------

    def list_body(
        self, endpoint: str, tenant_id: str, query: Mapping[str, str], headers: Mapping[str, str]
    ) -> bytes:
        with self.store.lock:
            return self._list_body(endpoint, tenant_id, query, headers)

    def _list_body(
        self, endpoint: str, tenant_id: str, query: Mapping[str, str], headers: Mapping[str, str]
    ) -> bytes:
        q = {k.lower(): v for k, v in query.items()}
        tenant = self.store.tenant_index(tenant_id)
        _type_name, envelope_key = ENDPOINTS[endpoint]
        rows = self._select(endpoint, tenant, q, headers.get("If-Modified-Since"))
        rows, pagination = self._page(rows, q)
        if endpoint == "Contacts":
            summary = q.get("summaryonly", "").lower() == "true"
            balances, roles = self.balances(tenant)
            items = [
                fr.contact(self.store, r.index, None if summary else balances, roles) for r in rows
            ]
        elif endpoint == "Payments":
            totals = self.emu.reader.totals  # shared with the invoices' pages
            items = [
                fr.payment(self.store, r.inv, r.payment, totals(r.inv).payment_amounts[r.position])
                for r in rows
            ]
        else:
            items = [fr.credit_doc(self.store, d, line_items="page" in q) for d in rows]
        return self._envelope(envelope_key, items, pagination)

    def _select(self, endpoint: str, tenant: int, q: dict[str, str], ims: str | None) -> list[Any]:
        """The records a query matches, in answer order; cached per query and store state
        (every mutation bumps ``store.sequence``), so paging through costs one selection."""
        from_ms = parse_if_modified_since(ims) if ims else None
        names = ("ids", "includearchived", "searchterm", "where", "order")
        key = (self.store.sequence, endpoint, tenant, from_ms, *(q.get(n) for n in names))
        hit = self._selections.get(key)
        if hit is not None:
            self._selections.move_to_end(key)
            return hit
        type_name = ENDPOINTS[endpoint][0]
        ids = {i.lower() for i in split_list(q.get("ids"))}
        rows: list[Any]
        if endpoint == "Contacts":
            fields = CONTACT_FIELDS
            archived = q.get("includearchived", "").lower() == "true" or bool(ids)
            rows = self.contacts(tenant, from_ms, archived)
            if ids:
                rows = [r for r in rows if r.contact_id in ids]
            term = (q.get("searchterm") or "").lower()
            if term:
                rows = [r for r in rows if term in r.name.lower() or term in r.email.lower()]
        elif endpoint == "Payments":
            fields = PAYMENT_FIELDS
            rows = self.payments(tenant, from_ms)
        else:
            fields = DOC_FIELDS[endpoint]
            rows = self.docs(tenant, endpoint, from_ms)
        contacts = self.store.contacts
        if q.get("where"):
            where = parse_where(q["where"], fields, type_name)
            rows = [r for r in rows if matches(where, r, contacts)]
        if q.get("order"):
            rows = parse_order(q["order"], fields, type_name).sort(rows, contacts)
        self._selections[key] = rows
        while len(self._selections) > SELECTION_CACHE_SIZE:
            self._selections.popitem(last=False)
        return rows

    def _page(self, rows: list[Any], q: dict[str, str]) -> tuple[list[Any], dict[str, int] | None]:
        if "page" not in q:
            return rows, None
        page = max(1, _int(q.get("page"), "page", 1))
        size = _int(q.get("pagesize"), "pageSize", 100)
        if size < 1:
            raise QueryError("pageSize must be a positive whole number")
        size = min(size, self.emu.limits.max_page_size)
        pagination = {
            "page": page,
            "pageSize": size,
            "pageCount": -(-len(rows) // size),
            "itemCount": len(rows),
        }
        return rows[(page - 1) * size : page * size], pagination

    def organisation_body(self, tenant_id: str) -> bytes:
        tenant = self.store.tenants[self.store.tenant_index(tenant_id)]
        return self._envelope("Organisations", [fr.organisation(tenant)], None)

    def _envelope(
        self, key: str, items: list[dict[str, Any]], pagination: dict[str, int] | None
    ) -> bytes:
        body: dict[str, Any] = {
            "Id": str(uuid.uuid4()),
            "Status": "OK",
            "ProviderName": "invoice-sync sandbox",
            "DateTimeUTC": f"/Date({datetime_ms(self.emu.now())})/",
        }
        if pagination is not None:
            body["pagination"] = pagination
        body[key] = items
        return compact_json(body).encode()


def _int(raw: str | None, name: str, default: int) -> int:
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise QueryError(f"{name} must be a whole number, got {raw!r}") from None

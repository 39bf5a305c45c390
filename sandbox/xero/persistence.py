"""Save and load the emulator's state as compact JSON lines (gzip when the name ends ``.gz``).

Line 1 is a header (format, organisations, contacts with their details, credit notes /
overpayments / prepayments with their allocations, counters); every further line is a JSON
array of up to 10,000 invoice rows, each a list of the invoice's fields (its allocations by
``[document id, allocation salt]``, so an allocation stays one object shared by both).
Generated line items are not written (they are re-derived from the invoice's ``line_seed``),
so 100,000 invoices save and load in a couple of seconds and memory stays bounded at a million.
The file is plain data (no pickle), safe to open and diff; a truncated file is refused on load.
"""

from __future__ import annotations

import gzip
import json
import os
from pathlib import Path
from sys import intern
from typing import IO, Any

from sandbox.xero.ledger import Allocation, ContactDetail, ContactPerson, CreditDoc
from sandbox.xero.model import Invoice, Line, Payment
from sandbox.xero.store import Store, Tenant

FORMAT = "xero-sandbox-state/3"
_DOC_SCALARS = (
    "kind", "doc_id", "tenant", "type", "number", "contact", "date", "currency", "rate_micros",
    "total", "updated_ms", "status", "fully_paid_on", "version", "next_salt",
)  # fmt: skip
CHUNK = 10_000  # invoices per line: bounded memory while saving and loading
_SCALARS = (
    "invoice_id", "tenant", "type", "number", "reference", "contact", "date", "due_date",
    "status", "line_amount_types", "currency", "rate_micros", "updated_ms", "line_seed",
    "fully_paid_on", "expected_payment", "sent_to_contact", "has_attachments", "url",
    "version", "next_salt", "corrupt",
)  # fmt: skip
_INTERNED = tuple(
    _SCALARS.index(name) for name in ("type", "status", "line_amount_types", "currency")
)


def _open(path: Path, mode: str, gz: bool) -> IO[Any]:
    if gz:
        return gzip.open(path, mode + "t", encoding="utf-8", compresslevel=3)
    return path.open(mode, encoding="utf-8")


def save_store(store: Store, path: Path) -> Path:
    """Write atomically (temp file, then rename): a crash never leaves half a state file."""
    header = {
        "format": FORMAT,
        "sequence": store.sequence,
        "invoices": len(store.invoices),
        "tenants": [vars(t) for t in store.tenants],
        "contacts": store.contacts,
        "contact_details": [_detail_row(d) for d in store.contact_details],
        "credit_docs": [_doc_row(d) for d in store.credit_docs.values()],
        "tenant_contacts": store.tenant_contacts,
        "next_number": store.next_number,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    invoices = list(store.invoices.values())
    with _open(tmp, "w", path.suffix == ".gz") as handle:
        handle.write(_dumps(header) + "\n")
        for start in range(0, len(invoices), CHUNK):
            handle.write(_dumps([_row(inv) for inv in invoices[start : start + CHUNK]]) + "\n")
    os.replace(tmp, path)
    return path


def load_store(path: Path) -> Store:
    with _open(path, "r", path.suffix == ".gz") as handle:
        try:
            header = json.loads(handle.readline())
        except (json.JSONDecodeError, UnicodeDecodeError):
            header = None
        if not isinstance(header, dict) or header.get("format") != FORMAT:
            raise ValueError(f"{path} is not a Xero sandbox state file ({FORMAT})")
        docs = [_doc(row) for row in header["credit_docs"]]
        store = Store(
            tenants=[Tenant(**t) for t in header["tenants"]],
            contacts=[(c[0], c[1]) for c in header["contacts"]],
            contact_details=[_detail(row) for row in header["contact_details"]],
            credit_docs={d.doc_id: d for d in docs},
            tenant_contacts=header["tenant_contacts"],
            next_number=header["next_number"],
            sequence=header["sequence"],
        )
        for line in handle:
            for row in json.loads(line):
                inv = _invoice(row, store.credit_docs)
                store.invoices[inv.invoice_id] = inv
    if len(store.invoices) != header["invoices"]:
        raise ValueError(
            f"{path} is truncated: {len(store.invoices)} of {header['invoices']} invoices"
        )
    store.rebuild_indexes()
    return store


def _dumps(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


def _row(inv: Invoice) -> list[Any]:
    row: list[Any] = [getattr(inv, name) for name in _SCALARS]
    row.append(None if inv.lines_ is None else [_line(line) for line in inv.lines_])
    row.append(
        [
            [p.salt, p.date, p.amount, p.reference, p.deleted, p.updated_ms, p.reconciled]
            for p in inv.payments
        ]
    )
    row.append([[c.source.doc_id, c.salt] for c in inv.credits])
    return row


def _detail_row(d: ContactDetail) -> list[Any]:
    persons = [[p.first_name, p.last_name, p.email, p.include_in_emails] for p in d.persons]
    return [
        d.tenant, d.first_name, d.last_name, d.email, d.account_number, d.status,
        d.default_currency, persons, d.updated_ms, d.version,
    ]  # fmt: skip


def _detail(row: list[Any]) -> ContactDetail:
    *head, persons, updated_ms, version = row
    return ContactDetail(
        *head,
        persons=[ContactPerson(*p) for p in persons],
        updated_ms=updated_ms,
        version=version,
    )


def _doc_row(d: CreditDoc) -> list[Any]:
    row: list[Any] = [getattr(d, name) for name in _DOC_SCALARS]
    row.append(
        [
            [a.invoice_id, a.invoice_number, a.date, a.amount, a.salt, a.deleted]
            for a in d.allocations
        ]
    )
    return row


def _doc(row: list[Any]) -> CreditDoc:
    doc = CreditDoc(*row[:11])
    for name, value in zip(_DOC_SCALARS[11:], row[11:-1], strict=True):
        setattr(doc, name, value)
    doc.allocations = [Allocation(doc, *a) for a in row[-1]]
    return doc


def _invoice(row: list[Any], docs: dict[str, CreditDoc]) -> Invoice:
    count = len(_SCALARS)
    for index in _INTERNED:  # share the few distinct values, as generated state does
        row[index] = intern(row[index])
    inv = Invoice(*row[:14])  # the positional fields, in _SCALARS order
    for name, value in zip(_SCALARS[14:], row[14:count], strict=True):
        setattr(inv, name, value)
    lines, payments, credits = row[count:]
    if lines is not None:
        inv.lines_ = [Line(*line) for line in lines]
    inv.payments = tuple(Payment(p[0], p[1], p[2], intern(p[3]), *p[4:]) for p in payments)
    inv.credits = tuple(
        next(a for a in docs[doc_id].allocations if a.salt == salt) for doc_id, salt in credits
    )
    return inv


def _line(line: Line) -> list[Any]:
    return [
        line.salt, line.description, line.quantity, line.unit_amount, line.account_code,
        line.tax_type, line.item_code, line.discount_bp,
    ]  # fmt: skip

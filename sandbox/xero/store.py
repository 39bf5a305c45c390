"""The emulator's state: organisations, contacts, invoices, credit documents, and the
invoices' UpdatedDateUTC index.

Invoices are kept per tenant in an append-only index ordered by ``UpdatedDateUTC`` (then by
mutation sequence), so ``If-Modified-Since`` is a binary search and the default listing order
is free. A mutation appends the invoice again and leaves a stale entry behind, skipped on read
and compacted when stale entries outnumber live ones.
"""

from __future__ import annotations

import bisect
import threading
from array import array
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from sandbox.xero.ledger import ContactDetail, CreditDoc
from sandbox.xero.model import Invoice


class XeroValidationError(Exception):
    """A mutation Xero itself would refuse (e.g. deleting an AUTHORISED invoice)."""


@dataclass
class Tenant:
    tenant_id: str
    name: str
    base_currency: str
    short_code: str
    created_ms: int
    branding_theme_id: str
    connection_id: str
    auth_event_id: str
    # Organisation fields (GET /Organisation); defaults for state saved before they existed
    country_code: str = "NZ"
    timezone: str = "NEWZEALANDSTANDARDTIME"  # Xero's own enum (TimeZone in the OpenAPI spec)
    financial_year_end_day: int = 31
    financial_year_end_month: int = 3
    organisation_id: str = ""

    def public(self) -> dict[str, Any]:
        return {
            "tenant_id": self.tenant_id,
            "branding_theme_id": self.branding_theme_id,
            "name": self.name,
            "base_currency": self.base_currency,
        }


class UpdatedIndex:
    """One tenant's invoices in ``(updated_ms, sequence)`` order.

    Three parallel sequences (two machine-integer arrays and a list of references) take about
    24 bytes per entry, against ~120 for a list of tuples: it matters at a million invoices.
    """

    __slots__ = ("invoices", "keys", "live", "versions")

    def __init__(self) -> None:
        self.keys = array("q")  # updated_ms
        self.versions = array("q")  # the invoice's version when this entry was added
        self.invoices: list[Invoice] = []
        self.live = 0

    def add(self, inv: Invoice, replacing: bool) -> None:
        if not replacing:
            self.live += 1
        if not self.keys or inv.updated_ms >= self.keys[-1]:
            self.keys.append(inv.updated_ms)
            self.versions.append(inv.version)
            self.invoices.append(inv)
        else:  # a clock that went backwards: keep the order anyway
            at = bisect.bisect_right(self.keys, inv.updated_ms)
            self.keys.insert(at, inv.updated_ms)
            self.versions.insert(at, inv.version)
            self.invoices.insert(at, inv)
        if len(self.invoices) > 1024 and len(self.invoices) > 2 * self.live:
            self.compact()

    def compact(self) -> None:
        keep = [i for i, inv in enumerate(self.invoices) if self.versions[i] == inv.version]
        self.keys = array("q", (self.keys[i] for i in keep))
        self.versions = array("q", (self.versions[i] for i in keep))
        self.invoices = [self.invoices[i] for i in keep]
        self.live = len(keep)

    def since(self, from_ms: int | None) -> Iterator[Invoice]:
        """Live invoices with ``updated_ms >= from_ms`` (all when None), oldest change first."""
        start = 0 if from_ms is None else bisect.bisect_left(self.keys, from_ms)
        versions, invoices = self.versions, self.invoices
        for i in range(start, len(invoices)):
            inv = invoices[i]
            if versions[i] == inv.version:
                yield inv


@dataclass
class Store:
    tenants: list[Tenant] = field(default_factory=list)
    contacts: list[tuple[str, str]] = field(default_factory=list)  # (ContactID, Name)
    contact_details: list[ContactDetail] = field(default_factory=list)  # same indexes
    tenant_contacts: list[list[int]] = field(default_factory=list)  # per tenant: contact indexes
    invoices: dict[str, Invoice] = field(default_factory=dict)
    indexes: list[UpdatedIndex] = field(default_factory=list)
    credit_docs: dict[str, CreditDoc] = field(default_factory=dict)  # by id (lower case)
    next_number: list[int] = field(default_factory=list)  # per tenant: next ACCREC number
    sequence: int = 0  # bumped on every mutation; also the store's cache key
    lock: threading.RLock = field(default_factory=threading.RLock, repr=False)
    on_change: Callable[[Invoice, str], None] | None = field(default=None, repr=False)

    def rebuild_indexes(self) -> None:
        self.indexes = [UpdatedIndex() for _ in self.tenants]
        for inv in sorted(self.invoices.values(), key=lambda i: (i.updated_ms, i.version)):
            self.indexes[inv.tenant].add(inv, replacing=False)

    def tenant_index(self, tenant_id: str) -> int:
        for index, tenant in enumerate(self.tenants):
            if tenant.tenant_id == tenant_id:
                return index
        raise KeyError(tenant_id)

    def add_tenant(self, tenant: Tenant) -> int:
        self.tenants.append(tenant)
        self.tenant_contacts.append([])
        self.indexes.append(UpdatedIndex())
        self.next_number.append(1)
        return len(self.tenants) - 1

    def add_contact(
        self, tenant: int, contact_id: str, name: str, detail: ContactDetail | None = None
    ) -> int:
        self.contacts.append((contact_id, name))
        self.contact_details.append(detail or ContactDetail(tenant))
        self.tenant_contacts[tenant].append(len(self.contacts) - 1)
        return len(self.contacts) - 1

    def contact_index(self, contact_id: str) -> int:
        wanted = contact_id.lower()
        for index, (cid, _name) in enumerate(self.contacts):
            if cid == wanted:
                return index
        raise KeyError(contact_id)

    def touch_contact(self, index: int, updated_ms: int) -> None:
        """A contact changed: its own UpdatedDateUTC moves (never backwards, never equal)."""
        detail = self.contact_details[index]
        with self.lock:
            self.sequence += 1
            detail.version = self.sequence
            detail.updated_ms = max(updated_ms, detail.updated_ms + 1)

    def add_doc(self, doc: CreditDoc) -> None:
        with self.lock:
            self.sequence += 1
            doc.version = self.sequence
            self.credit_docs[doc.doc_id] = doc

    def touch_doc(self, doc: CreditDoc, updated_ms: int) -> None:
        with self.lock:
            self.sequence += 1
            doc.version = self.sequence
            doc.updated_ms = max(updated_ms, doc.updated_ms + 1)

    def find_contact(self, tenant: int, name: str) -> int | None:
        for index in self.tenant_contacts[tenant]:
            if self.contacts[index][1] == name:
                return index
        return None

    def insert(self, inv: Invoice, *, event: str | None = "CREATE") -> None:
        """Add a new invoice (its ``updated_ms`` already set)."""
        with self.lock:
            self.sequence += 1
            inv.version = self.sequence
            self.invoices[inv.invoice_id] = inv
            self.indexes[inv.tenant].add(inv, replacing=False)
        if event and self.on_change:
            self.on_change(inv, event)

    def touch(self, inv: Invoice, updated_ms: int) -> None:
        """Record a mutation of ``inv``: new UpdatedDateUTC, re-indexed, webhook queued.

        Two versions of one invoice never share an ``UpdatedDateUTC`` (as in Xero, whose clock
        moves between two saves): with a frozen test clock the second change is stamped 1 ms
        after the first, so ``(InvoiceID, UpdatedDateUTC)`` identifies a version."""
        with self.lock:
            self.sequence += 1
            inv.version = self.sequence
            inv.updated_ms = max(updated_ms, inv.updated_ms + 1)
            self.indexes[inv.tenant].add(inv, replacing=True)
        if self.on_change:
            self.on_change(inv, "UPDATE")

    def get(self, invoice_id: str) -> Invoice:
        inv = self.invoices.get(invoice_id.lower())
        if inv is None:
            raise KeyError(invoice_id)
        return inv

    def take_number(self, tenant: int) -> str:
        number = self.next_number[tenant]
        self.next_number[tenant] += 1
        return f"INV-{number:06d}"

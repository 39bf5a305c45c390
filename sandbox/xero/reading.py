"""Answering GET /Invoices: selection (filters, order, If-Modified-Since), paging, rendering.

Selections are cached per query and per state of the store (every mutation bumps
``store.sequence``, which is part of the key), so paging through a large result costs one
filter pass; each invoice's JSON is cached per version and shape, so re-reading unchanged
invoices (benchmarks, overlapping incremental windows) costs little more than a join.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from sandbox.xero.model import Invoice, Line, Totals, compute_totals
from sandbox.xero.query import (
    QueryError,
    matches,
    parse_if_modified_since,
    parse_order,
    parse_where,
    split_list,
)
from sandbox.xero.render import DUPLICATE_KEY, Renderer, compact_json, duplicate_copy
from sandbox.xero.store import Store

if TYPE_CHECKING:
    from sandbox.xero.emulator import XeroEmulator

DEFAULT_PAGE_SIZE = 100
FRAGMENT_CACHE_SIZE = 200_000  # rendered invoices kept (~2 KB each); cleared when full
SELECTION_CACHE_SIZE = 16


class InvoiceReader:
    def __init__(self, emu: XeroEmulator) -> None:
        self.emu = emu
        self._cache: OrderedDict[tuple[Any, ...], list[Invoice]] = OrderedDict()
        self._cache_lock = threading.Lock()
        self._numbers: dict[tuple[Any, ...], dict[str, Invoice]] = {}
        self._fragments: dict[tuple[Any, ...], str] = {}
        self._totals: dict[tuple[str, int], Totals] = {}

    @property
    def store(self) -> Store:
        return self.emu.store

    def renderer(self) -> Renderer:
        return Renderer(
            self.store.contacts,
            [{"branding_theme_id": t.branding_theme_id} for t in self.store.tenants],
            self.totals,
        )

    def totals(self, inv: Invoice, lines: list[Line] | None = None) -> Totals:
        """``inv.totals()``, kept per (id, version) like the rendered JSON: a page of payments
        needs the totals of each payment's invoice (a full payment's amount is what settles
        it), which the page of invoices read before it just computed — regenerating the lines
        was most of a payments page. The caller holds the store's lock; every change to an
        invoice (payments, credits, lines) gives it a new ``version`` (store.touch).
        ``lines``: the invoice's lines when the caller has them (generating them is costly)."""
        key = (inv.invoice_id, inv.version)
        totals = self._totals.get(key)
        if totals is None:
            lines = inv.lines if lines is None else lines  # the renderer has them already
            totals = compute_totals(lines, inv.line_amount_types, inv.payments, inv.credits)
            if len(self._totals) >= FRAGMENT_CACHE_SIZE:
                self._totals = {}
            self._totals[key] = totals
        return totals

    def invoice(self, invoice_id: str) -> dict[str, Any]:
        """The invoice as the API returns it by id (full, with line items)."""
        with self.store.lock:
            return self.renderer().invoice(self.store.get(invoice_id), line_items=True)

    def clear(self) -> None:
        with self._cache_lock:
            self._cache.clear()
            self._numbers = {}
        self._fragments = {}
        self._totals = {}

    def select(
        self, tenant_id: str, query: Mapping[str, str], headers: Mapping[str, str]
    ) -> list[Invoice]:
        """The invoices a GET /Invoices query matches, in answer order (cached per state)."""
        q = {k.lower(): v for k, v in query.items()}
        ims = headers.get("If-Modified-Since")
        from_ms = parse_if_modified_since(ims) if ims else None
        key = (
            self.store.sequence,
            tenant_id,
            from_ms,
            q.get("statuses"),
            q.get("ids"),
            q.get("invoicenumbers"),
            q.get("contactids"),
            q.get("where"),
            q.get("order"),
            q.get("searchterm"),
        )
        with self._cache_lock:
            hit = self._cache.get(key)
            if hit is not None:
                self._cache.move_to_end(key)
                return hit
        statuses = {s.upper() for s in split_list(q.get("statuses"))}
        ids = {i.lower() for i in split_list(q.get("ids"))}
        numbers = set(split_list(q.get("invoicenumbers")))
        contact_ids = {c.lower() for c in split_list(q.get("contactids"))}
        where = parse_where(q["where"]) if q.get("where") else None
        order = parse_order(q["order"]) if q.get("order") else None
        term = (q.get("searchterm") or "").lower()
        contacts = self.store.contacts
        with self.store.lock:
            tenant = self.store.tenant_index(tenant_id)
            candidates = list(self.store.indexes[tenant].since(from_ms))
        out = []
        for inv in candidates:
            if statuses and inv.status not in statuses:
                continue
            if ids and inv.invoice_id not in ids:
                continue
            if numbers and inv.number not in numbers:
                continue
            if contact_ids and contacts[inv.contact][0] not in contact_ids:
                continue
            if term and term not in inv.number.lower() and term not in inv.reference.lower():
                continue
            if where is not None and not matches(where, inv, contacts):
                continue
            out.append(inv)
        if order is not None:
            out = order.sort(out, contacts)
        with self._cache_lock:
            self._cache[key] = out
            while len(self._cache) > SELECTION_CACHE_SIZE:
                self._cache.popitem(last=False)
        return out

    def list_body(
        self, tenant_id: str, query: Mapping[str, str], headers: Mapping[str, str]
    ) -> bytes:
        """The JSON body of ``GET /Invoices`` (see :mod:`render` for the shapes).

        Selected and rendered under the store's lock, so a page never shows half a mutation."""
        with self.store.lock:
            return self._list_body(tenant_id, query, headers)

    def _list_body(
        self, tenant_id: str, query: Mapping[str, str], headers: Mapping[str, str]
    ) -> bytes:
        q = {k.lower(): v for k, v in query.items()}
        selected = self.select(tenant_id, query, headers)
        summary = q.get("summaryonly", "").lower() == "true"
        unitdp = _int(q.get("unitdp"), "unitdp", 2)
        renderer = self.renderer()
        pagination = None
        if "page" in q:
            page = max(1, _int(q.get("page"), "page", 1))
            size = _int(q.get("pagesize"), "pageSize", DEFAULT_PAGE_SIZE)
            if size < 1:
                raise QueryError("pageSize must be a positive whole number")
            size = min(size, self.emu.limits.max_page_size)
            rows = selected[(page - 1) * size : page * size]
            pagination = {
                "page": page,
                "pageSize": size,
                "pageCount": -(-len(selected) // size),
                "itemCount": len(selected),
            }
        else:
            rows = selected
        mode = ("page" in q, summary, unitdp)
        fragments = []
        for inv in rows:
            fragments.append(self._rendered(renderer, inv, mode))
            if inv.corrupt and DUPLICATE_KEY in inv.corrupt:  # a test asked for a repeat
                copy = duplicate_copy(json.loads(fragments[-1]), inv.corrupt[DUPLICATE_KEY])
                fragments.append(compact_json(copy, verbatim=True))
        return renderer.envelope_json(self.emu.now(), fragments, pagination).encode()

    def _rendered(self, renderer: Renderer, inv: Invoice, mode: tuple[bool, bool, int]) -> str:
        """One invoice's JSON text, cached by (id, version, shape): repeated reads are cheap."""
        key = (inv.invoice_id, inv.version, mode)
        text = self._fragments.get(key)
        if text is None:
            line_items, summary, unitdp = mode
            data = renderer.invoice(inv, line_items=line_items, summary=summary, unitdp=unitdp)
            text = compact_json(data, verbatim=bool(inv.corrupt))
            if len(self._fragments) >= FRAGMENT_CACHE_SIZE:
                self._fragments.clear()
            self._fragments[key] = text
        return text

    def single_body(self, tenant_id: str, key: str, query: Mapping[str, str]) -> bytes:
        """``GET /Invoices/{InvoiceID or InvoiceNumber}``: one invoice, full, in the envelope."""
        q = {k.lower(): v for k, v in query.items()}
        tenant = self.store.tenant_index(tenant_id)
        inv = self.store.invoices.get(key.lower()) or self._by_number(tenant, key)
        if inv is None or inv.tenant != tenant:
            raise KeyError(key)
        renderer = self.renderer()
        unitdp = _int(q.get("unitdp"), "unitdp", 2)
        with self.store.lock:
            rendered = renderer.invoice(inv, line_items=True, unitdp=unitdp)
        body = renderer.envelope(self.emu.now(), [rendered], None)
        return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()

    def _by_number(self, tenant: int, number: str) -> Invoice | None:
        """Xero also accepts an InvoiceNumber in ``/Invoices/{id}``; indexed per state."""
        key = ("numbers", self.store.sequence, tenant)
        with self._cache_lock:
            index = self._numbers.get(key)
        if index is None:
            with self.store.lock:
                index = {i.number: i for i in self.store.invoices.values() if i.tenant == tenant}
            with self._cache_lock:
                self._numbers = {key: index}
        return index.get(number)


def _int(raw: str | None, name: str, default: int) -> int:
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise QueryError(f"{name} must be a whole number, got {raw!r}") from None

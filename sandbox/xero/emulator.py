"""`XeroEmulator`: the stateful Xero Accounting API sandbox other code and tests drive.

The object owns the state (:mod:`store`), the identity server (:mod:`auth`), the rate limiter
(:mod:`limits`), faults and counters (:mod:`sandbox.faults`) and webhooks (:mod:`webhooks`);
:meth:`app` serves them over HTTP (:mod:`app`). Mutations (:mod:`mutations`) mirror what a
person does in Xero and each bumps ``UpdatedDateUTC`` from the injected clock.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from aiohttp import web

from sandbox.clock import utc_now
from sandbox.credentials import SANDBOX_XERO_CLIENT_ID, SANDBOX_XERO_CLIENT_SECRET
from sandbox.faults import Counters, Faults
from sandbox.xero import credits, mutations, views
from sandbox.xero.activity import simulate
from sandbox.xero.app import build_app
from sandbox.xero.auth import AccessToken, Identity
from sandbox.xero.finance_reading import FinanceReader
from sandbox.xero.generator import generate
from sandbox.xero.ledger import CreditDoc
from sandbox.xero.limits import RateLimiter, XeroLimits
from sandbox.xero.model import Invoice, derived_id
from sandbox.xero.persistence import load_store, save_store
from sandbox.xero.reading import InvoiceReader
from sandbox.xero.render import DUPLICATE_KEY, Renderer
from sandbox.xero.store import Store, XeroValidationError
from sandbox.xero.webhooks import Delivery, Webhooks


class XeroEmulator:
    def __init__(
        self, limits: XeroLimits | None = None, clock: Callable[[], datetime] | None = None
    ) -> None:
        self.clock = clock or utc_now
        self.faults = Faults()
        self.counters = Counters()
        self.identity = Identity()
        self.limiter = RateLimiter(limits or XeroLimits())
        self.store = Store()
        self.webhooks = Webhooks(self)
        self.state_path: Path | None = None
        self.reader = InvoiceReader(self)
        self.finance = FinanceReader(self)
        self._install_defaults(limits)

    # ----------------------------------------------------------------- set-up and state
    def _install_defaults(self, limits: XeroLimits | None) -> None:
        self.limits = limits or XeroLimits()
        self.identity.add_client(SANDBOX_XERO_CLIENT_ID, SANDBOX_XERO_CLIENT_SECRET, None)
        self.store.on_change = self.webhooks.record

    @property
    def limits(self) -> XeroLimits:
        return self.limiter.limits

    @limits.setter
    def limits(self, value: XeroLimits) -> None:
        self.limiter.limits = value
        self.identity.access_token_seconds = value.access_token_seconds

    def now(self) -> datetime:
        return self.clock()

    def app(self) -> web.Application:
        return build_app(self)

    def reset(self) -> None:
        """Empty state, no tokens or extra clients, no faults, zero counters, default limits."""
        self.store = Store()
        self.identity = Identity()
        self.faults.clear()
        self.counters.reset()
        self.limiter.reset()
        self.webhooks.reset()
        self._clear_cache()
        self._install_defaults(None)

    def seed_demo(self, invoices: int, seed: int = 7, tenants: int = 1) -> list[str]:
        """Add deterministic demo organisations and invoices (see :mod:`generator`)."""
        with self.store.lock:
            ids = generate(
                self.store, invoices=invoices, seed=seed, tenants=tenants, now=self.now()
            )
        self._clear_cache()
        return ids

    @property
    def tenant_ids(self) -> list[str]:
        return [t.tenant_id for t in self.store.tenants]

    def add_client(
        self, client_id: str, client_secret: str, tenant_ids: list[str] | None = None
    ) -> None:
        self.identity.add_client(
            client_id, client_secret, [t.lower() for t in tenant_ids] if tenant_ids else None
        )

    def issue_refresh_token(self, client_id: str) -> str:
        """A refresh token as if a person had just authorised the standard app ``client_id``."""
        return self.identity.issue_refresh_token(client_id, self.now())

    def connections(self, token: AccessToken) -> list[dict[str, Any]]:
        return [
            {
                "id": t.connection_id,
                "authEventId": token.auth_event_id,
                "tenantId": t.tenant_id,
                "tenantType": "ORGANISATION",
                "tenantName": t.name,
                "createdDateUtc": _iso_ms(t.created_ms),
                "updatedDateUtc": _iso_ms(t.created_ms),
            }
            for t in self.store.tenants
            if token.tenant_ids is None or t.tenant_id in token.tenant_ids
        ]

    # ----------------------------------------------------------------- reading
    def renderer(self) -> Renderer:
        return self.reader.renderer()

    def invoices(self, tenant_id: str | None = None) -> list[Invoice]:
        """Every stored invoice of a tenant (the first by default), as compact records in
        answer order — for tests and benchmarks that need to know what Xero holds."""
        return self.reader.select(tenant_id or self.tenant_ids[0], {}, {})

    def invoice(self, invoice_id: str) -> dict[str, Any]:
        """The invoice as the API returns it by id (full, with line items)."""
        return self.reader.invoice(invoice_id)

    # Plain views of the finance records, for tests to compute expected values independently
    # of the HTTP answers (amounts as Decimal, dates as date, timestamps as epoch ms).
    def contacts(self, tenant_id: str | None = None) -> list[dict[str, Any]]:
        """Every contact of a tenant, archived ones included, with persons and balances."""
        tenant = self._tenant(tenant_id)
        balances, roles = self.finance.balances(tenant)
        with self.store.lock:
            return [
                views.contact(self.store, i, balances, roles)
                for i in self.store.tenant_contacts[tenant]
            ]

    def contact(self, contact_id: str) -> dict[str, Any]:
        index = self.store.contact_index(contact_id)
        return next(c for c in self.contacts(self._tenant_id_of(index)) if c["index"] == index)

    def payments(self, tenant_id: str | None = None) -> list[dict[str, Any]]:
        """Every payment of a tenant, deleted ones included."""
        with self.store.lock:
            rows = self.finance.payments(self._tenant(tenant_id), None)
            return [views.payment(r.inv, r.payment, r.amount) for r in rows]

    def credit_docs(self, kind: str, tenant_id: str | None = None) -> list[CreditDoc]:
        """Credit notes (``CREDITNOTE``), overpayments or prepayments of a tenant."""
        with self.store.lock:
            return self.finance.docs(self._tenant(tenant_id), kind.upper(), None)

    def allocations(self, tenant_id: str | None = None) -> list[dict[str, Any]]:
        """Every allocation of every credit document of a tenant, deleted ones included."""
        with self.store.lock:
            docs = [
                d for d in self.store.credit_docs.values() if d.tenant == self._tenant(tenant_id)
            ]
            return [views.allocation(a) for d in docs for a in d.allocations]

    def organisation(self, tenant_id: str | None = None) -> dict[str, Any]:
        return views.organisation(self.store.tenants[self._tenant(tenant_id)])

    def _tenant(self, tenant_id: str | None) -> int:
        return self.store.tenant_index((tenant_id or self.tenant_ids[0]).lower())

    def _tenant_id_of(self, contact: int) -> str:
        return self.store.tenants[self.store.contact_details[contact].tenant].tenant_id

    def _clear_cache(self) -> None:
        self.reader.clear()
        self.finance.clear()

    def list_invoices_body(
        self, tenant_id: str, query: Mapping[str, str], headers: Mapping[str, str]
    ) -> bytes:
        """The JSON body of ``GET /Invoices`` (see :mod:`reading`)."""
        return self.reader.list_body(tenant_id, query, headers)

    def single_invoice_body(self, tenant_id: str, key: str, query: Mapping[str, str]) -> bytes:
        return self.reader.single_body(tenant_id, key, query)

    # ----------------------------------------------------------------- changing Xero
    def create_invoice(self, tenant_id: str | None = None, **fields: Any) -> dict[str, Any]:
        """Create an invoice (Xero field names or snake_case: ``contact_name``, ``line_items``
        with ``Description``/``Quantity``/``UnitAmount``, ``status`` DRAFT|SUBMITTED|AUTHORISED,
        ``type``, ``currency_code``, ``currency_rate``, ``date``, ``due_date``, ``reference``)."""
        if tenant_id is None:
            if not self.store.tenants:
                raise XeroValidationError("No organisation yet: call seed_demo() first")
            tenant_id = self.tenant_ids[0]
        with self.store.lock:
            inv = mutations.create(
                self.store, self.store.tenant_index(tenant_id.lower()), self.now(), fields
            )
        return self.invoice(inv.invoice_id)

    def _mutate(self, action: Callable[..., None], invoice_id: str, *args: Any) -> dict[str, Any]:
        with self.store.lock:
            action(self.store, self.store.get(invoice_id), self.now(), *args)
        return self.invoice(invoice_id)

    def authorise(self, invoice_id: str) -> dict[str, Any]:
        return self._mutate(mutations.authorise, invoice_id)

    def submit(self, invoice_id: str) -> dict[str, Any]:
        return self._mutate(mutations.submit, invoice_id)

    def pay(
        self, invoice_id: str, amount: Decimal | None = None, on: date | str | None = None
    ) -> dict[str, Any]:
        """Record a payment (the whole amount due when ``amount`` is None) dated ``on``
        (default today); the invoice's AmountPaid/AmountDue/Status follow from it."""
        return self._mutate(mutations.pay, invoice_id, amount, on)

    def credit(self, invoice_id: str, amount: Decimal) -> dict[str, Any]:
        """Allocate a credit note of ``amount`` to the invoice."""
        return self._mutate(mutations.credit, invoice_id, amount)

    def delete_payment(self, payment_id: str) -> dict[str, Any]:
        """Delete one payment (it stays listed with ``Status: DELETED``); returns the invoice."""
        with self.store.lock:
            for inv in self.store.invoices.values():
                for payment in inv.payments:
                    if derived_id(inv.invoice_id, "payment", payment.salt) == payment_id.lower():
                        mutations.delete_payment(self.store, inv, payment, self.now())
                        return self.invoice(inv.invoice_id)
        raise KeyError(payment_id)

    def allocate_credit(
        self, doc_id: str, invoice_id: str, amount: Decimal, on: date | str | None = None
    ) -> dict[str, Any]:
        """Allocate ``amount`` of a credit note's (overpayment's, prepayment's) remaining credit
        to an invoice of the same contact and currency; returns the invoice."""
        with self.store.lock:
            doc = self.store.credit_docs.get(doc_id.lower())
            if doc is None:
                raise KeyError(doc_id)
            inv = self.store.get(invoice_id)
            day = mutations.ordinal(on, self.now().date().toordinal())
            mutations.allocate(self.store, doc, inv, self.now(), amount, day)
        return self.invoice(invoice_id)

    def remove_allocation(self, doc_id: str, allocation_id: str) -> dict[str, Any]:
        """Remove one allocation of a credit note (overpayment, prepayment), as Xero's ``DELETE
        …/Allocations/{AllocationID}`` does (:mod:`credits`); returns it, ``is_deleted``."""
        with self.store.lock:
            doc = self._doc(doc_id)
            found = next(
                (a for a in doc.allocations if a.allocation_id == allocation_id.lower()), None
            )
            if found is None:
                raise KeyError(allocation_id)
            return views.allocation(credits.remove_allocation(self.store, doc, found, self.now()))

    def void_credit(self, doc_id: str) -> dict[str, Any]:
        """Void a credit note (overpayment, prepayment) with no allocation left; returns its
        id, status and remaining credit."""
        with self.store.lock:
            doc = self._doc(doc_id)
            credits.void_doc(self.store, doc, self.now())
            return {
                "doc_id": doc.doc_id,
                "status": doc.status,
                "remaining": views.cents(doc.remaining),
            }

    def _doc(self, doc_id: str) -> CreditDoc:
        doc = self.store.credit_docs.get(doc_id.lower())
        if doc is None:
            raise KeyError(doc_id)
        return doc

    def rename_contact(self, contact_id: str, name: str) -> dict[str, Any]:
        with self.store.lock:
            index = self.store.contact_index(contact_id)
            mutations.rename_contact(self.store, index, self.now(), name)
        return self.contact(contact_id)

    def set_contact_email(self, contact_id: str, email: str) -> dict[str, Any]:
        with self.store.lock:
            index = self.store.contact_index(contact_id)
            mutations.set_contact_email(self.store, index, self.now(), email)
        return self.contact(contact_id)

    def remove_payments(self, invoice_id: str) -> dict[str, Any]:
        return self._mutate(mutations.remove_payments, invoice_id)

    def void(self, invoice_id: str) -> dict[str, Any]:
        return self._mutate(mutations.void, invoice_id)

    def delete(self, invoice_id: str) -> dict[str, Any]:
        return self._mutate(mutations.delete, invoice_id)

    def edit(self, invoice_id: str, **fields: Any) -> dict[str, Any]:
        return self._mutate(mutations.edit, invoice_id, fields)

    def corrupt_invoice(self, invoice_id: str, field: str, value: Any) -> dict[str, Any]:
        """Serve ``value`` as the invoice's ``field`` from now on (e.g. ``"Date", "/Date(x)/"``,
        ``"Total", "12,50"`` or ``"LineItems.0.LineAmount", "abc"``), for tests of a client's
        bad-input handling. The stored invoice is unchanged; only what the API serves is bad."""
        return self._mutate(mutations.corrupt, invoice_id, field, value)

    def restore_invoice(self, invoice_id: str) -> dict[str, Any]:
        """Undo :meth:`corrupt_invoice` and :meth:`duplicate_in_page`: the invoice is served as
        stored again, with a new ``UpdatedDateUTC`` (as when Xero corrects a record)."""
        return self._mutate(mutations.restore, invoice_id)

    def duplicate_in_page(self, invoice_id: str, **overrides: Any) -> dict[str, Any]:
        """Serve a second copy of the invoice right after it in ``GET /Invoices`` answers,
        with ``overrides`` (e.g. an older ``UpdatedDateUTC`` and another ``Total``): the
        repeated-``InvoiceID`` answers of issue 10. Bumps ``UpdatedDateUTC`` like any change."""
        return self._mutate(mutations.corrupt, invoice_id, DUPLICATE_KEY, overrides)

    def activity(self, hours: float = 1.0, seed: int | None = None) -> dict[str, int]:
        """Simulate ``hours`` of business (see :mod:`activity`); returns counts by kind."""
        with self.store.lock:
            return simulate(self.store, self.now(), hours, seed)

    # ----------------------------------------------------------------- webhooks
    def configure_webhooks(self, url: str, key: str, deliver_every: float | None = None) -> None:
        """Send signed events for every later change to ``url``: on :meth:`flush_webhooks`, or
        every ``deliver_every`` seconds from a background thread (demos)."""
        self.webhooks.configure(url, key, deliver_every)

    def flush_webhooks(self) -> list[Delivery]:
        return self.webhooks.flush()

    def send_intent_to_receive(self) -> tuple[int, int]:
        """Xero's subscription check: statuses for a correctly and an incorrectly signed post."""
        return self.webhooks.intent_to_receive()

    # ----------------------------------------------------------------- persistence
    def save(self, path: str | Path) -> Path:
        """Write organisations, contacts and invoices to ``path`` (JSON; gzip if ``.gz``)."""
        with self.store.lock:
            saved = save_store(self.store, Path(path))
        self.state_path = saved
        return saved

    @classmethod
    def load(cls, path: str | Path, **kwargs: Any) -> XeroEmulator:
        """An emulator holding the state saved at ``path`` (``kwargs`` as for the constructor).

        Tokens, faults, counters and webhooks are not part of the state: a loaded emulator
        starts with none, like a restarted server."""
        emu = cls(**kwargs)
        emu.store = load_store(Path(path))
        emu.store.on_change = emu.webhooks.record
        emu.state_path = Path(path)
        return emu


def _iso_ms(ms: int) -> str:
    """``/connections`` dates: naive UTC ISO with a fraction, as Xero writes them."""
    return (
        datetime.fromtimestamp(ms / 1000, UTC)
        .replace(tzinfo=None)
        .isoformat(timespec="microseconds")
    )

"""An hour of simulated business: the changes a bookkeeper makes, at Xero's usual pace.

About 0.5 % of an organisation's invoices change per simulated hour (at least one change):
new invoices (~27 %), full payments (~23 %), part payments (~14 %), edits (~11 %), drafts
approved (~7 %), voids (~5 %), drafts deleted (~5 %), payments deleted (~3 %), credit notes
allocated (~3 %), contacts renamed (~2 %) or given a new e-mail (~2 %). Every change is
stamped with the emulator's current time — Xero never back-dates ``UpdatedDateUTC`` — so a
client reading with ``If-Modified-Since`` its previous high-water mark sees all of them.
"""

from __future__ import annotations

import random
from datetime import date, datetime
from decimal import Decimal

from sandbox.xero import mutations
from sandbox.xero.model import DESCRIPTIONS, Invoice
from sandbox.xero.store import Store, XeroValidationError

MIX = (
    ("created", 30),
    ("paid", 25),
    ("part_paid", 15),
    ("edited", 12),
    ("approved", 8),
    ("voided", 5),
    ("deleted", 5),
    ("payment_deleted", 3),
    ("credited", 3),
    ("contact_renamed", 2),
    ("contact_email", 2),
)
WANTS = {
    "paid": ("AUTHORISED",),
    "part_paid": ("AUTHORISED",),
    "edited": ("DRAFT", "SUBMITTED", "AUTHORISED"),
    "approved": ("DRAFT", "SUBMITTED"),
    "voided": ("AUTHORISED",),
    "deleted": ("DRAFT", "SUBMITTED"),
    "payment_deleted": ("AUTHORISED", "PAID"),
    "credited": ("AUTHORISED",),
    "contact_renamed": ("AUTHORISED", "PAID", "DRAFT", "SUBMITTED", "VOIDED", "DELETED"),
    "contact_email": ("AUTHORISED", "PAID", "DRAFT", "SUBMITTED", "VOIDED", "DELETED"),
}


def simulate(store: Store, now: datetime, hours: float, seed: int | None) -> dict[str, int]:
    rng = random.Random(seed)
    counts = {name: 0 for name, _ in MIX}
    if not store.tenants:
        return counts
    total = len(store.invoices)
    changes = max(1, round(total * 0.005 * hours))
    ids = list(store.invoices)
    names = [name for name, _ in MIX]
    weights = [weight for _, weight in MIX]
    for kind in rng.choices(names, weights, k=changes):
        if kind == "created" or not ids:
            tenant = rng.randrange(len(store.tenants))
            inv = mutations.create(store, tenant, now, _new_invoice(store, tenant, rng))
            ids.append(inv.invoice_id)
            counts["created"] += 1
            continue
        target = _pick(store, ids, WANTS[kind], rng)
        if target is None:
            continue
        try:
            _apply(kind, store, target, now, rng)
        except XeroValidationError:
            continue
        counts[kind] += 1
    return counts


def _pick(
    store: Store, ids: list[str], statuses: tuple[str, ...], rng: random.Random
) -> Invoice | None:
    for _ in range(200):
        inv = store.invoices[ids[rng.randrange(len(ids))]]
        if inv.status in statuses and not inv.corrupt:
            return inv
    return None


def _apply(kind: str, store: Store, inv: Invoice, now: datetime, rng: random.Random) -> None:
    if kind == "paid":
        mutations.pay(store, inv, now)
    elif kind == "part_paid":
        due = inv.totals().amount_due
        part = max(1, due * rng.randint(10, 70) // 100)
        mutations.pay(store, inv, now, Decimal(part) / 100)
    elif kind == "edited":
        if mutations.has_allocations(inv) or rng.random() < 0.5:
            mutations.edit(store, inv, now, {"Reference": f"PO-{rng.randint(1000, 9999)}"})
        else:
            mutations.edit(store, inv, now, {"DueDate": _shift(inv.due_date, rng.randint(7, 21))})
    elif kind == "approved":
        mutations.authorise(store, inv, now)
    elif kind == "voided":
        mutations.void(store, inv, now)
    elif kind == "deleted":
        mutations.delete(store, inv, now)
    elif kind == "payment_deleted":
        live = [p for p in inv.payments if not p.deleted]
        if not live:
            raise XeroValidationError("no payment to delete")
        mutations.delete_payment(store, inv, rng.choice(live), now)
    elif kind == "credited":
        due = inv.totals().amount_due
        mutations.credit(store, inv, now, Decimal(max(1, due // 5)) / 100)
    elif kind == "contact_renamed":
        name = store.contacts[inv.contact][1]
        base = name.split(" (")[0]
        mutations.rename_contact(store, inv.contact, now, f"{base} ({rng.randint(2, 999)})")
    elif kind == "contact_email":
        local = rng.choice(("accounts", "billing", "finance"))
        domain = (store.contact_details[inv.contact].email or "x@example.com").split("@")[-1]
        mutations.set_contact_email(store, inv.contact, now, f"{local}@{domain}")


def _shift(ordinal: int, days: int) -> str:
    return date.fromordinal(ordinal + days).isoformat()


def _new_invoice(store: Store, tenant: int, rng: random.Random) -> dict[str, object]:
    contacts = store.tenant_contacts[tenant]
    name = store.contacts[contacts[rng.randrange(len(contacts))]][1] if contacts else "New Customer"
    lines = [
        {
            "Description": rng.choice(DESCRIPTIONS),
            "Quantity": rng.randint(1, 12),
            "UnitAmount": f"{rng.randint(500, 150_000) / 100:.2f}",
        }
        for _ in range(rng.randint(1, 5))
    ]
    return {
        "Type": "ACCREC" if rng.random() < 0.85 else "ACCPAY",
        "Status": rng.choice(("DRAFT", "AUTHORISED", "AUTHORISED", "AUTHORISED")),
        "ContactName": name,
        "Reference": f"PO-{rng.randint(1000, 9999)}" if rng.random() < 0.6 else "",
        "LineItems": lines,
    }

"""Save and load the emulator's state as compact JSON (gzip-compressed when the name ends .gz).

One row per invoice as a list of its fields; generated line items are not written (they are
re-derived from the invoice's ``line_seed``), so 100,000 invoices save and load in a couple of
seconds. The file is plain data (no pickle), safe to open and diff.
"""

from __future__ import annotations

import gzip
import json
import os
from pathlib import Path
from typing import IO, Any

from sandbox.xero.model import Credit, Invoice, Line, Payment
from sandbox.xero.store import Store, Tenant

FORMAT = "xero-sandbox-state/1"
_SCALARS = (
    "invoice_id", "tenant", "type", "number", "reference", "contact", "date", "due_date",
    "status", "line_amount_types", "currency", "rate_micros", "updated_ms", "line_seed",
    "fully_paid_on", "expected_payment", "sent_to_contact", "has_attachments", "url",
    "version", "next_salt", "corrupt",
)  # fmt: skip


def _open(path: Path, mode: str, gz: bool) -> IO[Any]:
    if gz:
        return gzip.open(path, mode + "t", encoding="utf-8", compresslevel=3)
    return path.open(mode, encoding="utf-8")


def save_store(store: Store, path: Path) -> Path:
    rows = []
    for inv in store.invoices.values():
        row: list[Any] = [getattr(inv, name) for name in _SCALARS]
        row.append(None if inv.lines_ is None else [_line(line) for line in inv.lines_])
        row.append([[p.salt, p.date, p.amount, p.reference] for p in inv.payments])
        row.append([[c.salt, c.number, c.date, c.amount] for c in inv.credits])
        rows.append(row)
    data = {
        "format": FORMAT,
        "sequence": store.sequence,
        "tenants": [vars(t) for t in store.tenants],
        "contacts": store.contacts,
        "tenant_contacts": store.tenant_contacts,
        "next_number": store.next_number,
        "invoices": rows,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with _open(tmp, "w", path.suffix == ".gz") as handle:
        handle.write(json.dumps(data, ensure_ascii=False, separators=(",", ":")))
    os.replace(tmp, path)
    return path


def load_store(path: Path) -> Store:
    with _open(path, "r", path.suffix == ".gz") as handle:
        data = json.load(handle)
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ValueError(f"{path} is not a Xero sandbox state file ({FORMAT})")
    store = Store(
        tenants=[Tenant(**t) for t in data["tenants"]],
        contacts=[tuple(c) for c in data["contacts"]],  # type: ignore[misc]
        tenant_contacts=data["tenant_contacts"],
        next_number=data["next_number"],
        sequence=data["sequence"],
    )
    count = len(_SCALARS)
    for row in data["invoices"]:
        inv = Invoice(*row[:14])  # the positional fields, in _SCALARS order
        for name, value in zip(_SCALARS[14:], row[14:count], strict=True):
            setattr(inv, name, value)
        lines, payments, credits = row[count:]
        if lines is not None:
            inv.lines_ = [Line(*line) for line in lines]
        inv.payments = tuple(Payment(*p) for p in payments)
        inv.credits = tuple(Credit(*c) for c in credits)
        store.invoices[inv.invoice_id] = inv
    store.rebuild_indexes()
    return store


def _line(line: Line) -> list[Any]:
    return [
        line.salt, line.description, line.quantity, line.unit_amount, line.account_code,
        line.tax_type, line.item_code, line.discount_bp,
    ]  # fmt: skip

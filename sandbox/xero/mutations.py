"""What a person does in Xero, applied to the emulator's records with Xero's own rules.

Rules imitated (Xero developer docs, Invoices and Payments pages; API_FACTS.md):
- only DRAFT/SUBMITTED invoices can be deleted; AUTHORISED ones must be voided instead;
- an invoice with payments or credit allocations cannot be voided or have its lines changed
  until those are removed; removing the payments of a PAID invoice makes it AUTHORISED again;
- payments and credit allocations apply to AUTHORISED invoices and may not exceed the amount
  due; when nothing is left due the invoice becomes PAID with ``FullyPaidOnDate``;
- VOIDED and DELETED are final.
Every successful change bumps ``UpdatedDateUTC`` (store.touch), so it shows up in the next
``If-Modified-Since`` read, and queues a webhook event.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sandbox.xero.ledger import CREDIT_NOTE, DOC_TYPES, Allocation, CreditDoc, settle_doc
from sandbox.xero.model import TAX_TYPES, Invoice, Line, Payment, settle
from sandbox.xero.render import datetime_ms
from sandbox.xero.store import Store, XeroValidationError

FINAL = ("VOIDED", "DELETED")


def _cents(amount: Decimal | float | str | int) -> int:
    value = Decimal(str(amount))
    if value != value.quantize(Decimal("0.01")):
        raise XeroValidationError(f"Amount {amount} has more than two decimal places")
    return int(value * 100)


def ordinal(value: date | datetime | str | None, default: int) -> int:
    if value is None:
        return default
    if isinstance(value, datetime):
        return value.date().toordinal()
    if isinstance(value, date):
        return value.toordinal()
    return date.fromisoformat(str(value)[:10]).toordinal()


def _line(spec: dict[str, Any], salt: int, invoice_type: str) -> Line:
    spec = {k.lower().replace("_", ""): v for k, v in spec.items()}
    tax_type = spec.get("taxtype") or ("OUTPUT2" if invoice_type == "ACCREC" else "INPUT2")
    if tax_type not in TAX_TYPES:
        raise XeroValidationError(f"TaxType '{tax_type}' is not valid (use {sorted(TAX_TYPES)})")
    unit_amount = Decimal(str(spec.get("unitamount", "0")))
    quantity = Decimal(str(spec.get("quantity", "1")))
    discount = Decimal(str(spec.get("discountrate", "0") or "0"))
    if not spec.get("description"):
        raise XeroValidationError("Description is required for a line item")
    return Line(
        salt=salt,
        description=str(spec["description"]),
        quantity=int(quantity * 10_000),
        unit_amount=int(unit_amount * 10_000),
        account_code=str(spec.get("accountcode") or ("200" if invoice_type == "ACCREC" else "400")),
        tax_type=tax_type,
        item_code=spec.get("itemcode"),
        discount_bp=int(discount * 100),
    )


def set_lines(inv: Invoice, specs: list[dict[str, Any]]) -> None:
    if not specs:
        raise XeroValidationError("An invoice needs at least one line item")
    lines = []
    for spec in specs:
        lines.append(_line(spec, inv.next_salt, inv.type))
        inv.next_salt += 1
    inv.lines_ = lines


def contact_named(store: Store, tenant: int, name: str, now: datetime) -> int:
    """The tenant's contact of that name, or a new one — stamped with ``now`` as its
    UpdatedDateUTC like any other change, so ``If-Modified-Since`` reads of Contacts serve it
    (Xero creates the contact an invoice names when none has that name)."""
    found = store.find_contact(tenant, name)
    if found is not None:
        return found
    index = store.add_contact(tenant, str(uuid.uuid4()), name)
    store.touch_contact(index, datetime_ms(now))
    return index


def create(store: Store, tenant: int, now: datetime, fields: dict[str, Any]) -> Invoice:
    f = {k.lower().replace("_", ""): v for k, v in fields.items()}
    kind = str(f.get("type", "ACCREC")).upper()
    if kind not in ("ACCREC", "ACCPAY"):
        raise XeroValidationError(f"Type '{kind}' is not valid (ACCREC or ACCPAY)")
    status = str(f.get("status", "AUTHORISED")).upper()
    if status not in ("DRAFT", "SUBMITTED", "AUTHORISED"):
        raise XeroValidationError(f"An invoice cannot be created with status {status}")
    name = str(f.get("contactname") or (f.get("contact") or {}).get("Name") or "Walk-in Customer")
    contact = contact_named(store, tenant, name, now)
    today = now.date().toordinal()
    org = store.tenants[tenant]
    currency = str(f.get("currencycode", org.base_currency)).upper()
    rate = Decimal(str(f.get("currencyrate", "1" if currency == org.base_currency else "0.75")))
    number = f.get("invoicenumber") or (store.take_number(tenant) if kind == "ACCREC" else "")
    inv = Invoice(
        invoice_id=str(uuid.uuid4()),
        tenant=tenant,
        type=kind,
        number=str(number),
        reference=str(f.get("reference", "")),
        contact=contact,
        date=ordinal(f.get("date"), today),
        due_date=ordinal(f.get("duedate"), today + 30),
        status=status,
        line_amount_types=str(f.get("lineamounttypes", "Exclusive")),
        currency=currency,
        rate_micros=int(rate * 1_000_000),
        updated_ms=datetime_ms(now),
        line_seed=0,
        url=f.get("url"),
    )
    set_lines(
        inv,
        f.get("lineitems")
        or [{"Description": "Consulting services", "Quantity": 1, "UnitAmount": "100.00"}],
    )
    store.insert(inv)
    return inv


def authorise(store: Store, inv: Invoice, now: datetime) -> None:
    if inv.status not in ("DRAFT", "SUBMITTED"):
        raise XeroValidationError(
            f"Only DRAFT or SUBMITTED invoices can be approved ({inv.status})"
        )
    inv.status = "AUTHORISED"
    store.touch(inv, datetime_ms(now))


def submit(store: Store, inv: Invoice, now: datetime) -> None:
    if inv.status != "DRAFT":
        raise XeroValidationError(f"Only DRAFT invoices can be submitted ({inv.status})")
    inv.status = "SUBMITTED"
    store.touch(inv, datetime_ms(now))


def pay(
    store: Store,
    inv: Invoice,
    now: datetime,
    amount: Decimal | None = None,
    on: date | str | None = None,
) -> Payment:
    """A payment of ``amount`` (default: all that is due) dated ``on`` (default: today)."""
    if inv.status != "AUTHORISED":
        raise XeroValidationError(
            f"Payments can only be made against AUTHORISED invoices (this one is {inv.status})"
        )
    due = inv.totals().amount_due
    cents = due if amount is None else _cents(amount)
    if cents <= 0:
        raise XeroValidationError("Payment amount must be greater than zero")
    if cents > due:
        raise XeroValidationError("Payment amount exceeds the amount outstanding on this document")
    day = ordinal(on, now.date().toordinal())
    payment = Payment(inv.next_salt, day, cents, "Sandbox payment")
    inv.payments = (*inv.payments, payment)
    inv.next_salt += 1
    settle(inv)
    store.touch(inv, datetime_ms(now))
    payment.updated_ms = inv.updated_ms
    return payment


def credit(store: Store, inv: Invoice, now: datetime, amount: Decimal) -> CreditDoc:
    """A new credit note for ``amount``, allocated in full to the invoice today."""
    check_allocatable(inv, _cents(amount))
    today = now.date().toordinal()
    doc = CreditDoc(
        kind=CREDIT_NOTE,
        doc_id=str(uuid.uuid4()),
        tenant=inv.tenant,
        type=DOC_TYPES[(CREDIT_NOTE, inv.type)],
        number=f"CN-S{inv.next_salt:05d}",
        contact=inv.contact,
        date=today,
        currency=inv.currency,
        rate_micros=inv.rate_micros,
        total=_cents(amount),
        updated_ms=datetime_ms(now),
    )
    inv.next_salt += 1
    store.add_doc(doc)
    allocate(store, doc, inv, now, amount, today)
    return doc


def check_allocatable(inv: Invoice, cents: int) -> None:
    if inv.status != "AUTHORISED":
        raise XeroValidationError(
            f"Credit can only be allocated to AUTHORISED invoices ({inv.status})"
        )
    if cents <= 0 or cents > inv.totals().amount_due:
        raise XeroValidationError(
            "The amount to allocate must be positive and not exceed the amount due"
        )


def allocate(
    store: Store, doc: CreditDoc, inv: Invoice, now: datetime, amount: Decimal, day: int
) -> Allocation:
    """Apply ``amount`` of the document's remaining credit to the invoice (same contact and
    currency, as Xero requires); both records get a new UpdatedDateUTC."""
    cents = _cents(amount)
    check_allocatable(inv, cents)
    if doc.status == "VOIDED" or cents > doc.remaining:
        raise XeroValidationError(
            f"The amount to allocate exceeds the remaining credit ({doc.remaining / 100:.2f})"
        )
    if doc.currency != inv.currency or doc.contact != inv.contact or doc.tenant != inv.tenant:
        raise XeroValidationError(
            "Credit can only be allocated to an invoice of the same contact and currency"
        )
    allocation = Allocation(doc, inv.invoice_id, inv.number, day, cents, doc.next_salt)
    doc.next_salt += 1
    doc.allocations.append(allocation)
    inv.credits = (*inv.credits, allocation)
    settle_doc(doc)
    settle(inv)
    store.touch(inv, datetime_ms(now))
    store.touch_doc(doc, datetime_ms(now))
    return allocation


def delete_payment(store: Store, inv: Invoice, payment: Payment, now: datetime) -> None:
    """Xero keeps a deleted payment (``Status: DELETED``); the invoice is due again."""
    if payment.deleted:
        raise XeroValidationError("This payment is already deleted")
    _fix_amounts(inv)
    payment.deleted = True
    settle(inv)
    store.touch(inv, datetime_ms(now))
    payment.updated_ms = inv.updated_ms


def _fix_amounts(inv: Invoice) -> None:
    """Give every payment its amount explicitly (a generated one settles "the rest", which
    would change once another payment goes)."""
    amounts = inv.totals().payment_amounts
    for payment, amount in zip(inv.payments, amounts, strict=True):
        payment.amount = amount


def remove_payments(store: Store, inv: Invoice, now: datetime) -> None:
    live = [p for p in inv.payments if not p.deleted]
    if not live:
        raise XeroValidationError("This invoice has no payments to remove")
    _fix_amounts(inv)
    for payment in live:
        payment.deleted = True
    settle(inv)
    store.touch(inv, datetime_ms(now))
    for payment in live:
        payment.updated_ms = inv.updated_ms


def has_allocations(inv: Invoice) -> bool:
    return any(not p.deleted for p in inv.payments) or any(not c.deleted for c in inv.credits)


def void(store: Store, inv: Invoice, now: datetime) -> None:
    if inv.status != "AUTHORISED":
        raise XeroValidationError(
            f"Only AUTHORISED invoices can be voided (this one is {inv.status}; "
            "delete drafts instead)"
        )
    if has_allocations(inv):
        raise XeroValidationError(
            "This document cannot be edited as it has a payment or credit note allocated to it."
        )
    inv.status = "VOIDED"
    store.touch(inv, datetime_ms(now))


def delete(store: Store, inv: Invoice, now: datetime) -> None:
    if inv.status not in ("DRAFT", "SUBMITTED"):
        raise XeroValidationError(
            f"Only DRAFT or SUBMITTED invoices can be deleted (this one is {inv.status}; "
            "void it instead)"
        )
    inv.status = "DELETED"
    store.touch(inv, datetime_ms(now))


EDITABLE = {
    "reference",
    "duedate",
    "date",
    "expectedpaymentdate",
    "invoicenumber",
    "senttocontact",
    "url",
    "lineitems",
    "contactname",
    "hasattachments",
}
ALWAYS_EDITABLE = {"reference", "expectedpaymentdate", "senttocontact", "url", "hasattachments"}


def edit(store: Store, inv: Invoice, now: datetime, fields: dict[str, Any]) -> None:
    f = {k.lower().replace("_", ""): v for k, v in fields.items()}
    unknown = set(f) - EDITABLE
    if unknown:
        raise XeroValidationError(f"Cannot edit {sorted(unknown)}; editable: {sorted(EDITABLE)}")
    if inv.status in FINAL:
        raise XeroValidationError(f"A {inv.status} invoice cannot be edited")
    locked = set(f) - ALWAYS_EDITABLE
    if locked and has_allocations(inv):
        raise XeroValidationError(
            "This document cannot be edited as it has a payment or credit note allocated to it."
        )
    if "reference" in f:
        inv.reference = str(f["reference"])
    if "invoicenumber" in f:
        inv.number = str(f["invoicenumber"])
    if "date" in f:
        inv.date = ordinal(f["date"], inv.date)
    if "duedate" in f:
        inv.due_date = ordinal(f["duedate"], inv.due_date)
    if "expectedpaymentdate" in f:
        inv.expected_payment = ordinal(f["expectedpaymentdate"], inv.date)
    if "senttocontact" in f:
        inv.sent_to_contact = bool(f["senttocontact"])
    if "hasattachments" in f:
        inv.has_attachments = bool(f["hasattachments"])
    if "url" in f:
        inv.url = f["url"] or None
    if "contactname" in f:
        name = str(f["contactname"])
        inv.contact = contact_named(store, inv.tenant, name, now)
    if "lineitems" in f:
        set_lines(inv, list(f["lineitems"]))
    store.touch(inv, datetime_ms(now))


def corrupt(store: Store, inv: Invoice, now: datetime, field: str, value: Any) -> None:
    """Make the API serve ``value`` for ``field`` of this invoice (bad-input tests)."""
    inv.corrupt = {**(inv.corrupt or {}), field: value}
    store.touch(inv, datetime_ms(now))


def rename_contact(store: Store, contact: int, now: datetime, name: str) -> None:
    """A new contact name; the contact's UpdatedDateUTC moves, its invoices' do not (their
    ``Contact.Name`` shows the new name on the next read, as in Xero)."""
    name = name.strip()
    if not name:
        raise XeroValidationError("The contact name must not be empty")
    tenant = store.contact_details[contact].tenant
    other = store.find_contact(tenant, name)
    if other is not None and other != contact:
        raise XeroValidationError(f"The contact name {name} is already assigned to another contact")
    store.contacts[contact] = (store.contacts[contact][0], name)
    store.touch_contact(contact, datetime_ms(now))


def set_contact_email(store: Store, contact: int, now: datetime, email: str) -> None:
    email = email.strip()
    if email and ("@" not in email or " " in email):
        raise XeroValidationError(f"Email address must be valid ({email!r})")
    store.contact_details[contact].email = email
    store.touch_contact(contact, datetime_ms(now))


def restore(store: Store, inv: Invoice, now: datetime) -> None:
    """Serve the invoice as stored again (undo :func:`corrupt`): Xero corrected it."""
    inv.corrupt = None
    store.touch(inv, datetime_ms(now))

"""The emulator's compact invoice records and the arithmetic Xero applies to them.

Money is held as integer cents (unit amounts and quantities as 1/10,000ths), never floats, so
totals add up exactly: ``SubTotal = Σ LineAmount`` (``Exclusive``/``NoTax``), ``TotalTax =
Σ TaxAmount``, ``Total = SubTotal + TotalTax``, ``AmountDue = Total − AmountPaid −
AmountCredited``. For ``Inclusive`` invoices Xero's line amounts include tax and its
``SubTotal`` is net of it (``SubTotal = Σ LineAmount − TotalTax``), which the model follows.

Records are ``__slots__`` classes and generated invoices keep no line objects at all: their
lines are re-derived on demand from ``line_seed`` (see :func:`generated_lines`), which is what
lets one process hold a million invoices. Editing an invoice's lines stores them explicitly.
"""

from __future__ import annotations

import hashlib
import random
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sandbox.xero.ledger import Allocation

STATUSES = ("DRAFT", "SUBMITTED", "AUTHORISED", "PAID", "VOIDED", "DELETED")
TYPES = ("ACCREC", "ACCPAY")
LINE_AMOUNT_TYPES = ("Exclusive", "Inclusive", "NoTax")

# (TaxType, rate in basis points); the sandbox's tax rates are the same for every organisation.
TAX_TYPES = {"OUTPUT2": 1500, "INPUT2": 1500, "OUTPUT": 2000, "NONE": 0, "EXEMPTOUTPUT": 0}
SALES_ACCOUNTS = ("200", "260", "270")
PURCHASE_ACCOUNTS = ("300", "310", "400", "429")
DESCRIPTIONS = (
    "Consulting services",
    "Monthly subscription",
    "Installation and set-up",
    "Hardware: network switch",
    "Training workshop (half day)",
    "Support retainer",
    "Travel expenses",
    "Design work – revisions",
    "Licence renewal",
    "Café catering for 20 people",
    "Wartung & Reparatur",
    "Shipping and handling",
)
ITEM_CODES = (None, "CONS-01", "SUB-M", "SETUP", "HW-SW24", "TRAIN", None, None)


@dataclass(slots=True)
class Line:
    """A line item. ``quantity`` and ``unit_amount`` in 1/10,000ths; ``discount_bp`` in basis
    points of a percent (``1000`` = 10.00 %); ``salt`` makes its stable ``LineItemID``."""

    salt: int
    description: str
    quantity: int
    unit_amount: int
    account_code: str
    tax_type: str
    item_code: str | None = None
    discount_bp: int = 0


@dataclass(slots=True)
class Payment:
    """``amount`` in cents; ``None`` = whatever settles the invoice (generated full payments
    keep no amount, so seeding needs no line items for them). A deleted payment always holds
    its amount. ``updated_ms`` is the payment's own ``UpdatedDateUTC``: never later than its
    invoice's (every payment change touches the invoice), which is what lets ``GET /Payments``
    with ``If-Modified-Since`` walk the invoices' index instead of keeping one of its own."""

    salt: int
    date: int  # proleptic ordinal of the payment date
    amount: int | None
    reference: str = ""
    deleted: bool = False
    updated_ms: int = 0
    reconciled: bool = False


@dataclass(slots=True)
class Invoice:
    invoice_id: str
    tenant: int
    type: str
    number: str
    reference: str
    contact: int
    date: int
    due_date: int
    status: str
    line_amount_types: str
    currency: str
    rate_micros: int  # CurrencyRate × 1,000,000 (1,000,000 = base currency)
    updated_ms: int
    line_seed: int
    lines_: list[Line] | None = None
    payments: tuple[Payment, ...] = ()  # tuples: the shared empty tuple costs no memory
    credits: tuple[Allocation, ...] = ()  # credit notes, overpayments, prepayments
    fully_paid_on: int | None = None
    expected_payment: int | None = None
    sent_to_contact: bool = False
    has_attachments: bool = False
    url: str | None = None
    version: int = 0
    next_salt: int = 8
    corrupt: dict[str, Any] | None = None

    @property
    def lines(self) -> list[Line]:
        if self.lines_ is not None:
            return self.lines_
        return generated_lines(self.line_seed, self.type, self.line_amount_types)

    def totals(self) -> Totals:
        return compute_totals(self.lines, self.line_amount_types, self.payments, self.credits)


@dataclass(slots=True, frozen=True)
class LineAmounts:
    line_amount: int  # cents
    tax_amount: int  # cents
    discount: int  # cents


@dataclass(slots=True, frozen=True)
class Totals:
    lines: list[LineAmounts]
    sub_total: int
    total_tax: int
    total: int
    total_discount: int
    amount_paid: int
    amount_credited: int
    payment_amounts: tuple[int, ...] = ()

    @property
    def amount_due(self) -> int:
        return self.total - self.amount_paid - self.amount_credited


def round_div(numerator: int, denominator: int) -> int:
    """Round half away from zero, as accounting systems do (not banker's rounding)."""
    if numerator >= 0:
        return (2 * numerator + denominator) // (2 * denominator)
    return -((-2 * numerator + denominator) // (2 * denominator))


def line_amounts(line: Line, line_amount_types: str) -> LineAmounts:
    gross = round_div(line.quantity * line.unit_amount, 1_000_000)  # cents before discount
    discount = round_div(gross * line.discount_bp, 10_000)
    amount = gross - discount
    rate = 0 if line_amount_types == "NoTax" else TAX_TYPES.get(line.tax_type, 0)
    if line_amount_types == "Inclusive":
        tax = amount - round_div(amount * 10_000, 10_000 + rate)
    else:
        tax = round_div(amount * rate, 10_000)
    return LineAmounts(amount, tax, discount)


def compute_totals(
    lines: list[Line],
    line_amount_types: str,
    payments: tuple[Payment, ...],
    credits: tuple[Allocation, ...],
) -> Totals:
    """Totals from the lines, ``AmountPaid`` = Σ non-deleted payments (a payment without an
    amount settles what the others leave) and ``AmountCredited`` = Σ non-deleted allocations.
    ``payment_amounts`` has one amount per payment, deleted ones included."""
    amounts = [line_amounts(line, line_amount_types) for line in lines]
    line_sum = sum(a.line_amount for a in amounts)
    tax = sum(a.tax_amount for a in amounts)
    sub_total = line_sum - tax if line_amount_types == "Inclusive" else line_sum
    total = sub_total + tax
    credited = sum(c.amount for c in credits if not c.deleted)
    explicit = sum(p.amount for p in payments if p.amount is not None and not p.deleted)
    remainder = total - credited - explicit
    per_payment = tuple(remainder if p.amount is None else p.amount for p in payments)
    paid = tuple(a for a, p in zip(per_payment, payments, strict=True) if not p.deleted)
    return Totals(
        lines=amounts,
        sub_total=sub_total,
        total_tax=tax,
        total=total,
        total_discount=sum(a.discount for a in amounts),
        amount_paid=sum(paid),
        amount_credited=credited,
        payment_amounts=per_payment,
    )


def settle(inv: Invoice, totals: Totals | None = None) -> None:
    """Derive ``Status`` (AUTHORISED ⇄ PAID) and ``FullyPaidOnDate`` from the payments and
    allocations: PAID iff nothing is due, paid on the date of the last live payment or
    allocation. The one place these two fields are set after an invoice is approved."""
    if inv.status not in ("AUTHORISED", "PAID"):
        return
    totals = totals or inv.totals()
    if totals.amount_due == 0 and totals.total > 0:
        dates = [p.date for p in inv.payments if not p.deleted]
        dates += [c.date for c in inv.credits if not c.deleted]
        inv.status = "PAID"
        inv.fully_paid_on = max(dates) if dates else inv.date
    else:
        inv.status = "AUTHORISED"
        inv.fully_paid_on = None


def generated_lines(seed: int, invoice_type: str, line_amount_types: str) -> list[Line]:
    """The 1–5 lines of a generated invoice, a pure function of ``seed``.

    Uses ``random.Random(seed)``, whose sequence for an integer seed is stable across Python
    versions, so saved state renders the same lines after an upgrade."""
    rng = random.Random(seed)
    draw = rng.random
    accounts = SALES_ACCOUNTS if invoice_type == "ACCREC" else PURCHASE_ACCOUNTS
    if line_amount_types == "NoTax":
        tax_types: tuple[str, ...] = ("NONE",)
    elif invoice_type == "ACCREC":
        tax_types = ("OUTPUT2", "OUTPUT2", "OUTPUT2", "EXEMPTOUTPUT")
    else:
        tax_types = ("INPUT2",)
    lines = []
    for index in range(1 + int(draw() * 5)):
        quantity = (1 + int(draw() * 20)) * 10000 if draw() < 0.8 else (1 + int(draw() * 400)) * 250
        unit_amount = (500 + int(draw() * 250_000)) * 100
        if draw() < 0.1:
            unit_amount += int(draw() * 100)  # a four-decimal unit price
        lines.append(
            Line(
                salt=index,
                description=DESCRIPTIONS[int(draw() * len(DESCRIPTIONS))],
                quantity=quantity,
                unit_amount=unit_amount,
                account_code=accounts[int(draw() * len(accounts))],
                tax_type=tax_types[int(draw() * len(tax_types))],
                item_code=ITEM_CODES[int(draw() * len(ITEM_CODES))],
                discount_bp=500 * (1 + int(draw() * 4)) if draw() < 0.08 else 0,
            )
        )
    return lines


_NAMESPACE = uuid.UUID("6f1d4c1e-0b7a-4f5e-9a53-58e0c2b1a7d4")


def derived_id(parent_id: str, kind: str, salt: int) -> str:
    """A stable UUID for a child record (line item, payment, credit note) of ``parent_id``."""
    h = hashlib.md5(f"{parent_id}/{kind}/{salt}".encode(), usedforsecurity=False).hexdigest()
    variant = "89ab"[int(h[16], 16) & 3]
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{variant}{h[17:20]}-{h[20:32]}"


def seeded_uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))

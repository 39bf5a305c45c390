"""The emulator's finance records beside invoices: contacts' details, credit documents
(credit notes, overpayments, prepayments) and their allocations to invoices.

Shapes follow Xero's Accounting API spec (``XeroAPI/Xero-OpenAPI`` ``xero_accounting.yaml``,
schemas ``Contact``, ``ContactPerson``, ``CreditNote``, ``Overpayment``, ``Prepayment``,
``Allocation``). One class, :class:`CreditDoc`, holds all three credit documents: Xero gives
them the same money model (a ``Total``, ``Allocations`` to invoices, ``RemainingCredit`` =
``Total − Σ allocations``) and differs only in names (``CreditNoteID`` vs ``OverpaymentID``…).

An allocation is one object shared by its document (``CreditDoc.allocations``) and its invoice
(``Invoice.credits``), so the invoice's ``AmountCredited`` and the document's
``RemainingCredit`` are both computed from the same amounts and cannot disagree.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sandbox.xero.model import derived_id

CREDIT_NOTE, OVERPAYMENT, PREPAYMENT = "CREDITNOTE", "OVERPAYMENT", "PREPAYMENT"
KINDS = (CREDIT_NOTE, OVERPAYMENT, PREPAYMENT)
# document type by (kind, invoice type): Xero's enums for CreditNote/Overpayment/Prepayment.Type
DOC_TYPES = {
    (CREDIT_NOTE, "ACCREC"): "ACCRECCREDIT",
    (CREDIT_NOTE, "ACCPAY"): "ACCPAYCREDIT",
    (OVERPAYMENT, "ACCREC"): "RECEIVE-OVERPAYMENT",
    (OVERPAYMENT, "ACCPAY"): "SPEND-OVERPAYMENT",
    (PREPAYMENT, "ACCREC"): "RECEIVE-PREPAYMENT",
    (PREPAYMENT, "ACCPAY"): "SPEND-PREPAYMENT",
}
# Payment.PaymentType of the payment that settles an invoice, by invoice type
PAYMENT_TYPES = {"ACCREC": "ACCRECPAYMENT", "ACCPAY": "ACCPAYPAYMENT"}
CONTACT_STATUSES = ("ACTIVE", "ARCHIVED", "GDPRREQUEST")


@dataclass(slots=True)
class ContactPerson:
    first_name: str
    last_name: str
    email: str
    include_in_emails: bool = False


@dataclass(slots=True)
class ContactDetail:
    """What a contact holds beyond ``(ContactID, Name)`` (kept in ``Store.contacts`` for the
    invoices' ``Contact``): names, e-mail, persons, status, its own ``UpdatedDateUTC``."""

    tenant: int
    first_name: str = ""
    last_name: str = ""
    email: str = ""
    account_number: str = ""
    status: str = "ACTIVE"
    default_currency: str | None = None
    persons: list[ContactPerson] = field(default_factory=list)
    updated_ms: int = 0
    version: int = 0


@dataclass(slots=True, eq=False)
class Allocation:
    """``amount`` (cents, in the document's currency = the invoice's) of ``source`` applied to
    an invoice on ``date`` (ordinal). ``deleted``: removed in Xero, shown with ``IsDeleted``."""

    source: CreditDoc
    invoice_id: str
    invoice_number: str
    date: int
    amount: int
    salt: int
    deleted: bool = False

    @property
    def allocation_id(self) -> str:
        return derived_id(self.source.doc_id, "allocation", self.salt)


@dataclass(slots=True, eq=False)
class CreditDoc:
    """A credit note, overpayment or prepayment (``kind``). Money in cents; ``status`` is
    derived (:func:`settle_doc`): PAID when no credit remains, else AUTHORISED."""

    kind: str
    doc_id: str
    tenant: int
    type: str
    number: str  # CreditNoteNumber; the Reference of an overpayment/prepayment
    contact: int
    date: int
    currency: str
    rate_micros: int
    total: int
    updated_ms: int
    status: str = "AUTHORISED"
    allocations: list[Allocation] = field(default_factory=list)
    fully_paid_on: int | None = None
    version: int = 0
    next_salt: int = 1

    @property
    def allocated(self) -> int:
        return sum(a.amount for a in self.allocations if not a.deleted)

    @property
    def remaining(self) -> int:
        return self.total - self.allocated


def settle_doc(doc: CreditDoc) -> None:
    """Status and FullyPaidOnDate from the allocations (a voided document stays voided)."""
    if doc.status == "VOIDED":
        return
    live = [a for a in doc.allocations if not a.deleted]
    if doc.remaining == 0 and live:
        doc.status = "PAID"
        doc.fully_paid_on = max(a.date for a in live)
    else:
        doc.status = "AUTHORISED"
        doc.fully_paid_on = None


def split_tax(total: int, rate_bp: int) -> tuple[int, int]:
    """``(SubTotal, TotalTax)`` of a tax-inclusive ``total`` at ``rate_bp`` basis points."""
    sub_total = (2 * total * 10_000 + 10_000 + rate_bp) // (2 * (10_000 + rate_bp))
    return sub_total, total - sub_total

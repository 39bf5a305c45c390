"""Undoing credit in the emulator: removing an allocation, voiding a credit document.

Xero's rules imitated (Xero Accounting API, ``DELETE /CreditNotes/{CreditNoteID}/Allocations/
{AllocationID}``, and the same for Overpayments and Prepayments; API_FACTS.md "allocations"):
- removing an allocation answers it with ``IsDeleted: true``; the invoice is due again by its
  amount (``AmountCredited`` drops, a PAID invoice returns to AUTHORISED) and the document's
  ``RemainingCredit`` grows; both records get a new ``UpdatedDateUTC``. Whether Xero's later
  reads still list a removed allocation is not documented: the emulator takes the strict
  reading and lists it no more (neither on the document's ``Allocations`` nor on the
  invoice's ``CreditNotes``/``Overpayments``/``Prepayments``), so a client must treat a
  re-read parent's list as the truth. It stays in the store, ``deleted``, for the emulator's
  own history (``XeroEmulator.allocations``);
- a document can be voided only once no allocation of it is left; VOIDED is final.
"""

from __future__ import annotations

from datetime import datetime

from sandbox.xero.ledger import Allocation, CreditDoc, settle_doc
from sandbox.xero.model import settle
from sandbox.xero.mutations import _fix_amounts
from sandbox.xero.render import datetime_ms
from sandbox.xero.store import Store, XeroValidationError


def remove_allocation(
    store: Store, doc: CreditDoc, allocation: Allocation, now: datetime
) -> Allocation:
    if allocation.deleted:
        raise XeroValidationError("This allocation has already been deleted")
    inv = store.get(allocation.invoice_id)
    _fix_amounts(inv)  # a payment that settled "the rest" keeps its amount: the invoice is due
    allocation.deleted = True
    settle_doc(doc)
    settle(inv)
    store.touch(inv, datetime_ms(now))
    store.touch_doc(doc, datetime_ms(now))
    return allocation


def void_doc(store: Store, doc: CreditDoc, now: datetime) -> None:
    if doc.status == "VOIDED":
        raise XeroValidationError("This document has already been voided")
    if any(not a.deleted for a in doc.allocations):
        raise XeroValidationError(
            "This document cannot be voided as it has allocations; remove them first."
        )
    doc.status = "VOIDED"
    doc.fully_paid_on = None
    store.touch_doc(doc, datetime_ms(now))

"""Plain Python views of the emulator's finance records, for tests and benchmarks.

Built from the records themselves, not from the JSON the API serves, so a test can compare
what the extract loaded with what Xero holds: amounts as :class:`~decimal.Decimal`, dates as
:class:`~datetime.date`, timestamps as epoch milliseconds, ids lower-case.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from sandbox.xero.finance_render import ID_KEYS
from sandbox.xero.ledger import PAYMENT_TYPES, Allocation
from sandbox.xero.model import Invoice, Payment, derived_id
from sandbox.xero.store import Store, Tenant


def cents(value: int) -> Decimal:
    return Decimal(value) / 100


def contact(
    store: Store,
    index: int,
    balances: dict[int, tuple[int, int, int, int]],
    roles: dict[int, tuple[bool, bool]],
) -> dict[str, Any]:
    contact_id, name = store.contacts[index]
    d = store.contact_details[index]
    ar_out, ar_over, ap_out, ap_over = balances.get(index, (0, 0, 0, 0))
    is_customer, is_supplier = roles.get(index, (False, False))
    return {
        "index": index,
        "contact_id": contact_id,
        "name": name,
        "first_name": d.first_name,
        "last_name": d.last_name,
        "email_address": d.email,
        "account_number": d.account_number or None,
        "contact_status": d.status,
        "default_currency": d.default_currency,
        "is_customer": is_customer,
        "is_supplier": is_supplier,
        "ar_outstanding": cents(ar_out),
        "ar_overdue": cents(ar_over),
        "ap_outstanding": cents(ap_out),
        "ap_overdue": cents(ap_over),
        "persons": [
            {
                "first_name": p.first_name,
                "last_name": p.last_name,
                "email_address": p.email,
                "include_in_emails": p.include_in_emails,
            }
            for p in d.persons
        ],
        "updated_ms": d.updated_ms,
    }


def payment(inv: Invoice, p: Payment, amount: int) -> dict[str, Any]:
    return {
        "payment_id": derived_id(inv.invoice_id, "payment", p.salt),
        "invoice_id": inv.invoice_id,
        "invoice_number": inv.number,
        "invoice_type": inv.type,
        "payment_type": PAYMENT_TYPES[inv.type],
        "payment_date": date.fromordinal(p.date),
        "amount": cents(amount),
        "status": "DELETED" if p.deleted else "AUTHORISED",
        "is_reconciled": p.reconciled,
        "reference": p.reference,
        "updated_ms": p.updated_ms,
    }


def allocation(a: Allocation) -> dict[str, Any]:
    doc = a.source
    return {
        "allocation_id": a.allocation_id,
        "source_type": doc.kind,
        "source_id": doc.doc_id,
        "source_id_key": ID_KEYS[doc.kind],
        "invoice_id": a.invoice_id,
        "amount": cents(a.amount),
        "allocation_date": date.fromordinal(a.date),
        "is_deleted": a.deleted,
        "source_updated_ms": doc.updated_ms,
    }


def organisation(tenant: Tenant) -> dict[str, Any]:
    return {
        "tenant_id": tenant.tenant_id,
        "organisation_id": tenant.organisation_id or tenant.tenant_id,
        "name": tenant.name,
        "short_code": tenant.short_code,
        "base_currency": tenant.base_currency,
        "country_code": tenant.country_code,
        "xero_timezone": tenant.timezone,
        "financial_year_end_day": tenant.financial_year_end_day,
        "financial_year_end_month": tenant.financial_year_end_month,
    }

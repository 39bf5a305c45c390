"""Contacts, payments, credit notes, overpayments, prepayments and the organisation as Xero's
JSON (same conventions as :mod:`render`: Microsoft dates, amounts as numbers from exact cents).

Shapes from Xero's OpenAPI spec (``XeroAPI/Xero-OpenAPI`` ``xero_accounting.yaml``, schemas
``Contact``, ``Balances``, ``ContactPerson``, ``Payment``, ``CreditNote``, ``Overpayment``,
``Prepayment``, ``Allocation``, ``Organisation``) and its examples:
- ``Contact.Balances.AccountsReceivable/AccountsPayable.{Outstanding, Overdue}``: "the raw
  AccountsReceivable (sales invoices) and AccountsPayable (bills) outstanding and overdue
  amounts, not converted to base currency" — a sum over the contact's AUTHORISED invoices'
  ``AmountDue`` (overdue: due date before today), left out with ``summaryOnly=true`` (the
  "computation-heavy fields"). ``IsCustomer``/``IsSupplier`` are true once the contact has a
  sales invoice / a bill, as Xero sets them.
- ``Payment``: ``Invoice`` (a summary: type, id, number, contact, currency), ``PaymentType``
  (``ACCRECPAYMENT`` / ``ACCPAYPAYMENT``), ``Status`` (``AUTHORISED`` / ``DELETED``),
  ``IsReconciled``, ``Amount`` in the invoice's currency, ``BankAmount`` in the bank account's
  (the organisation's base currency here, so ``Amount / CurrencyRate`` for a foreign invoice).
- ``CreditNote``/``Overpayment``/``Prepayment``: ``Total``, ``RemainingCredit``,
  ``Allocations[]`` (``AllocationID``, ``Amount``, ``Date``, ``Invoice``, ``IsDeleted``).
- ``Organisation``: ``Timezone`` is Xero's own enum (``NEWZEALANDSTANDARDTIME``: the Windows
  zone name upper-cased, spaces and dots removed), ``FinancialYearEndDay/Month`` integers.
"""

from __future__ import annotations

from typing import Any

from sandbox.xero.ledger import CREDIT_NOTE, PAYMENT_TYPES, Allocation, CreditDoc, split_tax
from sandbox.xero.model import Invoice, Payment, derived_id, round_div
from sandbox.xero.render import money, ms_date, ordinal_iso, ordinal_ms_date
from sandbox.xero.store import Store, Tenant

ID_KEYS = {
    "CREDITNOTE": "CreditNoteID",
    "OVERPAYMENT": "OverpaymentID",
    "PREPAYMENT": "PrepaymentID",
}
BANK_ACCOUNT_ID = "6f7594f2-f059-4d56-9e67-47ac9733bfe9"
DOC_TAX_BP = 1500


def contact(
    store: Store,
    index: int,
    balances: dict[int, tuple[int, int, int, int]] | None,
    roles: dict[int, tuple[bool, bool]],
) -> dict[str, Any]:
    contact_id, name = store.contacts[index]
    d = store.contact_details[index]
    is_customer, is_supplier = roles.get(index, (False, False))
    out: dict[str, Any] = {
        "ContactID": contact_id,
        "ContactStatus": d.status,
        "Name": name,
        "FirstName": d.first_name,
        "LastName": d.last_name,
        "EmailAddress": d.email,
        "BankAccountDetails": "",
        "Addresses": [
            {"AddressType": "STREET", "City": "", "Region": "", "PostalCode": "", "Country": ""},
            {"AddressType": "POBOX", "City": "", "Region": "", "PostalCode": "", "Country": ""},
        ],
        "Phones": [
            {"PhoneType": kind, "PhoneNumber": "", "PhoneAreaCode": "", "PhoneCountryCode": ""}
            for kind in ("DEFAULT", "DDI", "FAX", "MOBILE")
        ],
        "UpdatedDateUTC": ms_date(d.updated_ms),
        "ContactGroups": [],
        "IsSupplier": is_supplier,
        "IsCustomer": is_customer,
        "ContactPersons": [
            {
                "FirstName": p.first_name,
                "LastName": p.last_name,
                "EmailAddress": p.email,
                "IncludeInEmails": p.include_in_emails,
            }
            for p in d.persons
        ],
        "HasAttachments": False,
        "HasValidationErrors": False,
    }
    if d.account_number:
        out["AccountNumber"] = d.account_number
    if d.default_currency:
        out["DefaultCurrency"] = d.default_currency
    if balances is not None:
        ar_out, ar_over, ap_out, ap_over = balances.get(index, (0, 0, 0, 0))
        out["Balances"] = {
            "AccountsReceivable": {"Outstanding": money(ar_out), "Overdue": money(ar_over)},
            "AccountsPayable": {"Outstanding": money(ap_out), "Overdue": money(ap_over)},
        }
    return out


def balances_and_roles(
    store: Store, tenant: int, today: int
) -> tuple[dict[int, tuple[int, int, int, int]], dict[int, tuple[bool, bool]]]:
    """Per contact: (AR outstanding, AR overdue, AP outstanding, AP overdue) in cents, and
    (IsCustomer, IsSupplier). One pass over the tenant's invoices."""
    balances: dict[int, list[int]] = {}
    roles: dict[int, list[bool]] = {}
    for inv in store.invoices.values():
        if inv.tenant != tenant or inv.status in ("DRAFT", "DELETED"):
            continue
        role = roles.setdefault(inv.contact, [False, False])
        role[0 if inv.type == "ACCREC" else 1] = True
        if inv.status != "AUTHORISED":
            continue
        due = inv.totals().amount_due
        row = balances.setdefault(inv.contact, [0, 0, 0, 0])
        at = 0 if inv.type == "ACCREC" else 2
        row[at] += due
        if inv.due_date < today:
            row[at + 1] += due
    return (
        {k: (v[0], v[1], v[2], v[3]) for k, v in balances.items()},
        {k: (v[0], v[1]) for k, v in roles.items()},
    )


def _bank_amount(cents: int, rate_micros: int) -> int:
    return cents if rate_micros == 1_000_000 else round_div(cents * 1_000_000, rate_micros)


def payment(store: Store, inv: Invoice, p: Payment, amount: int) -> dict[str, Any]:
    contact_id, name = store.contacts[inv.contact]
    return {
        "PaymentID": derived_id(inv.invoice_id, "payment", p.salt),
        "Date": ordinal_ms_date(p.date),
        "BankAmount": money(_bank_amount(amount, inv.rate_micros)),
        "Amount": money(amount),
        "Reference": p.reference,
        "CurrencyRate": inv.rate_micros / 1_000_000,
        "PaymentType": PAYMENT_TYPES[inv.type],
        "Status": "DELETED" if p.deleted else "AUTHORISED",
        "UpdatedDateUTC": ms_date(p.updated_ms),
        "HasAccount": True,
        "IsReconciled": p.reconciled,
        "Account": {"AccountID": BANK_ACCOUNT_ID, "Code": "090"},
        "Invoice": {
            "Type": inv.type,
            "InvoiceID": inv.invoice_id,
            "InvoiceNumber": inv.number,
            "Contact": {"ContactID": contact_id, "Name": name},
            "CurrencyCode": inv.currency,
            "Payments": [],
            "CreditNotes": [],
            "Prepayments": [],
            "Overpayments": [],
            "HasErrors": False,
            "IsDiscounted": False,
            "LineItems": [],
        },
        "HasValidationErrors": False,
    }


def allocation(a: Allocation) -> dict[str, Any]:
    return {
        "AllocationID": a.allocation_id,
        "Amount": money(a.amount),
        "Date": ordinal_ms_date(a.date),
        "Invoice": {
            "InvoiceID": a.invoice_id,
            "InvoiceNumber": a.invoice_number,
            "Payments": [],
            "CreditNotes": [],
            "Prepayments": [],
            "Overpayments": [],
            "HasErrors": False,
            "IsDiscounted": False,
            "LineItems": [],
        },
        "IsDeleted": a.deleted,
    }


def credit_doc(store: Store, doc: CreditDoc, line_items: bool) -> dict[str, Any]:
    contact_id, name = store.contacts[doc.contact]
    sub_total, tax = split_tax(doc.total, DOC_TAX_BP)
    out: dict[str, Any] = {
        ID_KEYS[doc.kind]: doc.doc_id,
        "Type": doc.type,
        "Contact": {"ContactID": contact_id, "Name": name},
        "Date": ordinal_ms_date(doc.date),
        "DateString": ordinal_iso(doc.date),
        "Status": doc.status,
        "LineAmountTypes": "Inclusive",
        "SubTotal": money(sub_total),
        "TotalTax": money(tax),
        "Total": money(doc.total),
        "UpdatedDateUTC": ms_date(doc.updated_ms),
        "CurrencyCode": doc.currency,
        "CurrencyRate": doc.rate_micros / 1_000_000,
        "RemainingCredit": money(doc.remaining),
        "Allocations": [
            allocation(a) for a in doc.allocations if not a.deleted
        ],  # sandbox.xero.credits
        "HasAttachments": False,
    }
    if doc.kind == CREDIT_NOTE:
        out["CreditNoteNumber"] = doc.number
        out["Reference"] = ""
        out["SentToContact"] = False
        out["HasErrors"] = False
        if doc.fully_paid_on is not None:
            out["FullyPaidOnDate"] = ordinal_ms_date(doc.fully_paid_on)
    else:
        out["Reference"] = doc.number
        out["Payments"] = []
    if line_items:
        out["LineItems"] = [
            {
                "LineItemID": derived_id(doc.doc_id, "line", 0),
                "Description": "Credit" if doc.kind == CREDIT_NOTE else "Payment received",
                "UnitAmount": money(doc.total),
                "TaxType": "OUTPUT2",
                "TaxAmount": money(tax),
                "LineAmount": money(doc.total),
                "AccountCode": "200",
                "Tracking": [],
                "Quantity": 1.0,
            }
        ]
    return out


def organisation(tenant: Tenant) -> dict[str, Any]:
    return {
        "OrganisationID": tenant.organisation_id or tenant.tenant_id,
        "APIKey": "",
        "Name": tenant.name,
        "LegalName": tenant.name,
        "PaysTax": True,
        "Version": {"NZ": "NZ", "AU": "AU", "GB": "UK", "US": "US"}.get(
            tenant.country_code, "GLOBAL"
        ),
        "OrganisationType": "COMPANY",
        "BaseCurrency": tenant.base_currency,
        "CountryCode": tenant.country_code,
        "IsDemoCompany": False,
        "OrganisationStatus": "ACTIVE",
        "FinancialYearEndDay": tenant.financial_year_end_day,
        "FinancialYearEndMonth": tenant.financial_year_end_month,
        "SalesTaxBasis": "ACCRUALS",
        "SalesTaxPeriod": "TWOMONTHS",
        "DefaultSalesTax": "Tax Exclusive",
        "DefaultPurchasesTax": "Tax Exclusive",
        "CreatedDateUTC": f"/Date({tenant.created_ms})/",
        "OrganisationEntityType": "COMPANY",
        "Timezone": tenant.timezone,
        "ShortCode": tenant.short_code,
        "Edition": "BUSINESS",
        "Class": "STANDARD",
        "Addresses": [],
        "Phones": [],
        "ExternalLinks": [],
        "PaymentTerms": {},
    }

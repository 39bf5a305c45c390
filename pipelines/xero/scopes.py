"""Which Xero OAuth scopes each endpoint the extract reads needs, granular and broad.

Xero apps created on or after 2 March 2026 can only be granted *granular* scopes; older apps
keep the broad ``accounting.transactions(.read)`` until they migrate (by September 2027). So an
error about a missing permission names both, and the user picks the one their app can have.

Sources: developer.xero.com/documentation/oauth2/scopes (the broad scopes and what
``accounting.transactions`` covers); Xero's "Granular Scopes FAQs" as summarised by Codat
(docs.codat.io, Xero partner-certification scopes, May 2026: "If you create a new Xero app on
or after March 2, 2026, you must use the new granular scopes from day one ... complete your
migration by September 2027") and Apideck ("Xero Scopes: What Changed", 18 March 2026).
Which granular scope covers which endpoint was not on a developer.xero.com page we could read;
these agree across several independent integrations: ``accounting.invoices`` covers Invoices,
CreditNotes, Quotes, PurchaseOrders, RepeatingInvoices, LinkedTransactions, Items;
``accounting.payments`` covers Payments, BatchPayments, Overpayments, Prepayments; Contacts and
Organisation keep ``accounting.contacts`` and ``accounting.settings`` (never broad). There is no
``accounting.creditnotes.read`` (Xero's authorize endpoint rejects it).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ScopeNeed:
    granular: str  # apps created on or after 2 March 2026
    broad: str  # older apps

    def describe(self) -> str:
        if self.granular == self.broad:
            return self.granular
        return (
            f"{self.granular} (apps created on or after 2 March 2026: granular scopes) "
            f"or {self.broad} (older apps)"
        )


_INVOICES = ScopeNeed("accounting.invoices.read", "accounting.transactions.read")
_PAYMENTS = ScopeNeed("accounting.payments.read", "accounting.transactions.read")

READ_SCOPES: dict[str, ScopeNeed] = {
    "invoices": _INVOICES,
    "creditnotes": _INVOICES,
    "payments": _PAYMENTS,
    "overpayments": _PAYMENTS,
    "prepayments": _PAYMENTS,
    "contacts": ScopeNeed("accounting.contacts.read", "accounting.contacts.read"),
    "organisation": ScopeNeed("accounting.settings.read", "accounting.settings.read"),
}

ALL_READ_SCOPES_GRANULAR = (
    "offline_access accounting.invoices.read accounting.payments.read "
    "accounting.contacts.read accounting.settings.read"
)
ALL_READ_SCOPES_BROAD = (
    "offline_access accounting.transactions.read accounting.contacts.read accounting.settings.read"
)


def scope_for(path: str) -> str:
    """The scope(s) a GET of ``path`` (``/api.xro/2.0/Invoices/…``) needs, for a message."""
    parts = [p for p in path.split("?", 1)[0].split("/") if p]
    endpoint = parts[2].lower() if len(parts) > 2 and parts[0] == "api.xro" else ""
    need = READ_SCOPES.get(endpoint, _INVOICES)
    return need.describe()

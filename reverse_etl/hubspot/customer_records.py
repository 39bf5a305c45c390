"""What the tool reads and writes of HubSpot's companies and contacts, named once.

The warehouse snapshot (:mod:`pipelines.hubspot_snapshot.customers`) reads these properties into
``raw_hubspot.companies`` / ``raw_hubspot.contacts`` and keys ``raw_hubspot.invoice_associations``
by :func:`association_key`; the customers push (:mod:`reverse_etl.push.customers`,
:mod:`reverse_etl.push.associations`) writes the same tables after HubSpot confirmed a write, so
both sides take the names from here, below them both.
"""

from __future__ import annotations

COMPANY_FIELDS = (
    "name",
    "domain",
    "xero_contact_id",
    "xero_amount_outstanding",
    "xero_amount_overdue",
    "xero_open_invoices",
    "xero_last_payment_date",
)
CONTACT_FIELDS = ("email", "firstname", "lastname", "associatedcompanyid", "xero_contact_id")


def association_key(invoice_id: str, to_type: str, to_id: str) -> str:
    """The key of one invoice record's association with a company or contact."""
    return f"{invoice_id}:{to_type}:{to_id}"

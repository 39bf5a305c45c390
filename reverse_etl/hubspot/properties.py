"""The HubSpot properties of the custom object, defined once.

`invoice-sync setup` creates exactly these; the dbt model `hubspot_invoices_desired` must
produce one column per property (a test checks it), and the push sends them.

HubSpot facts relied on (HubSpot CRM properties API, v3): values are sent as strings; ``date``
properties hold midnight UTC and accept ``YYYY-MM-DD``; ``datetime`` accepts ISO 8601 or epoch
milliseconds; ``enumeration`` values must be one of the options; ``hasUniqueValue`` makes a
property usable as ``idProperty`` for batch upsert.
"""

from __future__ import annotations

from dataclasses import dataclass, field

GROUP_NAME = "xero_invoice_information"
UPSERT_KEY = "xero_invoice_id"

INVOICE_STATUSES = ("DRAFT", "SUBMITTED", "AUTHORISED", "PAID", "VOIDED", "DELETED")
INVOICE_TYPES = ("ACCREC", "ACCPAY")


@dataclass(frozen=True)
class PropertySpec:
    """One HubSpot property: its API definition and how its value is compared."""

    name: str
    label: str
    type: str  # HubSpot property type: string | number | date | datetime | enumeration
    field_type: str  # HubSpot fieldType: text | number | date | select
    description: str
    options: tuple[str, ...] = field(default_factory=tuple)
    unique: bool = False

    def to_hubspot(self) -> dict[str, object]:
        """The body of ``POST …/properties/{objectType}`` for this property (each option with
        ``hidden``, which HubSpot's ``OptionInput`` schema requires)."""
        body: dict[str, object] = {
            "name": self.name,
            "label": self.label,
            "type": self.type,
            "fieldType": self.field_type,
            "groupName": GROUP_NAME,
            "description": self.description,
        }
        if self.options:
            body["options"] = [
                {"label": value.title(), "value": value, "displayOrder": index, "hidden": False}
                for index, value in enumerate(self.options)
            ]
        if self.unique:
            body["hasUniqueValue"] = True
        return body


def _text(name: str, label: str, description: str, unique: bool = False) -> PropertySpec:
    return PropertySpec(name, label, "string", "text", description, unique=unique)


def _number(name: str, label: str, description: str) -> PropertySpec:
    return PropertySpec(name, label, "number", "number", description)


def _date(name: str, label: str, description: str) -> PropertySpec:
    return PropertySpec(name, label, "date", "date", description)


INVOICE_PROPERTIES: tuple[PropertySpec, ...] = (
    _text(UPSERT_KEY, "Xero invoice ID", "Xero InvoiceID (UUID); the upsert key.", unique=True),
    _text("invoice_number", "Invoice number", "Xero InvoiceNumber."),
    PropertySpec(
        "invoice_type",
        "Invoice type",
        "enumeration",
        "select",
        "ACCREC = sales invoice, ACCPAY = bill.",
        options=INVOICE_TYPES,
    ),
    PropertySpec(
        "status",
        "Status",
        "enumeration",
        "select",
        "Xero invoice status.",
        options=INVOICE_STATUSES,
    ),
    _text("contact_name", "Customer", "Xero contact name."),
    _text("xero_contact_id", "Xero contact ID", "Xero ContactID."),
    _text("reference", "Reference", "Xero Reference."),
    _text("currency_code", "Currency", "ISO 4217 currency code of the invoice."),
    _number(
        "currency_rate",
        "Currency rate",
        "Xero CurrencyRate (units of invoice currency per unit of base currency).",
    ),
    _number("sub_total", "Subtotal", "Total before tax."),
    _number("total_tax", "Total tax", "Tax on the invoice."),
    _number("total", "Total", "Total including tax."),
    _number("amount_due", "Amount due", "What the customer still owes."),
    _number("amount_paid", "Amount paid", "Payments received."),
    _number(
        "amount_credited",
        "Amount credited",
        "Credit notes, prepayments and overpayments allocated.",
    ),
    _date("invoice_date", "Invoice date", "Xero Date."),
    _date("due_date", "Due date", "Xero DueDate."),
    _date("fully_paid_on_date", "Fully paid on", "Date the invoice was paid in full."),
    PropertySpec(
        "xero_updated_at",
        "Updated in Xero",
        "datetime",
        "date",
        "Xero UpdatedDateUTC of the version mirrored.",
    ),
    _text("xero_tenant_id", "Xero organisation ID", "Xero tenant the invoice belongs to."),
    _text("xero_url", "Open in Xero", "Deep link to the invoice in Xero."),
)

PROPERTY_NAMES: tuple[str, ...] = tuple(spec.name for spec in INVOICE_PROPERTIES)
PROPERTIES_BY_NAME: dict[str, PropertySpec] = {spec.name: spec for spec in INVOICE_PROPERTIES}

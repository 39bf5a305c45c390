"""What the tool reads and writes of HubSpot's companies and contacts, named once.

The warehouse snapshot (:mod:`pipelines.hubspot_snapshot.customers`) reads these properties into
``raw_hubspot.companies`` / ``raw_hubspot.contacts`` and keys ``raw_hubspot.invoice_associations``
by :func:`association_key`; the customers push (:mod:`reverse_etl.push.customers`,
:mod:`reverse_etl.push.associations`) writes the same tables after HubSpot confirmed a write, so
both sides take the names from here, below them both.

The company properties are the dbt seed ``dbt_project/seeds/hubspot_company_properties.csv``, so
dbt and Python read the same rows: ``invoice-sync setup`` creates the ones marked
``created_by_setup`` (the "Xero" group, :mod:`reverse_etl.push.customer_schema`), the snapshot
reads every one, and ``hubspot_company_actions`` writes them (its CLEAR and CREATE property
lists are read from the seed at build time). The seed's ``position`` orders the lists HubSpot
is sent.
"""

from __future__ import annotations

import csv
from pathlib import Path

from reverse_etl.hubspot.properties import PropertySpec

COMPANY_PROPERTIES_CSV = (
    Path(__file__).resolve().parents[2] / "dbt_project" / "seeds" / "hubspot_company_properties.csv"
)


def _rows() -> list[dict[str, str]]:
    with COMPANY_PROPERTIES_CSV.open(newline="", encoding="utf-8") as handle:
        return sorted(csv.DictReader(handle), key=lambda row: int(row["position"]))


def _spec(row: dict[str, str]) -> PropertySpec:
    return PropertySpec(
        row["name"], row["label"], row["type"], row["field_type"], row["description"]
    )


_ROWS = _rows()
# Every company property the snapshot reads (raw_hubspot.companies' columns), in seed order.
COMPANY_FIELDS: tuple[str, ...] = tuple(row["name"] for row in _ROWS)
# The properties `invoice-sync setup` creates in the "Xero" group, in seed order.
COMPANY_PROPERTIES: tuple[PropertySpec, ...] = tuple(
    _spec(row) for row in _ROWS if row["created_by_setup"] == "true"
)
COMPANY_PROPERTY_NAMES: tuple[str, ...] = tuple(spec.name for spec in COMPANY_PROPERTIES)


CONTACT_FIELDS = ("email", "firstname", "lastname", "associatedcompanyid", "xero_contact_id")


def association_key(invoice_id: str, to_type: str, to_id: str) -> str:
    """The key of one invoice record's association with a company or contact."""
    return f"{invoice_id}:{to_type}:{to_id}"

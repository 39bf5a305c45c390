"""The HubSpot company properties invoice-sync reads and writes, defined once.

The list is the dbt seed ``dbt_project/seeds/hubspot_company_properties.csv``, so dbt and
Python read the same rows: ``invoice-sync setup`` creates the ones marked ``created_by_setup``
(the "Xero" group, :mod:`reverse_etl.customer_schema`), the snapshot reads every one
(:mod:`pipelines.hubspot_snapshot.customers`), and ``hubspot_company_actions`` writes them
(its CLEAR and CREATE property lists are read from the seed at build time). The seed's
``position`` orders the lists HubSpot is sent.
"""

from __future__ import annotations

import csv
from pathlib import Path

from reverse_etl.properties import PropertySpec

COMPANY_PROPERTIES_CSV = (
    Path(__file__).resolve().parents[1] / "dbt_project" / "seeds" / "hubspot_company_properties.csv"
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

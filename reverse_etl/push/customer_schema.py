"""`invoice-sync setup`, customers part (issue 13): the invoice object's association
definitions with companies and contacts, and the "Xero" property group on companies (and
``xero_contact_id`` on contacts). Idempotent, additive only, like :mod:`reverse_etl.push.schema`.

An invoices object created before this change has no association definitions: setup adds them
with ``POST /crm-object-schemas/{V}/schemas/{objectType}/associations`` (HubSpot's
``AssociationDefinitionEgg``), reading the schema's ``associations`` list first so a rerun adds
nothing. A new object gets them at creation through ``associatedObjects: ["COMPANY",
"CONTACT"]`` (:func:`reverse_etl.push.schema.schema_body`).

The association type ids the push sends are read with ``GET /crm/associations/{V}/{object}/
{companies|contacts}/labels``: the USER_DEFINED type without a label is the definition's
unlabelled type (:func:`association_type_id`).
"""

from __future__ import annotations

from typing import Any

from reverse_etl.core.errors import HubSpotSchemaError
from reverse_etl.hubspot.client import HubSpot
from reverse_etl.hubspot.customer_calls import COMPANIES, CONTACTS
from reverse_etl.hubspot.customer_records import COMPANY_PROPERTIES
from reverse_etl.hubspot.properties import PropertySpec

XERO_GROUP, XERO_GROUP_LABEL = "xero", "Xero"
STANDARD_TYPE_IDS = {COMPANIES: "0-2", CONTACTS: "0-1"}


# The company properties are the seed dbt_project/seeds/hubspot_company_properties.csv
# (reverse_etl.hubspot.customer_records); contacts get the same xero_contact_id.
XERO_CONTACT_ID = next(spec for spec in COMPANY_PROPERTIES if spec.name == "xero_contact_id")
CONTACT_PROPERTIES: tuple[PropertySpec, ...] = (XERO_CONTACT_ID,)


def ensure_customer_schema(hub: HubSpot, object_type_id: str, schema: Any) -> list[str]:
    """Create what is missing; returns what was added (for the setup summary)."""
    added: list[str] = []
    defined = {
        str(getattr(d, "to_object_type_id", ""))
        for d in (getattr(schema, "associations", None) or [])
    }
    for name, type_id in STANDARD_TYPE_IDS.items():
        if type_id not in defined:
            hub.create_schema_association(object_type_id, type_id)
            added.append(f"association with {name}")
    for object_type, specs in ((COMPANIES, COMPANY_PROPERTIES), (CONTACTS, CONTACT_PROPERTIES)):
        groups = {g.get("name") for g in hub.list_property_groups(object_type)}
        if XERO_GROUP not in groups:
            hub.create_property_group(object_type, XERO_GROUP, XERO_GROUP_LABEL)
            added.append(f"{object_type} group {XERO_GROUP}")
        present = {p.name: p for p in hub.list_properties(object_type)}
        for spec in specs:
            prop = present.get(spec.name)
            if prop is None:
                hub.create_property(object_type, {**spec.to_hubspot(), "groupName": XERO_GROUP})
                added.append(f"{object_type}.{spec.name}")
            elif (prop.type, prop.field_type) != (spec.type, spec.field_type):
                raise HubSpotSchemaError(
                    f"The {object_type} property {spec.name} is {prop.type}/{prop.field_type} "
                    f"in HubSpot but invoice-sync writes {spec.type}/{spec.field_type}. Fix: "
                    "archive or rename it in HubSpot (Settings → Properties) and rerun "
                    "`invoice-sync setup`."
                )
    return added


def association_type_id(hub: HubSpot, object_type_id: str, to_type: str) -> int:
    """The unlabelled USER_DEFINED association type from the invoice object to ``to_type``."""
    for spec in hub.association_labels(object_type_id, to_type):
        if spec.get("category") == "USER_DEFINED" and not spec.get("label"):
            return int(spec["typeId"])
    raise HubSpotSchemaError(
        f"HubSpot has no association between the invoice object {object_type_id} and "
        f"{to_type}. Run `invoice-sync setup` to define it."
    )

"""HubSpot's standard companies (``0-2``) and contacts (``0-1``) objects, as every portal has.

Served by the same object routes as custom objects (CRUD, batch, search on
``/crm/objects/{version}/companies`` and ``…/contacts``; ``0-2`` / ``0-1`` address them too), with
the few default properties the tool reads: companies ``name`` and ``domain``; contacts
``email``, ``firstname``, ``lastname`` and ``associatedcompanyid`` (the primary company's id, a
number property HubSpot maintains from the primary company association; here a person or test
sets it), and ``hs_merged_object_ids`` (read only: the ids a merge folded into the record,
``;``-separated — :mod:`sandbox.hubspot.merges`). Property groups ``companyinformation`` /
``contactinformation`` are HubSpot's default groups. Anything else (``xero_*``) must be
created through the properties API, as ``invoice-sync setup`` does against a real portal.
The schemas API does not list them (``GET …/schemas`` lists custom objects only).
"""

from __future__ import annotations

from sandbox.hubspot.object_types import ObjectType
from sandbox.hubspot.values import PropertyDef, builtin_properties

# (object type id, name, singular, plural, group, [(name, label, type, fieldType)])
STANDARD = (
    (
        "0-2", "companies", "Company", "Companies", "companyinformation",
        [
            ("name", "Company name", "string", "text"),
            ("domain", "Company domain name", "string", "text"),
            ("hs_merged_object_ids", "Merged Company IDs", "string", "text"),
        ],
    ),
    (
        "0-1", "contacts", "Contact", "Contacts", "contactinformation",
        [
            ("email", "Email", "string", "text"),
            ("firstname", "First name", "string", "text"),
            ("lastname", "Last name", "string", "text"),
            ("associatedcompanyid", "Primary company ID", "number", "number"),
            ("hs_merged_object_ids", "Merged Contact IDs", "string", "text"),
        ],
    ),
)  # fmt: skip
ALIASES = {"0-2": ("company",), "0-1": ("contact",)}
CONTACT_DATES = {"hs_createdate": "createdate", "hs_lastmodifieddate": "lastmodifieddate"}
# HubSpot's numeric ids for the standard types (``ObjectTypeIdUtils``: 0-1 contacts, 0-2 companies)
NUMERIC = {"0-2": 2, "0-1": 1}


def standard_types(portal_id: int, now_iso: str) -> list[ObjectType]:
    out = []
    for type_id, name, singular, plural, group, props in STANDARD:
        object_type = ObjectType(
            numeric_id=NUMERIC[type_id],
            name=name,
            portal_id=portal_id,
            labels={"singular": singular, "plural": plural},
            primary_display_property=props[0][0],
            secondary_display_properties=[],
            searchable_properties=[p[0] for p in props if p[2] == "string"],
            required_properties=[],
            description=f"HubSpot's standard {plural.lower()} object.",
            created_at=now_iso,
            updated_at=now_iso,
            standard_id=type_id,
        )
        object_type.groups[group] = {
            "name": group,
            "label": f"{singular} information",
            "displayOrder": -1,
            "archived": False,
        }
        for prop in builtin_properties(name, now_iso):
            prop.group_name = group
            if type_id == "0-1" and prop.name in CONTACT_DATES:
                # contacts: createdate / lastmodifieddate, never the hs_ names (HubSpot's CRM
                # search guide lists them as contacts' default properties); a search filtering
                # on hs_lastmodifieddate is refused as an unknown property
                prop.name = CONTACT_DATES[prop.name]
            object_type.add_property(prop)
        for prop_name, label, kind, field_type in props:
            object_type.add_property(
                PropertyDef(prop_name, label, kind, field_type, group, hubspot_defined=True,
                            created_at=now_iso, updated_at=now_iso)
            )  # fmt: skip
        out.append(object_type)
    return out

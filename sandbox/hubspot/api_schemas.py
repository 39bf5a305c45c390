"""``/crm/v3/schemas`` and ``/crm/v3/properties/{objectType}`` routes.

Validation follows HubSpot's custom-objects guide: ``name``, ``labels.singular``/``plural``,
``primaryDisplayProperty`` and ``properties`` are required; display, searchable and required
property lists must name defined properties; a name already in use answers 409. Names that are
also standard object types in the objects API path (``invoice``, ``contacts``, ...) are refused
because ``/crm/v3/objects/invoice`` already means HubSpot's own Invoices object (``0-53``); this
is stricter than HubSpot is known to be for every name (a custom object called ``owners`` exists
in the wild, airbytehq/airbyte#40679) — unconfirmed, kept because the clash is real.

Property names: lower case letters, digits and underscores, not starting with ``hs_``; ``type``
and ``fieldType`` must be a documented pair (see :mod:`sandbox.hubspot.values`); enumerations
need options with unique values; ``groupName`` must exist (every custom object starts with the
group ``{name}_information``); at most ``limits.max_unique_properties`` (HubSpot: 10) unique-value
properties per object. A name in use answers 409 ``OBJECT_ALREADY_EXISTS``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aiohttp import web

from sandbox.hubspot.errors import HubSpotError, not_found, validation_error
from sandbox.hubspot.store import ObjectType, valid_name
from sandbox.hubspot.values import FIELD_TYPES, PropertyDef

if TYPE_CHECKING:
    from sandbox.hubspot.emulator import HubSpotEmulator

# HubSpot serves schemas at both; hubspot-api-client 12 calls the second.
SCHEMA_PREFIXES = ("/crm/v3/schemas", "/crm-object-schemas/v3/schemas")
STANDARD_OBJECT_NAMES = frozenset(
    {
        "contact", "contacts", "company", "companies", "deal", "deals", "ticket", "tickets",
        "product", "products", "line_item", "line_items", "quote", "quotes", "invoice",
        "invoices", "call", "calls", "email", "emails", "meeting", "meetings", "note", "notes",
        "task", "tasks", "order", "orders", "cart", "carts", "payment", "payments",
        "subscription", "subscriptions", "communication", "communications", "postal_mail",
        "lead", "leads", "goal_target", "goal_targets", "feedback_submission",
        "feedback_submissions", "appointment", "appointments", "course", "courses", "listing",
        "listings", "service", "services", "user", "users", "partner_client", "marketing_event",
    }
)  # fmt: skip


def parse_property(
    body: Any, object_type: ObjectType | None, object_name: str, now: str
) -> PropertyDef:
    """Validate a property definition (create body, or one entry of a schema's ``properties``)."""
    if not isinstance(body, dict):
        raise validation_error("A property definition must be an object.")
    name = body.get("name")
    if not valid_name(name):
        raise validation_error(
            f"Property name {name!r} is invalid: use lower case letters, digits and underscores, "
            "starting with a letter."
        )
    if name.startswith("hs_"):
        raise validation_error(f"Property name {name!r} is invalid: the hs_ prefix is reserved.")
    label = body.get("label")
    if not isinstance(label, str) or not label.strip():
        raise validation_error(f"Property {name!r}: label is required.")
    prop_type = body.get("type")
    if prop_type not in FIELD_TYPES:
        raise validation_error(
            f"Property {name!r}: type {prop_type!r} is invalid; use one of "
            f"{', '.join(sorted(FIELD_TYPES))}."
        )
    field_type = body.get("fieldType")
    if field_type not in FIELD_TYPES[prop_type]:
        raise validation_error(
            f"Property {name!r}: fieldType {field_type!r} is not valid for type {prop_type!r}; "
            f"use one of {', '.join(sorted(FIELD_TYPES[prop_type]))}."
        )
    options = body.get("options") or []
    if not isinstance(options, list):
        raise validation_error(f"Property {name!r}: options must be a list.")
    clean_options = []
    seen: set[str] = set()
    for index, option in enumerate(options):
        if not isinstance(option, dict) or not option.get("label") or "value" not in option:
            raise validation_error(f"Property {name!r}: each option needs a label and a value.")
        value = str(option["value"])
        if value in seen:
            raise validation_error(f"Property {name!r}: option value {value!r} is duplicated.")
        seen.add(value)
        clean_options.append(
            {
                "label": str(option["label"]),
                "value": value,
                "description": str(option.get("description", "")),
                "displayOrder": int(option.get("displayOrder", index)),
                "hidden": bool(option.get("hidden", False)),
            }
        )
    if prop_type == "enumeration" and not clean_options:
        raise validation_error(f"Property {name!r}: an enumeration needs at least one option.")
    if prop_type == "bool" and not clean_options:
        clean_options = [
            {
                "label": "Yes",
                "value": "true",
                "description": "",
                "displayOrder": 0,
                "hidden": False,
            },
            {
                "label": "No",
                "value": "false",
                "description": "",
                "displayOrder": 1,
                "hidden": False,
            },
        ]
    group = body.get("groupName") or f"{object_name}_information"
    if object_type is not None and group not in object_type.groups:
        raise validation_error(
            f"Property {name!r}: property group {group!r} does not exist on {object_name}; "
            f"create it first (POST /crm/v3/properties/{object_name}/groups) or use "
            f"{object_name}_information."
        )
    return PropertyDef(
        name=name,
        label=label,
        type=prop_type,
        field_type=field_type,
        group_name=group,
        description=str(body.get("description") or ""),
        options=clean_options,
        has_unique_value=bool(body.get("hasUniqueValue", False)),
        display_order=int(body.get("displayOrder", -1)),
        form_field=bool(body.get("formField", False)),
        hidden=bool(body.get("hidden", False)),
        created_at=now,
        updated_at=now,
    )


def _check_unique_budget(emu: HubSpotEmulator, object_type: ObjectType, adding: int) -> None:
    limit = emu.limits.max_unique_properties
    current = sum(1 for p in object_type.properties.values() if p.has_unique_value)
    if current + adding > limit:
        raise validation_error(
            f"{object_type.name} already has {current} unique value properties; at most "
            f"{limit} are allowed per object."
        )


def routes(emu: HubSpotEmulator) -> list[web.RouteDef]:
    store = emu.store

    async def list_schemas(_request: web.Request) -> web.Response:
        with emu.lock:
            results = [t.schema_api() for t in store.types.values()]
        return web.json_response({"results": results})

    async def get_schema(request: web.Request) -> web.Response:
        with emu.lock:
            object_type = _resolve_or_404(emu, request.match_info["objectType"])
            return web.json_response(object_type.schema_api())

    async def create_schema(request: web.Request) -> web.Response:
        body = await emu.read_json(request)
        with emu.lock:
            object_type = _new_schema(emu, body)
            store.register(object_type)
            return web.json_response(object_type.schema_api(), status=201)

    async def list_properties(request: web.Request) -> web.Response:
        with emu.lock:
            object_type = store.resolve(request.match_info["objectType"])
            results = [p.to_api() for p in object_type.properties.values()]
        return web.json_response({"results": results})

    async def get_property(request: web.Request) -> web.Response:
        with emu.lock:
            object_type = store.resolve(request.match_info["objectType"])
            prop = object_type.properties.get(request.match_info["propertyName"])
            if prop is None:
                raise not_found(
                    f"Unable to find property {request.match_info['propertyName']} on "
                    f"{object_type.object_type_id}"
                )
            return web.json_response(prop.to_api())

    async def create_property(request: web.Request) -> web.Response:
        body = await emu.read_json(request)
        with emu.lock:
            object_type = store.resolve(request.match_info["objectType"])
            prop = parse_property(body, object_type, object_type.name, store.now_iso())
            if prop.name in object_type.properties:
                raise HubSpotError(
                    409,
                    "OBJECT_ALREADY_EXISTS",
                    f"Property named '{prop.name}' already exists.",
                    sub_category="Property.ALREADY_EXISTS",
                )
            if prop.has_unique_value:
                _check_unique_budget(emu, object_type, 1)
            object_type.add_property(prop)
            return web.json_response(prop.to_api(), status=201)

    async def update_property(request: web.Request) -> web.Response:
        body = await emu.read_json(request)
        with emu.lock:
            object_type = store.resolve(request.match_info["objectType"])
            prop = object_type.properties.get(request.match_info["propertyName"])
            if prop is None:
                raise not_found(f"Unable to find property {request.match_info['propertyName']}")
            if prop.hubspot_defined:
                raise validation_error(f"{prop.name} is a HubSpot-defined property.")
            if not isinstance(body, dict):
                raise validation_error("The property update must be a JSON object.")
            merged = {**prop.to_api(), **body, "name": prop.name}
            updated = parse_property(merged, object_type, object_type.name, prop.created_at)
            updated.has_unique_value = prop.has_unique_value
            updated.updated_at = store.now_iso()
            object_type.properties[prop.name] = updated
            return web.json_response(updated.to_api())

    async def archive_property(request: web.Request) -> web.Response:
        with emu.lock:
            object_type = store.resolve(request.match_info["objectType"])
            name = request.match_info["propertyName"]
            prop = object_type.properties.get(name)
            if prop is None:
                raise not_found(f"Unable to find property {name}")
            if prop.hubspot_defined or name in (
                object_type.primary_display_property,
                *object_type.required_properties,
            ):
                raise validation_error(
                    f"{name} cannot be archived: it is HubSpot-defined, the primary display "
                    "property or a required property."
                )
            del object_type.properties[name]
            object_type.unique.pop(name, None)
            object_type.version += 1
        return web.Response(status=204)

    async def update_schema(request: web.Request) -> web.Response:
        body = await emu.read_json(request)
        if not isinstance(body, dict):
            raise validation_error("The schema update must be a JSON object.")
        with emu.lock:
            object_type = _resolve_or_404(emu, request.match_info["objectType"])
            defined = set(object_type.properties)
            lists = {}
            for key in ("secondaryDisplayProperties", "searchableProperties", "requiredProperties"):
                if key in body:
                    value = body[key]
                    if not isinstance(value, list) or any(v not in defined for v in value):
                        raise validation_error(f"{key} names undefined properties: {value}")
                    lists[key] = [str(v) for v in value]
            primary = body.get("primaryDisplayProperty", object_type.primary_display_property)
            if primary not in defined:
                raise validation_error(
                    f"primaryDisplayProperty {primary!r} must be one of the object's properties."
                )
            labels = body.get("labels")
            if labels is not None:
                if not isinstance(labels, dict):
                    raise validation_error("labels must be an object.")
                object_type.labels = {
                    **object_type.labels,
                    **{k: str(v) for k, v in labels.items()},
                }
            object_type.primary_display_property = primary
            object_type.secondary_display_properties = lists.get(
                "secondaryDisplayProperties", object_type.secondary_display_properties
            )
            object_type.searchable_properties = lists.get(
                "searchableProperties", object_type.searchable_properties
            )
            object_type.required_properties = lists.get(
                "requiredProperties", object_type.required_properties
            )
            if body.get("clearDescription"):
                object_type.description = ""
            elif "description" in body:
                object_type.description = str(body["description"] or "")
            object_type.updated_at = store.now_iso()
            answer = object_type.schema_api()
            answer.pop("properties")
            answer.pop("associations")
            return web.json_response(answer)

    async def delete_schema(request: web.Request) -> web.Response:
        with emu.lock:
            object_type = _resolve_or_404(emu, request.match_info["objectType"])
            live = sum(1 for r in object_type.records.values() if not r.archived)
            if live:
                raise validation_error(
                    f"Cannot delete {object_type.name}: it still has {live} records. Archive "
                    "them first."
                )
            store.unregister(object_type)
        return web.Response(status=204)

    async def list_groups(request: web.Request) -> web.Response:
        with emu.lock:
            object_type = store.resolve(request.match_info["objectType"])
            return web.json_response({"results": list(object_type.groups.values())})

    async def create_group(request: web.Request) -> web.Response:
        body = await emu.read_json(request)
        with emu.lock:
            object_type = store.resolve(request.match_info["objectType"])
            name = body.get("name") if isinstance(body, dict) else None
            if not valid_name(name) or not body.get("label"):
                raise validation_error("A property group needs a valid name and a label.")
            if name in object_type.groups:
                raise HubSpotError(
                    409, "OBJECT_ALREADY_EXISTS", f"Property group '{name}' already exists."
                )
            group = {
                "name": name,
                "label": str(body["label"]),
                "displayOrder": int(body.get("displayOrder", -1)),
                "archived": False,
            }
            object_type.groups[name] = group
            return web.json_response(group, status=201)

    schema_routes = [
        route
        for prefix in SCHEMA_PREFIXES
        for route in (
            web.get(prefix, list_schemas),
            web.post(prefix, create_schema),
            web.get(prefix + "/{objectType}", get_schema),
            web.patch(prefix + "/{objectType}", update_schema),
            web.delete(prefix + "/{objectType}", delete_schema),
        )
    ]
    return [
        *schema_routes,
        web.get("/crm/v3/properties/{objectType}", list_properties),
        web.post("/crm/v3/properties/{objectType}", create_property),
        web.get("/crm/v3/properties/{objectType}/groups", list_groups),
        web.post("/crm/v3/properties/{objectType}/groups", create_group),
        web.get("/crm/v3/properties/{objectType}/{propertyName}", get_property),
        web.patch("/crm/v3/properties/{objectType}/{propertyName}", update_property),
        web.delete("/crm/v3/properties/{objectType}/{propertyName}", archive_property),
    ]


def _resolve_or_404(emu: HubSpotEmulator, key: str) -> ObjectType:
    try:
        return emu.store.resolve(key)
    except HubSpotError:
        raise not_found(f"Unable to find object type {key}") from None


def _new_schema(emu: HubSpotEmulator, body: Any) -> ObjectType:
    store = emu.store
    if not isinstance(body, dict):
        raise validation_error("The schema must be a JSON object.")
    name = body.get("name")
    if not valid_name(name):
        raise validation_error(
            f"Object name {name!r} is invalid: use lower case letters, digits and underscores, "
            "starting with a letter."
        )
    if name in STANDARD_OBJECT_NAMES:
        raise validation_error(
            f"Object name {name!r} is reserved: it names one of HubSpot's standard objects. "
            "Choose another name, such as xero_invoice."
        )
    if name.lower() in store.aliases:
        raise HubSpotError(
            409, "OBJECT_ALREADY_EXISTS", f"An object type with name {name} already exists."
        )
    labels = body.get("labels")
    if (
        not isinstance(labels, dict)
        or not str(labels.get("singular") or "").strip()
        or not str(labels.get("plural") or "").strip()
    ):
        raise validation_error("labels.singular and labels.plural are required.")
    raw_properties = body.get("properties")
    if not isinstance(raw_properties, list) or not raw_properties:
        raise validation_error("properties must be a non-empty list of property definitions.")
    now = store.now_iso()
    parsed = [parse_property(p, None, name, now) for p in raw_properties]
    names = [p.name for p in parsed]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise validation_error(f"Property {duplicates[0]!r} is defined more than once.")
    defined = set(names) | {"hs_object_id", "hs_createdate", "hs_lastmodifieddate"}
    primary = body.get("primaryDisplayProperty")
    if primary not in names:
        raise validation_error(
            f"primaryDisplayProperty {primary!r} must be one of the object's properties."
        )
    lists: dict[str, list[str]] = {}
    for key in ("secondaryDisplayProperties", "searchableProperties", "requiredProperties"):
        value = body.get(key) or []
        if not isinstance(value, list) or any(v not in defined for v in value):
            missing = [
                v for v in (value if isinstance(value, list) else [value]) if v not in defined
            ]
            raise validation_error(f"{key} names undefined properties: {missing}")
        lists[key] = [str(v) for v in value]
    object_type = store.new_type(
        name,
        labels={"singular": str(labels["singular"]), "plural": str(labels["plural"])},
        primary_display_property=primary,
        secondary_display_properties=lists["secondaryDisplayProperties"],
        searchable_properties=lists["searchableProperties"],
        required_properties=lists["requiredProperties"],
        description=str(body.get("description") or ""),
    )
    for prop in parsed:
        if prop.group_name not in object_type.groups:
            raise validation_error(
                f"Property {prop.name!r}: property group {prop.group_name!r} does not exist; "
                f"use {name}_information."
            )
    _check_unique_budget(emu, object_type, sum(1 for p in parsed if p.has_unique_value))
    for prop in parsed:
        object_type.add_property(prop)
    return object_type

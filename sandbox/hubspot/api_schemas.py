"""``/crm-object-schemas/{version}/schemas`` routes (numbered family: also ``/crm/v3/schemas``).

Validation follows HubSpot's custom-objects guide: ``name``, ``labels.singular``/``plural``,
``primaryDisplayProperty`` and ``properties`` are required; display, searchable and required
property lists must name defined properties; a name already in use answers 409. Names that are
also standard object types in the objects API path (``invoice``, ``contacts``, ...) are refused
because ``…/objects/invoice`` already means HubSpot's own Invoices object (``0-53``); this
is stricter than HubSpot is known to be for every name (a custom object called ``owners`` exists
in the wild, airbytehq/airbyte#40679) — unconfirmed, kept because the clash is real.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aiohttp import web

from sandbox.hubspot import associations
from sandbox.hubspot.api_properties import check_unique_budget, parse_property
from sandbox.hubspot.errors import HubSpotError, not_found, validation_error
from sandbox.hubspot.store import ObjectType, valid_name

if TYPE_CHECKING:
    from sandbox.hubspot.emulator import HubSpotEmulator
    from sandbox.hubspot.routes import HubSpotRoutes

# Fields ObjectSchemaEgg marks required beyond v3's, per date version (HubSpot's spec
# collection, CRM/Schemas/Rollouts/145900/{version}/schemas.json).
REQUIRED_SCHEMA_FIELDS: dict[str, tuple[str, ...]] = {
    "2026-03": ("allowsSensitiveProperties", "shouldCreateSameObjectAssociation"),
    "2026-09": ("allowsSensitiveProperties",),
}
# The numbered family serves schemas at both; hubspot-api-client 12 calls the second.
NUMBERED_ALIAS = "/crm/v3/schemas"
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


def routes(emu: HubSpotEmulator, paths: HubSpotRoutes) -> list[web.RouteDef]:
    store = emu.store

    async def list_schemas(_request: web.Request) -> web.Response:
        with emu.lock:
            results = [t.schema_api() for t in store.custom_types()]
        return web.json_response({"results": results})

    async def get_schema(request: web.Request) -> web.Response:
        with emu.lock:
            object_type = _resolve_or_404(emu, request.match_info["objectType"])
            return web.json_response(object_type.schema_api())

    async def create_schema(request: web.Request) -> web.Response:
        body = await emu.read_json(request)
        with emu.lock:
            object_type = new_schema(emu, body, paths.version)
            targets = associations.resolve_associated(emu, body.get("associatedObjects") or [])
            store.register(object_type)
            for target in targets:
                associations.define_for_schema(emu, object_type, target)
            return web.json_response(object_type.schema_api(), status=201)

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

    prefixes = (paths.schemas(),) if paths.dated else (NUMBERED_ALIAS, paths.schemas())
    schema_routes = [
        route
        for prefix in prefixes
        for route in (
            web.get(prefix, list_schemas),
            web.post(prefix, create_schema),
            web.get(prefix + "/{objectType}", get_schema),
            web.patch(prefix + "/{objectType}", update_schema),
            web.delete(prefix + "/{objectType}", delete_schema),
        )
    ]
    return schema_routes


def _resolve_or_404(emu: HubSpotEmulator, key: str) -> ObjectType:
    try:
        return emu.store.resolve(key)
    except HubSpotError:
        raise not_found(f"Unable to find object type {key}") from None


def new_schema(emu: HubSpotEmulator, body: Any, version: str | None = None) -> ObjectType:
    """Validate and build a schema; ``version``: the API version of the request, whose
    ``ObjectSchemaEgg`` required fields are checked (``None``: the Python interface)."""
    store = emu.store
    if not isinstance(body, dict):
        raise validation_error("The schema must be a JSON object.")
    unset = [key for key in REQUIRED_SCHEMA_FIELDS.get(version or "", ()) if key not in body]
    if unset:
        raise validation_error(
            "Invalid input JSON: Cannot build ObjectSchemaEgg, some of required attributes are "
            f"not set [{', '.join(unset)}]"
        )
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
    check_unique_budget(emu, object_type, sum(1 for p in parsed if p.has_unique_value))
    for prop in parsed:
        object_type.add_property(prop)
    return object_type

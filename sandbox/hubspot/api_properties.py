"""``…/properties/{objectType}`` routes of every served version (and property groups).

Property names: lower case letters, digits and underscores, not starting with ``hs_``; ``type``
and ``fieldType`` must be a documented pair (see :mod:`sandbox.hubspot.values`); enumerations
need options with unique values; ``groupName`` must exist (every custom object starts with the
group ``{name}_information``); at most ``limits.max_unique_properties`` (HubSpot: 10) unique-value
properties per object. A name in use answers 409 ``OBJECT_ALREADY_EXISTS``. Every option
must carry ``label``, ``value``, ``displayOrder`` and ``hidden``: the ``OptionInput`` schema of
HubSpot's Properties and Schemas specs (2026-03, 2026-09; HubSpot-public-api-spec-collection)
lists all four as required (the 400 wording follows HubSpot's "Invalid input JSON …" answers).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aiohttp import web

from sandbox.hubspot.errors import HubSpotError, not_found, validation_error
from sandbox.hubspot.store import ObjectType, valid_name
from sandbox.hubspot.values import FIELD_TYPES, PropertyDef

if TYPE_CHECKING:
    from sandbox.hubspot.emulator import HubSpotEmulator
    from sandbox.hubspot.routes import HubSpotRoutes

OPTION_REQUIRED = ("displayOrder", "hidden")


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
        unset = [key for key in OPTION_REQUIRED if key not in option]
        if unset:
            raise validation_error(
                "Invalid input JSON: Cannot build OptionInput, some of required attributes are "
                f"not set [{', '.join(unset)}] (property {name!r}, option {option['value']!r})"
            )
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
            f"create it first (POST …/properties/{object_name}/groups) or use "
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


def check_unique_budget(emu: HubSpotEmulator, object_type: ObjectType, adding: int) -> None:
    limit = emu.limits.max_unique_properties
    current = sum(1 for p in object_type.properties.values() if p.has_unique_value)
    if current + adding > limit:
        raise validation_error(
            f"{object_type.name} already has {current} unique value properties; at most "
            f"{limit} are allowed per object."
        )


def routes(emu: HubSpotEmulator, paths: HubSpotRoutes) -> list[web.RouteDef]:
    store = emu.store

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
                check_unique_budget(emu, object_type, 1)
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

    base = paths.properties("{objectType}")
    return [
        web.get(base, list_properties),
        web.post(base, create_property),
        web.get(base + "/groups", list_groups),
        web.post(base + "/groups", create_group),
        web.get(base + "/{propertyName}", get_property),
        web.patch(base + "/{propertyName}", update_property),
        web.delete(base + "/{propertyName}", archive_property),
    ]

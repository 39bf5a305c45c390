"""`invoice-sync setup`: the HubSpot custom object and its properties, idempotently.

Creates what is missing and never deletes or retypes anything: HubSpot cannot change a
property's type once records hold values, and archiving a property loses its values, so a
conflict is a decision for a person (:class:`HubSpotSchemaError` names the fix).

HubSpot facts relied on (custom objects / Schemas and Properties APIs, the same in v3, 2026-03
and 2026-09 — paths from :mod:`reverse_etl.hubspot.paths` for ``HUBSPOT_API_VERSION``, read into
the SDK's ``hubspot.crm.schemas`` / ``hubspot.crm.properties`` 12.x models):
``GET/POST /crm-object-schemas/{version}/schemas`` with ``name``, ``labels``,
``primaryDisplayProperty``, ``secondaryDisplayProperties``, ``searchableProperties``,
``requiredProperties`` and ``properties[]``; the answer carries ``objectTypeId`` (``2-NNN``),
which addresses the object in every objects/properties call. ``GET/POST
…/properties/{objectType}`` lists and adds properties; ``PATCH …/properties/{objectType}/{name}``
may add enumeration options (an additive change we make, since a missing option would make
every write with it fail); every option is sent with ``label``, ``value``, ``displayOrder`` and
``hidden``, all four required by the specs' ``OptionInput``.

The objectTypeId is remembered in ``<state_dir>/hubspot_schema.json`` per (host, object name),
so a push finds the object without a call; a stale entry (object deleted in HubSpot) is
dropped when HubSpot answers 404 and setup runs again.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from reverse_etl.core.errors import HubSpotSchemaError
from reverse_etl.core.private_files import shared_folder
from reverse_etl.core.settings import Settings
from reverse_etl.hubspot.client import HubSpot, HubSpotRequestError
from reverse_etl.hubspot.paths import DEFAULT_API_VERSION, is_date_version
from reverse_etl.hubspot.properties import INVOICE_PROPERTIES, UPSERT_KEY, PropertySpec
from reverse_etl.push.customer_schema import ensure_customer_schema

log = logging.getLogger(__name__)

STATE_FILE = "hubspot_schema.json"
PRIMARY_DISPLAY = "invoice_number"
# Shown under the record name in HubSpot lists and cards: who, what state, what is owed.
SECONDARY_DISPLAY = ("contact_name", "status", "amount_due")
# What a user types into HubSpot's search box: the number, the customer, their reference.
SEARCHABLE = ("invoice_number", "contact_name", "reference", UPSERT_KEY)
REQUIRED = (UPSERT_KEY,)


@dataclass
class SchemaReport:
    """What setup found and did."""

    object_name: str
    object_type_id: str
    fully_qualified_name: str = ""
    created_object: bool = False
    added_properties: list[str] = field(default_factory=list)
    added_options: dict[str, list[str]] = field(default_factory=dict)
    # associations with companies/contacts, the companies' "Xero" group and properties
    added_customer_schema: list[str] = field(default_factory=list)
    hubspot_calls: int = 0

    @property
    def changed(self) -> bool:
        return self.created_object or bool(
            self.added_properties or self.added_options or self.added_customer_schema
        )

    def summary(self) -> str:
        if self.created_object:
            head = (
                f"Created the HubSpot custom object {self.object_name} ({self.object_type_id}) "
                f"with {len(INVOICE_PROPERTIES)} properties."
            )
        else:
            head = f"HubSpot custom object {self.object_name} ({self.object_type_id}) exists."
        parts = [head]
        if self.added_properties:
            parts.append(f"Added properties: {', '.join(self.added_properties)}.")
        for name, options in self.added_options.items():
            parts.append(f"Added options to {name}: {', '.join(options)}.")
        if self.added_customer_schema:
            parts.append(f"Added for customers: {', '.join(self.added_customer_schema)}.")
        if not self.changed:
            parts.append("Nothing to change.")
        parts.append(f"({self.hubspot_calls} HubSpot calls)")
        return " ".join(parts)


def schema_body(object_name: str, api_version: str = DEFAULT_API_VERSION) -> dict[str, Any]:
    """The body of ``POST /crm-object-schemas/{version}/schemas`` for the invoices object.

    The date versions' ``ObjectSchemaEgg`` lists more fields as required than v3 did
    (HubSpot-public-api-spec-collection, ``CRM/Schemas``): ``allowsSensitiveProperties`` from
    2026-03 on, and in 2026-03 only ``shouldCreateSameObjectAssociation`` (gone in 2026-09,
    so not sent there)."""
    body = {
        "name": object_name,
        "description": "Xero invoices, mirrored by invoice-sync. Xero is the source of truth.",
        "labels": {"singular": "Invoice", "plural": "Invoices"},
        "primaryDisplayProperty": PRIMARY_DISPLAY,
        "secondaryDisplayProperties": list(SECONDARY_DISPLAY),
        "searchableProperties": list(SEARCHABLE),
        "requiredProperties": list(REQUIRED),
        "properties": [property_body(spec, object_name) for spec in INVOICE_PROPERTIES],
        "associatedObjects": ["COMPANY", "CONTACT"],
    }
    if is_date_version(api_version):
        body["allowsSensitiveProperties"] = False
    if api_version == "2026-03":
        body["shouldCreateSameObjectAssociation"] = False
    return body


def property_body(spec: PropertySpec, object_name: str) -> dict[str, Any]:
    """``spec.to_hubspot()`` in the object's own default group: a custom object starts with
    the property group ``{name}_information``, and a property must name an existing group
    (``properties.GROUP_NAME`` is that group for the default object name only)."""
    return {**spec.to_hubspot(), "groupName": f"{object_name}_information"}


def ensure_schema(settings: Settings, *, client: HubSpot | None = None) -> SchemaReport:
    """Create the custom object and any missing property; report conflicts with the fix.

    Idempotent: on a complete schema it makes two read calls and no write.
    """
    hub = client or HubSpot(settings.hubspot)
    calls_before = hub.calls
    name = settings.hubspot.object_name
    existing = _find_schema(hub, name)
    created = False
    if existing is None:
        try:
            existing = hub.create_schema(schema_body(name, hub.paths.version))
            created = True
            log.info("Created HubSpot custom object %s (%s).", name, existing.object_type_id)
        except HubSpotRequestError as exc:
            if exc.status != 409:  # 409: created concurrently, or a retried POST that landed
                raise
            existing = _find_schema(hub, name)
            if existing is None:
                raise
    report = SchemaReport(
        object_name=name,
        object_type_id=str(existing.object_type_id),
        fully_qualified_name=str(existing.fully_qualified_name or ""),
        created_object=created,
    )
    conflicts = _ensure_properties(hub, report)
    if not conflicts:
        report.added_customer_schema = ensure_customer_schema(hub, report.object_type_id, existing)
    report.hubspot_calls = hub.calls - calls_before
    if conflicts:
        # Not remembered: every push resolves the object through this check again, so a
        # conflict blocks all writes until it is fixed, then the next run proceeds by itself.
        forget_object_type_id(settings)
        raise HubSpotSchemaError(
            f"The HubSpot object {name} ({report.object_type_id}) has properties that conflict "
            f"with what invoice-sync writes; {_what_was_done(report)} Nothing is pushed until "
            "this is fixed. " + " ".join(conflicts)
        )
    _remember(settings, report.object_type_id, report.fully_qualified_name)
    return report


def _what_was_done(report: SchemaReport) -> str:
    """The true account of a setup that stopped on a conflict (it may have added things)."""
    done = []
    if report.created_object:
        done.append(f"created the object {report.object_name}")
    if report.added_properties:
        done.append(f"added the properties {', '.join(report.added_properties)}")
    for prop, options in report.added_options.items():
        done.append(f"added the options {', '.join(options)} to {prop}")
    head = "setup " + "; ".join(done) + ", " if done else "setup changed nothing, "
    return head + "left the conflicting properties as they are and deleted nothing."


def _find_schema(hub: HubSpot, name: str) -> Any | None:
    for schema in hub.list_schemas():
        if schema.name == name and not getattr(schema, "archived", False):
            return schema
    return None


def _ensure_properties(hub: HubSpot, report: SchemaReport) -> list[str]:
    object_type = report.object_type_id
    present = {prop.name: prop for prop in hub.list_properties(object_type)}
    conflicts: list[str] = []
    for spec in INVOICE_PROPERTIES:
        prop = present.get(spec.name)
        if prop is None:
            hub.create_property(object_type, property_body(spec, report.object_name))
            report.added_properties.append(spec.name)
            continue
        problem = _conflict(spec, prop, f"DELETE {hub.paths.property(object_type, spec.name)}")
        if problem:
            conflicts.append(problem)
            continue
        have = {option.value for option in (prop.options or [])}
        missing = [value for value in spec.options if value not in have]
        if missing:
            options = [
                {
                    "label": o.label,
                    "value": o.value,
                    "displayOrder": o.display_order,
                    "hidden": bool(o.hidden),
                }
                for o in prop.options or []
            ]
            for value in missing:
                options.append(
                    {"label": value.title(), "value": value, "displayOrder": -1, "hidden": False}
                )
            hub.update_property(object_type, spec.name, {"options": options})
            report.added_options[spec.name] = missing
    return conflicts


def _conflict(spec: PropertySpec, prop: Any, where: str) -> str | None:
    """``where``: the DELETE that archives the property, in the configured API version."""
    if (prop.type, prop.field_type) != (spec.type, spec.field_type):
        return (
            f"Property {spec.name} is {prop.type}/{prop.field_type} in HubSpot but must be "
            f"{spec.type}/{spec.field_type}. Fix: archive it in HubSpot (Settings → Properties, "
            f"or {where}) and rerun `invoice-sync setup` to recreate it with the right type "
            "(the next push refills its values from Xero)."
        )
    if spec.unique and not prop.has_unique_value:
        return (
            f"Property {spec.name} must have unique values (it is the upsert key) but does not "
            f"in HubSpot, and uniqueness cannot be switched on later. Fix: archive it ({where}) "
            "and rerun `invoice-sync setup`, or set HUBSPOT_OBJECT_NAME to a new object name."
        )
    return None


# -- the remembered objectTypeId ---------------------------------------------------------


def _state_path(settings: Settings) -> Path:
    return settings.state_dir / STATE_FILE


def _key(settings: Settings) -> str:
    return f"{settings.hubspot.base_url}#{settings.hubspot.object_name}"


def _load_state(settings: Settings) -> dict[str, Any]:
    path = _state_path(settings)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def _remember(settings: Settings, object_type_id: str, fully_qualified_name: str) -> None:
    state = _load_state(settings)
    state.setdefault("objects", {})[_key(settings)] = {
        "object_type_id": object_type_id,
        "fully_qualified_name": fully_qualified_name,
        "recorded_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    path = _state_path(settings)
    shared_folder(path.parent)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(state, indent=2, sort_keys=True), encoding="utf-8")
    tmp.replace(path)


def remembered_object_type_id(settings: Settings) -> str | None:
    """The objectTypeId recorded by the last setup against this host and object name."""
    entry = _load_state(settings).get("objects", {}).get(_key(settings))
    return str(entry["object_type_id"]) if entry else None


def forget_object_type_id(settings: Settings) -> None:
    state = _load_state(settings)
    if state.get("objects", {}).pop(_key(settings), None) is not None:
        _state_path(settings).write_text(json.dumps(state, indent=2), encoding="utf-8")


def resolve_object_type_id(settings: Settings, hub: HubSpot) -> str:
    """The objectTypeId to write to: remembered by an earlier setup (no call), else found or
    created by :func:`ensure_schema` (two reads when the schema is complete)."""
    remembered = remembered_object_type_id(settings)
    if remembered:
        return remembered
    return ensure_schema(settings, client=hub).object_type_id

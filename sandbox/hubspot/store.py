"""The emulator's state: custom-object schemas, their properties and records, unique indexes.

Not thread-safe by itself: :class:`sandbox.hubspot.emulator.HubSpotEmulator` holds one lock
around every call. Unique-value properties are indexed (value → record id), and record ids are
kept sorted, so a batch of 100 upserts or a page of a list never scans every record.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sandbox.hubspot.errors import (
    HubSpotError,
    PropertyProblem,
    invalid_properties,
    validation_error,
)
from sandbox.hubspot.values import READ_ONLY, PropertyDef, builtin_properties, iso_ms, normalise

STATE_VERSION = 1
FIRST_RECORD_ID = 30_000_000_001
FIRST_TYPE_ID = 9_000_001


class Record:
    """One stored record. Timestamps are epoch milliseconds; ``props`` holds echoed values."""

    __slots__ = ("archived", "archived_at", "created", "id", "props", "shadow", "updated")

    def __init__(
        self,
        id: str,
        props: dict[str, str],
        created: int,
        updated: int,
        archived: bool = False,
        archived_at: int | None = None,
    ) -> None:
        self.id = id
        self.props = props
        self.created = created
        self.updated = updated
        self.archived = archived
        self.archived_at = archived_at
        # what search still sees while a write is not yet indexed (see Store.search_lag_ms)
        self.shadow: Record | None = None

    @property
    def last_write(self) -> int:
        if self.archived and self.archived_at is not None:
            return max(self.updated, self.archived_at)
        return self.updated

    def snapshot(self) -> Record:
        return Record(
            self.id, dict(self.props), self.created, self.updated, self.archived, self.archived_at
        )

    def value(self, name: str) -> str | None:
        if name == "hs_object_id":
            return self.id
        if name in ("hs_createdate", "createdate"):
            return iso_ms(self.created)
        if name in ("hs_lastmodifieddate", "lastmodifieddate"):
            return iso_ms(self.updated)
        return self.props.get(name)

    def to_api(self, names: list[str] | None, default: tuple[str, ...]) -> dict[str, Any]:
        wanted = names if names else list(default)
        body: dict[str, Any] = {
            "id": self.id,
            "properties": {name: self.value(name) for name in wanted},
            "createdAt": iso_ms(self.created),
            "updatedAt": iso_ms(self.updated),
            "archived": self.archived,
        }
        if self.archived and self.archived_at is not None:
            body["archivedAt"] = iso_ms(self.archived_at)
        return body

    def to_state(self) -> list[Any]:
        return [self.id, self.props, self.created, self.updated, self.archived, self.archived_at]

    @classmethod
    def from_state(cls, state: list[Any]) -> Record:
        return cls(*state)


DEFAULT_PROPERTIES = ("hs_createdate", "hs_lastmodifieddate", "hs_object_id")
# Contacts name their dates without the hs_ prefix (HubSpot's CRM search guide, "Default
# returned properties": contacts createdate, lastmodifieddate; every other object hs_…)
CONTACT_DEFAULT_PROPERTIES = ("createdate", "lastmodifieddate", "hs_object_id")
NOT_INDEXED = Record("0", {}, 0, 0)  # shadow of a record created too recently for search


@dataclass
class ObjectType:
    """A custom object: its schema, properties and records."""

    numeric_id: int
    name: str
    portal_id: int
    labels: dict[str, str]
    primary_display_property: str
    secondary_display_properties: list[str]
    searchable_properties: list[str]
    required_properties: list[str]
    description: str
    created_at: str
    updated_at: str
    properties: dict[str, PropertyDef] = field(default_factory=dict)
    groups: dict[str, dict[str, Any]] = field(default_factory=dict)
    records: dict[str, Record] = field(default_factory=dict)
    ids: list[int] = field(default_factory=list)
    unique: dict[str, dict[str, str]] = field(default_factory=dict)
    version: int = 0  # bumped by every write; keys the search cache
    search_cache: dict[str, tuple[int, list[Record]]] = field(default_factory=dict)
    standard_id: str = ""  # "0-2" for companies, "0-1" for contacts (sandbox.hubspot.standard)
    merged_into: dict[str, str] = field(default_factory=dict)  # merged-away id → merge result

    @property
    def defaults(self) -> tuple[str, ...]:
        """The properties a read returns when none are asked for (and with any asked for)."""
        return CONTACT_DEFAULT_PROPERTIES if self.standard_id == "0-1" else DEFAULT_PROPERTIES

    association_defs: list[dict[str, Any]] = field(default_factory=list)

    @property
    def object_type_id(self) -> str:
        return self.standard_id or f"2-{self.numeric_id}"

    @property
    def fully_qualified_name(self) -> str:
        return self.name if self.standard_id else f"p{self.portal_id}_{self.name}"

    def schema_api(self) -> dict[str, Any]:
        return {
            "id": str(self.numeric_id),
            "name": self.name,
            "labels": self.labels,
            "description": self.description,
            "objectTypeId": self.object_type_id,
            "fullyQualifiedName": self.fully_qualified_name,
            "primaryDisplayProperty": self.primary_display_property,
            "secondaryDisplayProperties": self.secondary_display_properties,
            "searchableProperties": self.searchable_properties,
            "requiredProperties": self.required_properties,
            "properties": [p.to_api() for p in self.properties.values()],
            "associations": list(self.association_defs),
            "archived": False,
            "createdAt": self.created_at,
            "updatedAt": self.updated_at,
        }

    def add_property(self, prop: PropertyDef) -> None:
        self.version += 1
        self.properties[prop.name] = prop
        if prop.has_unique_value:
            index = self.unique.setdefault(prop.name, {})
            for record in self.records.values():
                value = record.props.get(prop.name)
                if value is not None:
                    index[value] = record.id

    def insert(self, record: Record) -> None:
        self.version += 1
        self.records[record.id] = record
        number = int(record.id)
        if not self.ids or number > self.ids[-1]:
            self.ids.append(number)
        else:
            bisect.insort(self.ids, number)
        for name, index in self.unique.items():
            value = record.props.get(name)
            if value is not None:
                index[value] = record.id

    def find_unique(self, prop: str, value: str) -> Record | None:
        record_id = self.unique.get(prop, {}).get(value)
        return self.records.get(record_id) if record_id is not None else None

    def iter_from(self, after: int) -> Iterator[Record]:
        """Records with id ≥ ``after`` in id order."""
        ids = self.ids
        for position in range(bisect.bisect_left(ids, after), len(ids)):
            yield self.records[str(ids[position])]

    def to_state(self) -> dict[str, Any]:
        return {
            "numeric_id": self.numeric_id,
            "name": self.name,
            "labels": self.labels,
            "primary_display_property": self.primary_display_property,
            "secondary_display_properties": self.secondary_display_properties,
            "searchable_properties": self.searchable_properties,
            "required_properties": self.required_properties,
            "description": self.description,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
            "properties": [p.to_state() for p in self.properties.values()],
            "groups": list(self.groups.values()),
            "records": [r.to_state() for r in self.records.values()],
            "standard_id": self.standard_id,
            "association_defs": self.association_defs,
            "merged_into": self.merged_into,
        }


_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


class Store:
    """Schemas and records of one portal."""

    def __init__(self, portal_id: int, clock: Callable[[], datetime]) -> None:
        self.portal_id = portal_id
        self._clock = clock
        self.types: dict[str, ObjectType] = {}
        self.aliases: dict[str, str] = {}
        self.rejections: dict[tuple[str, str], str] = {}
        self.search_lag_ms = 0
        self.next_type_id = FIRST_TYPE_ID
        self.next_record_id = FIRST_RECORD_ID
        from sandbox.hubspot.associations import Associations

        self.associations = Associations()
        self._install_standard()

    def clear(self) -> None:
        self.search_lag_ms = 0
        self.types.clear()
        self.aliases.clear()
        self.rejections.clear()
        self.next_type_id = FIRST_TYPE_ID
        self.next_record_id = FIRST_RECORD_ID
        self.associations.clear()
        self._install_standard()

    def _install_standard(self) -> None:
        """Companies and contacts exist in every portal (:mod:`sandbox.hubspot.standard`)."""
        from sandbox.hubspot.standard import standard_types

        for object_type in standard_types(self.portal_id, self.now_iso()):
            self.register(object_type)

    def custom_types(self) -> list[ObjectType]:
        """The custom objects (what the schemas API lists)."""
        return [t for t in self.types.values() if not t.standard_id]

    def now_ms(self) -> int:
        return int(self._clock().timestamp() * 1000)

    def now_iso(self) -> str:
        return iso_ms(self.now_ms())

    # -- object types -------------------------------------------------------------------------

    def resolve(self, object_type: str) -> ObjectType:
        """By objectTypeId (``2-N``), fullyQualifiedName (``p{portal}_{name}``) or name."""
        key = self.aliases.get(object_type.lower())
        if key is None:
            raise validation_error(f"Unable to infer object type from: {object_type}")
        return self.types[key]

    def register(self, object_type: ObjectType) -> None:
        key = object_type.object_type_id
        self.types[key] = object_type
        singular = [object_type.labels["singular"]] if object_type.standard_id else []
        for alias in (key, object_type.name, object_type.fully_qualified_name, *singular):
            self.aliases[alias.lower()] = key

    def unregister(self, object_type: ObjectType) -> None:
        key = object_type.object_type_id
        self.types.pop(key, None)
        for alias in [a for a, k in self.aliases.items() if k == key]:
            del self.aliases[alias]

    def new_type(self, name: str, **schema: Any) -> ObjectType:
        now = self.now_iso()
        object_type = ObjectType(
            numeric_id=self.next_type_id,
            name=name,
            portal_id=self.portal_id,
            created_at=now,
            updated_at=now,
            **schema,
        )
        self.next_type_id += 1
        group = f"{name}_information"
        object_type.groups[group] = {
            "name": group,
            "label": f"{schema['labels'].get('singular', name)} information",
            "displayOrder": -1,
            "archived": False,
        }
        for prop in builtin_properties(name, now):
            object_type.add_property(prop)
        return object_type

    # -- records ------------------------------------------------------------------------------

    def clean(
        self, object_type: ObjectType, properties: Any, *, allow_read_only: bool = False
    ) -> dict[str, str | None]:
        """Validated input values (``None`` = clear); raises the combined validation error."""
        if properties is None:
            return {}
        if not isinstance(properties, dict):
            raise validation_error("properties must be an object of property name to value.")
        problems: list[PropertyProblem] = []
        clean: dict[str, str | None] = {}
        for name, raw in properties.items():
            prop = object_type.properties.get(name)
            if prop is None:
                problems.append(
                    PropertyProblem(
                        name, "PROPERTY_DOESNT_EXIST", f'Property "{name}" does not exist'
                    )
                )
                continue
            if name in READ_ONLY and not allow_read_only:
                problems.append(
                    PropertyProblem(
                        name, "READ_ONLY_VALUE",
                        f"{name} is a read only property; its value cannot be set.",
                    )
                )  # fmt: skip
                continue
            value, problem = normalise(prop, raw)
            if problem is not None:
                problems.append(problem)
                continue
            if self.rejections:
                rejected = self.rejections.get((name, "" if raw is None else str(raw)))
                if rejected is None and value is not None:
                    rejected = self.rejections.get((name, value))
                if rejected is not None:
                    problems.append(PropertyProblem(name, "INVALID_VALUE", rejected))
                    continue
            clean[name] = value
        if problems:
            raise invalid_properties(problems)
        return clean

    def check_unique(
        self, object_type: ObjectType, clean: dict[str, str | None], record_id: str | None
    ) -> None:
        for name in object_type.unique:
            value = clean.get(name)
            if value is None:
                continue
            holder = object_type.unique[name].get(value)
            if holder is not None and holder != record_id:
                raise HubSpotError(
                    409,
                    "CONFLICT",
                    f"A {object_type.name} with {name} = {value} already exists. "
                    f"Existing ID: {holder}",
                    context={"id": [holder]},
                )

    def create(self, object_type: ObjectType, clean: dict[str, str | None]) -> Record:
        missing = [n for n in object_type.required_properties if clean.get(n) is None]
        if missing:
            raise invalid_properties(
                [PropertyProblem(n, "REQUIRED_PROPERTY", f"{n} is required.") for n in missing]
            )
        self.check_unique(object_type, clean, None)
        now = self.now_ms()
        record_id = str(self.next_record_id)
        self.next_record_id += 1
        props = {k: v for k, v in clean.items() if v is not None}
        record = Record(record_id, props, now, now)
        if self.search_lag_ms:
            record.shadow = NOT_INDEXED
        object_type.insert(record)
        return record

    def update(self, object_type: ObjectType, record: Record, clean: dict[str, str | None]) -> bool:
        """Apply values; bumps ``updatedAt`` only when a value actually changes."""
        self.check_unique(object_type, clean, record.id)
        if self.search_lag_ms and any(record.props.get(k) != v for k, v in clean.items()):
            self.before_write(record)
        changed = False
        for name, value in clean.items():
            old = record.props.get(name)
            if old == value:
                continue
            changed = True
            index = object_type.unique.get(name)
            if index is not None:
                if old is not None and index.get(old) == record.id:
                    del index[old]
                if value is not None:
                    index[value] = record.id
            if value is None:
                record.props.pop(name, None)
            else:
                record.props[name] = value
        if changed:
            record.updated = max(self.now_ms(), record.updated)
            object_type.version += 1
        return changed

    def archive(self, object_type: ObjectType, record: Record) -> None:
        if record.archived:
            return
        if self.search_lag_ms:
            self.before_write(record)
        record.archived = True
        record.archived_at = self.now_ms()
        object_type.version += 1
        for name, index in object_type.unique.items():
            value = record.props.get(name)
            if value is not None and index.get(value) == record.id:
                del index[value]

    def before_write(self, record: Record) -> None:
        """Keep the indexed version for search unless an earlier write is still pending."""
        if record.shadow is None or self.now_ms() - record.last_write >= self.search_lag_ms:
            record.shadow = record.snapshot()

    def search_view(self, record: Record, now_ms: int) -> Record | None:
        """The version of ``record`` search sees now (``None``: not indexed yet)."""
        if record.shadow is None or now_ms - record.last_write >= self.search_lag_ms:
            return record
        return None if record.shadow is NOT_INDEXED else record.shadow

    def find(
        self,
        object_type: ObjectType,
        key: str,
        id_property: str | None,
        *,
        archived: bool = False,
        follow_merges: bool = False,
    ) -> Record | None:
        """The record ``key`` names; with ``follow_merges`` (reads), a merged-away id names
        the record its merge made (:mod:`sandbox.hubspot.merges`)."""
        if id_property and id_property != "hs_object_id":
            prop = object_type.properties.get(id_property)
            if prop is None or not prop.has_unique_value:
                raise non_unique_id_property(object_type, id_property, self.portal_id)
            record = object_type.find_unique(id_property, key)
        else:
            record = object_type.records.get(key)
            seen = 0
            while (
                follow_merges
                and not archived
                and record is not None
                and record.id in object_type.merged_into
                and seen < 100
            ):
                record = object_type.records.get(object_type.merged_into[record.id])
                seen += 1
        if record is None or record.archived != archived:
            return None
        return record


def non_unique_id_property(object_type: ObjectType, name: str, portal_id: int) -> HubSpotError:
    """HubSpot's answer to ``idProperty`` naming a property without ``hasUniqueValue``."""
    return validation_error(
        f"Unable to perform update/upsert by non-unique {object_type.object_type_id} property "
        f"{name} in portal ID {portal_id}"
    )


def valid_name(name: Any) -> bool:
    return isinstance(name, str) and bool(_NAME.match(name)) and len(name) <= 100

"""The emulator's state: custom-object schemas, their properties and records, unique indexes.

Not thread-safe by itself: :class:`sandbox.hubspot.emulator.HubSpotEmulator` holds one lock
around every call. Unique-value properties are indexed (value → record id), and record ids are
kept sorted, so a batch of 100 upserts or a page of a list never scans every record.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sandbox.hubspot.associations import Associations
from sandbox.hubspot.errors import (
    HubSpotError,
    PropertyProblem,
    invalid_properties,
    validation_error,
)
from sandbox.hubspot.object_types import (  # re-exported: the other modules take them from here
    CONTACT_DEFAULT_PROPERTIES as CONTACT_DEFAULT_PROPERTIES,
)
from sandbox.hubspot.object_types import (
    DEFAULT_PROPERTIES as DEFAULT_PROPERTIES,
)
from sandbox.hubspot.object_types import (
    NOT_INDEXED as NOT_INDEXED,
)
from sandbox.hubspot.object_types import (
    ObjectType as ObjectType,
)
from sandbox.hubspot.object_types import (
    Record as Record,
)
from sandbox.hubspot.standard import standard_types
from sandbox.hubspot.values import READ_ONLY, builtin_properties, iso_ms, normalise

STATE_VERSION = 1
FIRST_RECORD_ID = 30_000_000_001
FIRST_TYPE_ID = 9_000_001


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

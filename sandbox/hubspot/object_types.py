"""An object type of the emulated portal (a custom object, or companies and contacts) and its
records, apart from the :class:`sandbox.hubspot.store.Store` that holds them, so the modules the
store builds on (:mod:`sandbox.hubspot.standard`) need not import the store.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from sandbox.hubspot.values import PropertyDef, iso_ms


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

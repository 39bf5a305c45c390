"""A person merging two companies (or contacts) in HubSpot, as HubSpot does it since the change
"Updated merge functionality for contacts and companies" (developers.hubspot.com/changelog):

- the merge makes a *new* record with a new id; both originals are archived;
- the new record's values are the primary's, with the secondary's where the primary has none
  ("property values from both objects will still be merged onto the new object");
- ``hs_merged_object_ids`` (HubSpot's "Merged [record] IDs" property, read only) lists the ids
  folded into it, those of earlier merges included, ``;``-separated;
- "both of the previous IDs will point to the resulting merged record, so fetching any records
  using the original IDs will return the new merged record with the new ID": reads by id
  (``GET …/{objectId}``, ``POST …/batch/read``) follow the alias (:meth:`Store.find` with
  ``follow_merges``); writes to an old id are refused like any archived record (not documented:
  the strict choice); search and lists never return the archived originals;
- associations move to the new record (the primary's first).
"""

from __future__ import annotations

from sandbox.hubspot.store import ObjectType, Record, Store

MERGED_IDS = "hs_merged_object_ids"


def merge(store: Store, object_type: ObjectType, primary_id: str, merged_id: str) -> Record:
    """Merge ``merged_id`` into ``primary_id``; returns the record the merge made."""
    primary = object_type.records.get(str(primary_id))
    secondary = object_type.records.get(str(merged_id))
    if primary is None or secondary is None or primary.archived or secondary.archived:
        raise KeyError(f"no live {object_type.name} records {primary_id} and {merged_id}")
    if primary.id == secondary.id:
        raise ValueError("a record cannot be merged with itself")
    folded = [primary.id, secondary.id]
    for record in (primary, secondary):
        folded += [i for i in (record.props.get(MERGED_IDS) or "").split(";") if i]
    values = {**secondary.props, **primary.props}
    values.pop(MERGED_IDS, None)
    store.archive(object_type, primary)
    store.archive(object_type, secondary)
    result = store.create(object_type, dict(values))
    result.props[MERGED_IDS] = ";".join(sorted(set(folded), key=int))
    for old in (primary.id, secondary.id):
        object_type.merged_into[old] = result.id
    _move_associations(store, object_type.object_type_id, [primary.id, secondary.id], result.id)
    object_type.version += 1
    return result


def _move_associations(store: Store, type_id: str, old_ids: list[str], new_id: str) -> None:
    associations = store.associations
    for old in old_ids:
        for (a, a_id, b), targets in list(associations.edges.items()):
            if a != type_id or a_id != old:
                continue
            specs = {t["typeId"]: t for t in associations.types.get((a, b), [])}
            for other, type_ids in list(targets.items()):
                for used in sorted(type_ids):
                    if used in specs:
                        associations.add(a, new_id, b, other, specs[used])
                associations.remove(a, old, b, other)

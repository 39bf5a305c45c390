"""Associations between records: definitions (types, labels) and the pairs, with HubSpot's
batch routes, on the templates of :class:`sandbox.hubspot.routes.HubSpotRoutes`.

Shapes from HubSpot's spec collection (``CRM/Associations/Rollouts/130902/{2026-03,2026-09}``,
``CRM/Associations Schema``, ``CRM/Schemas``; v4 in the numbered family):

- ``POST …/{from}/{to}/batch/create`` — ``{"inputs": [{"from": {"id"}, "to": {"id"}, "types":
  [{"associationCategory", "associationTypeId"}]}]}`` → ``BatchResponseLabelsBetweenObjectPair``
  (results ``{fromObjectTypeId, fromObjectId, toObjectTypeId, toObjectId, labels}``).
- ``POST …/batch/archive`` — ``{"inputs": [{"from": {"id"}, "to": [{"id"}]}]}`` →
  ``BatchResponseVoid``; removes every type between the two records (both directions).
- ``POST …/batch/read`` — ``{"inputs": [{"id", "after"?}]}`` →
  ``BatchResponsePublicAssociationMultiWithLabel`` (``{from: {id}, to: [{toObjectId,
  associationTypes: [{category, typeId, label}]}], paging?}``; ``paging`` only when more).
- ``GET …/{from}/{to}/labels`` — ``{"results": [{category, typeId, label}]}``.
- ``POST /crm-object-schemas/{V}/schemas/{objectType}/associations`` — ``AssociationDefinitionEgg``
  ``{fromObjectTypeId, toObjectTypeId, name?}`` → 201 ``AssociationDefinition`` (``id`` = the
  forward type id); a schema created with ``associatedObjects`` gets the same definitions.

Limits: batch read takes at most 1,000 inputs (HubSpot changelog "Bug Fix: Batch Read Limit for
HubSpot Associations API", Feb 2025); batch create and archive at most 2,000 (the limit
integrators document for v4 batch create, e.g. Workato's HubSpot connector — unconfirmed in
HubSpot's own reference, so the client sends ≤ 1,000); a record holds at most
``max_per_record`` associations to one object type (HubSpot's per-record limits vary by pair
and tier; the default here, 10,000, is a stand-in, switchable by tests). Strictness: an unknown
or archived record id is a per-input error (207), an association type not defined between the
pair or the same pair twice in one batch refuses the whole batch (400); re-creating an existing
association is accepted and changes nothing (HubSpot's associations are idempotent); a record
with no associations is reported in batch/read's ``errors`` with ``NO_ASSOCIATIONS_FOUND``.
Associations never bump ``hs_lastmodifieddate`` of either record here (HubSpot does not
promise it does; the tool must not rely on it).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from aiohttp import web

from sandbox.hubspot.batch import batch_response
from sandbox.hubspot.errors import HubSpotError, correlation_id, validation_error

if TYPE_CHECKING:
    from sandbox.hubspot.emulator import HubSpotEmulator
    from sandbox.hubspot.routes import HubSpotRoutes
    from sandbox.hubspot.store import ObjectType

MAX_CREATE = 2_000
MAX_ARCHIVE = 2_000
MAX_READ = 1_000
READ_PAGE = 500
FIRST_USER_TYPE_ID = 1_001
# HubSpot-defined unlabelled types between contacts (0-1) and companies (0-2).
HUBSPOT_DEFINED = (("0-1", "0-2", 279, 280),)
OBJECT_NAMES = {"COMPANY": "0-2", "CONTACT": "0-1"}

Key = tuple[str, str, str]  # (from type id, from record id, to type id)


class Associations:
    """Association types per object pair and the associated record pairs (both directions)."""

    def __init__(self) -> None:
        self.max_per_record = 10_000
        self.clear()

    def clear(self) -> None:
        self.types: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self.edges: dict[Key, dict[str, set[int]]] = {}
        self.next_type_id = FIRST_USER_TYPE_ID
        for a, b, forward, inverse in HUBSPOT_DEFINED:
            self._add_type(a, b, forward, inverse, "HUBSPOT_DEFINED", None)

    def _add_type(
        self, a: str, b: str, forward: int, inverse: int, category: str, label: str | None
    ) -> None:
        self.types.setdefault((a, b), []).append(
            {"typeId": forward, "inverse": inverse, "category": category, "label": label}
        )
        self.types.setdefault((b, a), []).append(
            {"typeId": inverse, "inverse": forward, "category": category, "label": label}
        )

    def define(self, a: str, b: str, label: str | None = None) -> int:
        """A new USER_DEFINED type between ``a`` and ``b``; returns the ``a → b`` type id."""
        forward, inverse = self.next_type_id, self.next_type_id + 1
        self.next_type_id += 2
        self._add_type(a, b, forward, inverse, "USER_DEFINED", label)
        return forward

    def labels(self, a: str, b: str) -> list[dict[str, Any]]:
        return [
            {"category": t["category"], "typeId": t["typeId"], "label": t["label"]}
            for t in self.types.get((a, b), [])
        ]

    def find_type(self, a: str, b: str, type_id: int, category: str) -> dict[str, Any] | None:
        for spec in self.types.get((a, b), []):
            if spec["typeId"] == type_id and spec["category"] == category:
                return spec
        return None

    def count(self, a: str, record_id: str, b: str) -> int:
        return len(self.edges.get((a, record_id, b), {}))

    def add(self, a: str, a_id: str, b: str, b_id: str, spec: dict[str, Any]) -> None:
        self.edges.setdefault((a, a_id, b), {}).setdefault(b_id, set()).add(spec["typeId"])
        self.edges.setdefault((b, b_id, a), {}).setdefault(a_id, set()).add(spec["inverse"])

    def remove(self, a: str, a_id: str, b: str, b_id: str) -> None:
        for key, other in (((a, a_id, b), b_id), ((b, b_id, a), a_id)):
            targets = self.edges.get(key)
            if targets is not None:
                targets.pop(other, None)
                if not targets:
                    del self.edges[key]

    def read(self, a: str, a_id: str, b: str) -> dict[str, set[int]]:
        return self.edges.get((a, a_id, b), {})

    def label_of(self, a: str, b: str, type_id: int) -> dict[str, Any]:
        for spec in self.types.get((a, b), []):
            if spec["typeId"] == type_id:
                return {"category": spec["category"], "typeId": type_id, "label": spec["label"]}
        return {"category": "USER_DEFINED", "typeId": type_id, "label": None}

    def to_state(self) -> list[Any]:
        types = [[a, b, t] for (a, b), specs in self.types.items() for t in specs]
        edges = [
            [a, i, b, {k: sorted(v) for k, v in t.items()}] for (a, i, b), t in self.edges.items()
        ]
        return [{"next": self.next_type_id, "types": types, "edges": edges}]

    def load(self, state: list[Any]) -> None:
        self.clear()
        if not state:
            return
        saved = state[0]
        self.next_type_id = int(saved["next"])
        self.types = {}
        for a, b, spec in saved["types"]:
            self.types.setdefault((a, b), []).append(spec)
        self.edges = {(a, i, b): {k: set(v) for k, v in t.items()} for a, i, b, t in saved["edges"]}


def define_for_schema(emu: HubSpotEmulator, object_type: ObjectType, to_type: ObjectType) -> dict:
    """An ``AssociationDefinition`` from ``object_type`` to ``to_type`` (schema associations)."""
    store = emu.store
    type_id = store.associations.define(object_type.object_type_id, to_type.object_type_id)
    now = store.now_iso()
    definition = {
        "id": str(type_id),
        "fromObjectTypeId": object_type.object_type_id,
        "toObjectTypeId": to_type.object_type_id,
        "name": f"{object_type.name}_to_{to_type.name}",
        "createdAt": now,
        "updatedAt": now,
    }
    object_type.association_defs.append(definition)
    return definition


def resolve_associated(emu: HubSpotEmulator, names: Iterable[Any]) -> list[ObjectType]:
    """``associatedObjects`` entries (``COMPANY``, ``CONTACT``, an objectTypeId or name)."""
    out = []
    for name in names:
        key = OBJECT_NAMES.get(str(name).upper(), str(name))
        out.append(emu.store.resolve(key))
    return out


def _inputs(body: Any, limit: int) -> list[dict[str, Any]]:
    inputs = body.get("inputs") if isinstance(body, dict) else None
    if not isinstance(inputs, list) or not inputs:
        raise validation_error("inputs must be a non-empty list.")
    if len(inputs) > limit:
        raise validation_error(f"Too many inputs: {len(inputs)}; the limit is {limit}.")
    if not all(isinstance(i, dict) for i in inputs):
        raise validation_error("Each input must be an object.")
    return inputs


def _id(value: Any) -> str:
    if not isinstance(value, dict) or not str(value.get("id") or "").strip():
        raise validation_error("Each input needs from.id and to.id.")
    return str(value["id"])


def _error(message: str, ids: list[str], category: str = "OBJECT_NOT_FOUND", sub: str = "") -> dict:
    error: dict[str, Any] = {
        "status": "error",
        "category": category,
        "message": message,
        "context": {"ids": ids},
        "errors": [],
        "links": {},
        "id": correlation_id(),
    }
    if sub:
        error["subCategory"] = sub
    return error


def routes(emu: HubSpotEmulator, paths: HubSpotRoutes) -> list[web.RouteDef]:
    store = emu.store

    def pair(request: web.Request) -> tuple[ObjectType, ObjectType]:
        return (
            store.resolve(request.match_info["fromObjectType"]),
            store.resolve(request.match_info["toObjectType"]),
        )

    def live(object_type: ObjectType, record_id: str) -> bool:
        record = object_type.records.get(record_id)
        return record is not None and not record.archived

    def answer(results: list[Any], errors: list[dict[str, Any]], started: str) -> web.Response:
        return batch_response(results, errors, started, store.now_iso())

    async def labels(request: web.Request) -> web.Response:
        with emu.lock:
            a, b = pair(request)
            return web.json_response(
                {"results": store.associations.labels(a.object_type_id, b.object_type_id)}
            )

    async def batch_create(request: web.Request) -> web.Response:
        body = await emu.read_json(request)
        inputs = _inputs(body, MAX_CREATE)
        with emu.lock:
            started = store.now_iso()
            a, b = pair(request)
            assoc = store.associations
            parsed = []
            seen: set[tuple[str, str]] = set()
            for item in inputs:
                from_id, to_id = _id(item.get("from")), _id(item.get("to"))
                if (from_id, to_id) in seen:
                    raise validation_error(
                        f"Duplicate association in batch input: {from_id} → {to_id}."
                    )
                seen.add((from_id, to_id))
                specs = []
                for t in item.get("types") or []:
                    try:
                        type_id = int(t.get("associationTypeId"))
                    except (TypeError, ValueError, AttributeError):
                        raise validation_error("associationTypeId must be a number.") from None
                    spec = assoc.find_type(
                        a.object_type_id,
                        b.object_type_id,
                        type_id,
                        str(t.get("associationCategory")),
                    )
                    if spec is None:
                        raise validation_error(
                            f"Association type {t.get('associationCategory')}/{type_id} is not "
                            f"defined from {a.object_type_id} to {b.object_type_id}."
                        )
                    specs.append(spec)
                if not specs:
                    raise validation_error("Each input needs at least one association type.")
                parsed.append((from_id, to_id, specs))
            results, errors = [], []
            for from_id, to_id, specs in parsed:
                missing = [i for i, t in ((from_id, a), (to_id, b)) if not live(t, i)]
                if missing:
                    errors.append(
                        _error(f"No object(s) found with id(s) {', '.join(missing)}.", missing)
                    )
                    continue
                existing = assoc.read(a.object_type_id, from_id, b.object_type_id)
                if to_id not in existing and (
                    len(existing) >= assoc.max_per_record
                    or assoc.count(b.object_type_id, to_id, a.object_type_id)
                    >= assoc.max_per_record
                ):
                    errors.append(
                        _error(
                            f"Association limit of {assoc.max_per_record} reached for "
                            f"{from_id} → {b.name}.",
                            [from_id],
                            "VALIDATION_ERROR",
                            "crm.associations.TOO_MANY_TO_OBJECT_IDS",
                        )
                    )
                    continue
                for spec in specs:
                    assoc.add(a.object_type_id, from_id, b.object_type_id, to_id, spec)
                results.append(
                    {
                        "fromObjectTypeId": a.object_type_id,
                        "fromObjectId": from_id,
                        "toObjectTypeId": b.object_type_id,
                        "toObjectId": to_id,
                        "labels": [s["label"] for s in specs if s["label"]],
                    }
                )
            emu.association_writes += len(results)
            return answer(results, errors, started)

    async def batch_archive(request: web.Request) -> web.Response:
        body = await emu.read_json(request)
        inputs = _inputs(body, MAX_ARCHIVE)
        with emu.lock:
            started = store.now_iso()
            a, b = pair(request)
            errors = []
            for item in inputs:
                from_id = _id(item.get("from"))
                targets = item.get("to")
                if not isinstance(targets, list):
                    raise validation_error("to must be a list of {id}.")
                to_ids = [_id(t) for t in targets]
                if not live(a, from_id):
                    errors.append(_error(f"No object found with id {from_id}.", [from_id]))
                    continue
                for to_id in to_ids:
                    store.associations.remove(a.object_type_id, from_id, b.object_type_id, to_id)
                    emu.association_writes += 1
            return answer([], errors, started)

    async def batch_read(request: web.Request) -> web.Response:
        body = await emu.read_json(request)
        inputs = _inputs(body, MAX_READ)
        with emu.lock:
            started = store.now_iso()
            a, b = pair(request)
            results, errors = [], []
            for item in inputs:
                from_id = str(item.get("id") or "")
                targets = store.associations.read(a.object_type_id, from_id, b.object_type_id)
                if not targets:
                    errors.append(
                        _error(
                            f"No {b.name} is associated with {a.name} {from_id}.",
                            [from_id],
                            sub="crm.associations.NO_ASSOCIATIONS_FOUND",
                        )
                    )
                    continue
                ordered = sorted(targets, key=int)
                start = int(item.get("after") or 0)
                page = ordered[start : start + READ_PAGE]
                result: dict[str, Any] = {
                    "from": {"id": from_id},
                    "to": [
                        {
                            "toObjectId": to_id,
                            "associationTypes": [
                                store.associations.label_of(a.object_type_id, b.object_type_id, t)
                                for t in sorted(targets[to_id])
                            ],
                        }
                        for to_id in page
                    ],
                }
                if start + READ_PAGE < len(ordered):
                    result["paging"] = {"next": {"after": str(start + READ_PAGE)}}
                results.append(result)
            return answer(results, errors, started)

    async def schema_association(request: web.Request) -> web.Response:
        body = await emu.read_json(request)
        if (
            not isinstance(body, dict)
            or not body.get("fromObjectTypeId")
            or not body.get("toObjectTypeId")
        ):
            raise validation_error("fromObjectTypeId and toObjectTypeId are required.")
        with emu.lock:
            object_type = store.resolve(request.match_info["objectType"])
            source = store.resolve(str(body["fromObjectTypeId"]))
            target = store.resolve(str(body["toObjectTypeId"]))
            if source is not object_type:
                raise validation_error("fromObjectTypeId must be the schema's own object type.")
            if any(
                d["toObjectTypeId"] == target.object_type_id for d in object_type.association_defs
            ):
                raise HubSpotError(
                    409,
                    "OBJECT_ALREADY_EXISTS",
                    f"An association definition from {source.object_type_id} to "
                    f"{target.object_type_id} already exists.",
                )
            return web.json_response(define_for_schema(emu, object_type, target), status=201)

    return [
        web.get(paths.association_labels("{fromObjectType}", "{toObjectType}"), labels),
        web.post(
            paths.associations_batch("{fromObjectType}", "{toObjectType}", "create"), batch_create
        ),
        web.post(
            paths.associations_batch("{fromObjectType}", "{toObjectType}", "archive"), batch_archive
        ),
        web.post(
            paths.associations_batch("{fromObjectType}", "{toObjectType}", "read"), batch_read
        ),
        web.post(paths.schema_associations("{objectType}"), schema_association),
    ]

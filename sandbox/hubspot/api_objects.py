"""``…/objects/{objectType}`` of every served version: list, get, create, update, archive,
batches and search.

Version differences: from 2026-09 every create and update checks the portal's required
properties first (:mod:`sandbox.hubspot.required`: a whole-request 400).

Strictness (issue 15): batch ``results`` come back shuffled — HubSpot does not promise input
order — unless ``emu.shuffle_results`` is off; ``emu.echo_id_property`` off drops the
``idProperty`` value from upsert results, leaving ``objectWriteTraceId`` to map them.
batch/create and batch/update validate every input first and refuse the whole batch with a 400
on an invalid value (rudderlabs/rudder-transformer#5147: HubSpot batch writes failing with a
400 are retried one by one; HubSpot/hubspot-api-python#51: a batch create reports one error
for the batch); batch/upsert lists invalid values per input in a 207 (HubSpot/hubspot-api-
ruby#403 quotes such an upsert answer).

Batch answers (HubSpot CRM objects guide; ``hubspot-api-client`` 12 models
``BatchResponseSimplePublicObject``/``...WithErrors``): ``{"status": "COMPLETE", "results",
"startedAt", "completedAt"}`` with 201 (batch/create) or 200; when some inputs fail, 207 with
``errors[]`` and ``numErrors`` — also when every input failed. At most 100 inputs (400 otherwise).
Whole-batch 400s, as HubSpot answers them: the same id twice in one batch ("Duplicate IDs found
in batch input", segmentio/action-destinations#3969 describes HubSpot rejecting such a batch),
and an ``idProperty`` without ``hasUniqueValue`` ("Unable to perform update/upsert by non-unique
... property", quoted in segmentio/action-destinations#3957). Upsert results carry ``new``
(true when the record was created) — the SDK's ``SimplePublicUpsertObject`` requires it.
batch/read groups unknown ids into one ``OBJECT_NOT_FOUND`` error with ``context.ids``.
A 207 whose every input failed has ``"results": []`` (a real upsert answer with a
``VALIDATION_ERROR`` "Property values were not valid" entry is quoted in
HubSpot/hubspot-api-ruby#403; batch/read's 207 for unknown ``idProperty`` values in
HubSpot/hubspot-api-php#619). An update without properties answers 400 "No properties found to
update, please provide at least one." (HubSpot/hubspot-api-ruby#121).

Write answers echo the properties of the input (in their stored form) plus ``hs_object_id``,
``hs_createdate`` and ``hs_lastmodifieddate``. A write that changes nothing does not move
``updatedAt``/``hs_lastmodifieddate``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aiohttp import web

from sandbox.hubspot import search as search_module
from sandbox.hubspot.batch import batch_response
from sandbox.hubspot.errors import HubSpotError, not_found, validation_error
from sandbox.hubspot.required import check_writes
from sandbox.hubspot.routes import HubSpotRoutes, enforces_required_properties
from sandbox.hubspot.store import ObjectType, Record

if TYPE_CHECKING:
    from sandbox.hubspot.emulator import HubSpotEmulator

MAX_BATCH = 100
MAX_LIST_LIMIT = 100
NOT_FOUND_MESSAGE = "Object not found.  objectId are usually numeric."


def _names(request: web.Request) -> list[str] | None:
    names = [n for raw in request.query.getall("properties", []) for n in raw.split(",") if n]
    return names or None


def _known(object_type: ObjectType, names: Any) -> list[str] | None:
    """Requested property names the object has; HubSpot ignores the others (SDK docstrings:
    "If any of the specified properties are not present ... they will be ignored")."""
    if not names or not isinstance(names, list):
        return None
    return [str(n) for n in names if str(n) in object_type.properties] or None


def _flag(request: web.Request, name: str) -> bool:
    return request.query.get(name, "false").lower() == "true"


def _written(
    object_type: ObjectType, record: Record, keys: Any, trace: Any = None
) -> dict[str, Any]:
    names = list(dict.fromkeys([*(keys or []), *object_type.defaults]))
    body = record.to_api(names, object_type.defaults)
    if trace is not None:
        body["objectWriteTraceId"] = str(trace)
    return body


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _inputs(body: Any) -> list[dict[str, Any]]:
    if not isinstance(body, dict) or not isinstance(body.get("inputs"), list):
        raise validation_error("The request body must be an object with an 'inputs' list.")
    inputs = body["inputs"]
    if len(inputs) > MAX_BATCH:
        raise validation_error(
            f"Batch input limit exceeded: {len(inputs)} inputs sent, at most {MAX_BATCH} are "
            "allowed per request."
        )
    if not all(isinstance(i, dict) for i in inputs):
        raise validation_error("Each input must be an object.")
    return inputs


def _reject_duplicates(ids: list[str]) -> None:
    seen: set[str] = set()
    duplicates: list[str] = []
    for value in ids:
        if value in seen and value not in duplicates:
            duplicates.append(value)
        seen.add(value)
    if duplicates:
        raise validation_error(
            f"Duplicate IDs found in batch input: [{', '.join(duplicates)}]. IDs must be unique"
        )


def _context(input_id: Any, trace: Any) -> dict[str, list[str]]:
    context: dict[str, list[str]] = {}
    if input_id is not None:
        context["id"] = [str(input_id)]
    if trace is not None:
        context["objectWriteTraceId"] = [str(trace)]
    return context


def routes(emu: HubSpotEmulator, paths: HubSpotRoutes) -> list[web.RouteDef]:
    store = emu.store
    enforce = enforces_required_properties(paths.version)

    def required(object_type: ObjectType) -> list[str]:
        return emu.required.for_object(object_type) if enforce else []

    def batch_answer(
        results: list[dict[str, Any]], errors: list[dict[str, Any]], started: str, ok: int
    ) -> web.Response:
        if emu.shuffle_results and len(results) > 1:
            results = list(results)
            emu.rng.shuffle(results)
        return batch_response(results, errors, started, store.now_iso(), ok)

    async def list_objects(request: web.Request) -> web.Response:
        try:
            limit = int(request.query.get("limit", "10"))
            after = int(request.query.get("after", "0") or "0")
        except ValueError:
            raise validation_error("limit and after must be whole numbers.") from None
        if not 0 < limit <= MAX_LIST_LIMIT:
            raise validation_error(f"limit {limit} is out of range; use 1 to {MAX_LIST_LIMIT}.")
        archived = _flag(request, "archived")
        names = _names(request)
        with emu.lock:
            object_type = store.resolve(request.match_info["objectType"])
            page: list[Record] = []
            next_after: int | None = None
            for record in object_type.iter_from(after):
                if record.archived != archived:
                    continue
                if len(page) == limit:
                    next_after = int(record.id)
                    break
                page.append(record)
            names = _known(object_type, names)
            results = [r.to_api(names, object_type.defaults) for r in page]
        body: dict[str, Any] = {"results": results}
        if next_after is not None:
            link = f"{request.url.with_query({**request.query, 'after': str(next_after)})}"
            body["paging"] = {"next": {"after": str(next_after), "link": link}}
        return web.json_response(body)

    async def get_object(request: web.Request) -> web.Response:
        with emu.lock:
            object_type = store.resolve(request.match_info["objectType"])
            record = store.find(
                object_type,
                request.match_info["objectId"],
                request.query.get("idProperty"),
                archived=_flag(request, "archived"),
                follow_merges=True,
            )
            if record is None:
                raise not_found(NOT_FOUND_MESSAGE)
            names = _known(object_type, _names(request))
            return web.json_response(record.to_api(names, object_type.defaults))

    async def create_object(request: web.Request) -> web.Response:
        body = await emu.read_json(request)
        with emu.lock:
            object_type = store.resolve(request.match_info["objectType"])
            if not isinstance(body, dict):
                raise validation_error("The request body must be an object with 'properties'.")
            properties = body.get("properties")
            check_writes(required(object_type), object_type, [(None, None, properties)])
            record = store.create(object_type, store.clean(object_type, properties))
            return web.json_response(_written(object_type, record, properties), status=201)

    async def update_object(request: web.Request) -> web.Response:
        body = await emu.read_json(request)
        with emu.lock:
            object_type = store.resolve(request.match_info["objectType"])
            record = store.find(
                object_type, request.match_info["objectId"], request.query.get("idProperty")
            )
            if record is None:
                raise not_found(NOT_FOUND_MESSAGE)
            properties = body.get("properties") if isinstance(body, dict) else None
            if not properties:
                raise validation_error(
                    "No properties found to update, please provide at least one.",
                    context={"properties": ["{}"]},
                )
            check_writes(required(object_type), object_type, [(record.id, record, properties)])
            store.update(object_type, record, store.clean(object_type, properties))
            return web.json_response(_written(object_type, record, properties))

    async def archive_object(request: web.Request) -> web.Response:
        with emu.lock:
            object_type = store.resolve(request.match_info["objectType"])
            record = store.find(
                object_type, request.match_info["objectId"], request.query.get("idProperty")
            )
            if record is not None:
                store.archive(object_type, record)
        return web.Response(status=204)

    async def batch_create(request: web.Request) -> web.Response:
        inputs = _inputs(await emu.read_json(request))
        started = store.now_iso()
        results, errors = [], []
        with emu.lock:
            object_type = store.resolve(request.match_info["objectType"])
            writes = [(None, None, item.get("properties")) for item in inputs]
            check_writes(required(object_type), object_type, writes)
            cleaned = [store.clean(object_type, item.get("properties")) for item in inputs]
            for item, clean in zip(inputs, cleaned, strict=True):
                trace = item.get("objectWriteTraceId")
                try:
                    record = store.create(object_type, clean)
                except HubSpotError as error:
                    errors.append(error.batch_error(_context(None, trace)))
                    continue
                results.append(_written(object_type, record, item.get("properties"), trace))
        return batch_answer(results, errors, started, 201)

    async def batch_update(request: web.Request) -> web.Response:
        inputs = _inputs(await emu.read_json(request))
        started = store.now_iso()
        _reject_duplicates([str(i.get("id")) for i in inputs])
        results, errors = [], []
        with emu.lock:
            object_type = store.resolve(request.match_info["objectType"])
            found = [store.find(object_type, str(i.get("id")), i.get("idProperty")) for i in inputs]
            writes = [
                (str(item.get("id")), record, item.get("properties"))
                for item, record in zip(inputs, found, strict=True)
                if record is not None
            ]
            check_writes(required(object_type), object_type, writes)
            cleaned = [store.clean(object_type, item.get("properties")) for item in inputs]
            for item, record, clean in zip(inputs, found, cleaned, strict=True):
                trace = item.get("objectWriteTraceId")
                key = str(item.get("id"))
                try:
                    if record is None:
                        raise not_found(NOT_FOUND_MESSAGE)
                    store.update(object_type, record, clean)
                except HubSpotError as error:
                    errors.append(error.batch_error(_context(key, trace)))
                    continue
                results.append(_written(object_type, record, item.get("properties"), trace))
        return batch_answer(results, errors, started, 200)

    async def batch_upsert(request: web.Request) -> web.Response:
        inputs = _inputs(await emu.read_json(request))
        started = store.now_iso()
        with emu.lock:
            object_type = store.resolve(request.match_info["objectType"])
            for item in inputs:
                id_property = item.get("idProperty")
                prop = object_type.properties.get(str(id_property))
                if not id_property or prop is None or not prop.has_unique_value:
                    raise validation_error(
                        f"Unable to perform update/upsert by non-unique "
                        f"{object_type.object_type_id} property {id_property} in portal ID "
                        f"{store.portal_id}"
                    )
                if item.get("id") in (None, ""):
                    raise validation_error(
                        "Each upsert input needs an 'id' (the idProperty value)."
                    )
            _reject_duplicates([str(i["id"]) for i in inputs])
            writes = [
                (
                    str(item["id"]),
                    object_type.find_unique(str(item["idProperty"]), str(item["id"])),
                    {**_dict(item.get("properties")), str(item["idProperty"]): str(item["id"])},
                )
                for item in inputs
            ]
            check_writes(required(object_type), object_type, writes)
            results, errors = [], []
            for item in inputs:
                trace = item.get("objectWriteTraceId")
                key, id_property = str(item["id"]), str(item["idProperty"])
                properties = item.get("properties") or {}
                try:
                    if not isinstance(properties, dict):
                        raise validation_error("properties must be an object.")
                    clean = store.clean(object_type, {**properties, id_property: key})
                    stored_key = clean.get(id_property) or key
                    record = object_type.find_unique(id_property, stored_key)
                    created = record is None
                    if record is None:
                        record = store.create(object_type, clean)
                    else:
                        store.update(object_type, record, clean)
                except HubSpotError as error:
                    errors.append(error.batch_error(_context(key, trace)))
                    continue
                written = _written(object_type, record, [*properties, id_property], trace)
                if not emu.echo_id_property:
                    written["properties"].pop(id_property, None)
                written["new"] = created
                results.append(written)
        return batch_answer(results, errors, started, 200)

    async def batch_read(request: web.Request) -> web.Response:
        body = await emu.read_json(request)
        inputs = _inputs(body)
        started = store.now_iso()
        names = body.get("properties") or None
        id_property = body.get("idProperty")
        archived = bool(body.get("archived", False))
        results, missing = [], []
        with emu.lock:
            object_type = store.resolve(request.match_info["objectType"])
            names = _known(object_type, names)
            for item in inputs:
                key = str(item.get("id"))
                record = store.find(
                    object_type, key, id_property, archived=archived, follow_merges=True
                )
                if record is None:
                    missing.append(key)
                    continue
                results.append(record.to_api(names, object_type.defaults))
        errors = []
        if missing:
            errors.append(
                HubSpotError(
                    404,
                    "OBJECT_NOT_FOUND",
                    f"Could not get some {object_type.name} objects, they may be deleted or "
                    "not exist. Check that ids are valid.",
                ).batch_error({"ids": missing})
            )
        return batch_answer(results, errors, started, 200)

    async def batch_archive(request: web.Request) -> web.Response:
        inputs = _inputs(await emu.read_json(request))
        with emu.lock:
            object_type = store.resolve(request.match_info["objectType"])
            for item in inputs:
                record = object_type.records.get(str(item.get("id")))
                if record is not None:
                    store.archive(object_type, record)
        return web.Response(status=204)

    async def search(request: web.Request) -> web.Response:
        body = await emu.read_json(request)
        if not isinstance(body, dict):
            raise validation_error("The search request must be a JSON object.")
        names = body.get("properties") or None
        with emu.lock:
            object_type: ObjectType = store.resolve(request.match_info["objectType"])
            names = _known(object_type, names)
            page, total, next_after = search_module.search(object_type, body, store)
            results = [r.to_api(names, object_type.defaults) for r in page]
        answer: dict[str, Any] = {"total": total, "results": results}
        if next_after is not None:
            answer["paging"] = {"next": {"after": str(next_after)}}
        return web.json_response(answer)

    base = paths.objects("{objectType}")
    return [
        web.get(base, list_objects),
        web.post(base, create_object),
        web.post(base + "/search", search),
        web.post(base + "/batch/create", batch_create),
        web.post(base + "/batch/update", batch_update),
        web.post(base + "/batch/upsert", batch_upsert),
        web.post(base + "/batch/read", batch_read),
        web.post(base + "/batch/archive", batch_archive),
        web.get(base + "/{objectId}", get_object),
        web.patch(base + "/{objectId}", update_object),
        web.delete(base + "/{objectId}", archive_object),
    ]

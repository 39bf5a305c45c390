"""``/_sandbox/`` control routes of the HubSpot emulator, for tests and demos in another process.

- ``GET /_sandbox/records/{objectType}``: every stored record (``{"results": [...]}``).
- ``PATCH /_sandbox/records/{objectType}/{id}`` with ``{"properties": {...}}``: a hand edit.
- ``POST /_sandbox/reject`` with ``{"property", "value", "message"?}``; ``DELETE`` clears all.
- ``GET /_sandbox/limits``; ``POST /_sandbox/limits`` with any ``HubSpotLimits`` fields, or
  ``{"unlimited": true}`` (windows restart).
- ``POST /_sandbox/tokens`` with ``{"token", "scopes"?}``: a Service Key / private-app token
  with only those scopes (a call needing another answers 403 ``MISSING_SCOPES``).
- ``POST /_sandbox/numbered_paths`` with ``{"enabled": bool}``: off, every numbered path
  (``/crm/v3/…``, ``/crm/v4/…``, ``/crm-object-schemas/v3/…``) answers 404.
- ``POST /_sandbox/required`` with ``{"objectType", "properties": [...]}``: a portal rule that
  every create and update (API 2026-09 on) leave those properties set; ``DELETE`` clears all.
- ``POST /_sandbox/batch_answers`` with ``{"shuffle"?: bool, "echo_id_property"?: bool}``: batch
  results in shuffled order (default on) / upsert results echoing the ``idProperty`` value.
- ``POST /_sandbox/search_lag`` with ``{"seconds"}``: writes reach search only that much later.
- ``POST /_sandbox/save`` / ``POST /_sandbox/load`` with ``{"path"}``; ``POST /_sandbox/reset``.
- ``/_sandbox/faults`` and ``/_sandbox/counters`` come from :mod:`sandbox.faults`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aiohttp import web

from sandbox.hubspot.errors import HubSpotError
from sandbox.hubspot.limits import HubSpotLimits

if TYPE_CHECKING:
    from sandbox.hubspot.emulator import HubSpotEmulator


def _bad(message: str) -> web.Response:
    return web.json_response({"error": message}, status=400)


def routes(emu: HubSpotEmulator) -> list[web.RouteDef]:
    async def body_of(request: web.Request) -> dict[str, Any]:
        data = await request.json() if request.can_read_body else {}
        if not isinstance(data, dict):
            raise web.HTTPBadRequest(text="expected a JSON object")
        return data

    async def get_records(request: web.Request) -> web.Response:
        try:
            records = emu.records(request.match_info["objectType"])
        except HubSpotError as error:
            return web.json_response(error.body(), status=404)
        return web.json_response({"results": records})

    async def edit_record(request: web.Request) -> web.Response:
        body = await body_of(request)
        properties = body.get("properties", body)
        try:
            record = emu.edit_by_hand(
                request.match_info["objectType"], request.match_info["recordId"], properties
            )
        except KeyError as exc:
            return web.json_response({"error": str(exc)}, status=404)
        except HubSpotError as error:
            return error.response()
        return web.json_response(record)

    async def post_reject(request: web.Request) -> web.Response:
        body = await body_of(request)
        if "property" not in body or "value" not in body:
            return _bad("send {'property': name, 'value': value, 'message'?: text}")
        emu.reject_value(str(body["property"]), str(body["value"]), body.get("message"))
        return web.json_response(
            {"rejecting": {"property": body["property"], "value": body["value"]}}
        )

    async def delete_reject(_request: web.Request) -> web.Response:
        emu.clear_rejections()
        return web.json_response({"cleared": True})

    async def get_limits(_request: web.Request) -> web.Response:
        return web.json_response(emu.limits.to_dict())

    async def post_limits(request: web.Request) -> web.Response:
        body = await body_of(request)
        try:
            if body.pop("unlimited", False):
                limits = HubSpotLimits.unlimited()
            else:
                limits = HubSpotLimits.from_dict({**emu.limits.to_dict(), **body})
        except (TypeError, ValueError) as exc:
            return _bad(str(exc))
        emu.limits = limits
        return web.json_response(limits.to_dict())

    async def post_search_lag(request: web.Request) -> web.Response:
        body = await body_of(request)
        try:
            emu.search_lag_seconds = float(body["seconds"])
        except (KeyError, TypeError, ValueError):
            return _bad("send {'seconds': number}")
        return web.json_response({"search_lag_seconds": emu.search_lag_seconds})

    async def post_token(request: web.Request) -> web.Response:
        body = await body_of(request)
        if not body.get("token"):
            return _bad("send {'token': value, 'scopes'?: [...]}")
        scopes = body.get("scopes")
        if scopes is None:
            emu.add_token(str(body["token"]))
        else:
            emu.add_token(str(body["token"]), [str(s) for s in scopes])
        return web.json_response({"added": True})

    async def post_numbered_paths(request: web.Request) -> web.Response:
        body = await body_of(request)
        if not isinstance(body.get("enabled"), bool):
            return _bad("send {'enabled': true|false}")
        emu.numbered_paths = body["enabled"]
        return web.json_response({"numbered_paths": emu.numbered_paths})

    async def post_required(request: web.Request) -> web.Response:
        body = await body_of(request)
        properties = body.get("properties")
        if not body.get("objectType") or not isinstance(properties, list):
            return _bad("send {'objectType': name or id, 'properties': [names]}")
        emu.require_properties(str(body["objectType"]), [str(p) for p in properties])
        return web.json_response({"required": emu.required.by_object})

    async def delete_required(_request: web.Request) -> web.Response:
        with emu.lock:
            emu.required.clear()
        return web.json_response({"cleared": True})

    async def post_batch_answers(request: web.Request) -> web.Response:
        body = await body_of(request)
        for key in ("shuffle", "echo_id_property"):
            if key in body and not isinstance(body[key], bool):
                return _bad(f"{key} must be true or false")
        emu.shuffle_results = body.get("shuffle", emu.shuffle_results)
        emu.echo_id_property = body.get("echo_id_property", emu.echo_id_property)
        return web.json_response(
            {"shuffle": emu.shuffle_results, "echo_id_property": emu.echo_id_property}
        )

    async def post_save(request: web.Request) -> web.Response:
        body = await body_of(request)
        if not body.get("path"):
            return _bad("send {'path': file}")
        emu.save(body["path"])
        return web.json_response({"saved": body["path"]})

    async def post_load(request: web.Request) -> web.Response:
        body = await body_of(request)
        if not body.get("path"):
            return _bad("send {'path': file}")
        emu.load_state(body["path"])
        return web.json_response({"loaded": body["path"]})

    async def post_reset(_request: web.Request) -> web.Response:
        emu.reset()
        return web.json_response({"reset": True})

    return [
        web.get("/_sandbox/records/{objectType}", get_records),
        web.patch("/_sandbox/records/{objectType}/{recordId}", edit_record),
        web.post("/_sandbox/reject", post_reject),
        web.delete("/_sandbox/reject", delete_reject),
        web.get("/_sandbox/limits", get_limits),
        web.post("/_sandbox/limits", post_limits),
        web.post("/_sandbox/tokens", post_token),
        web.post("/_sandbox/search_lag", post_search_lag),
        web.post("/_sandbox/numbered_paths", post_numbered_paths),
        web.post("/_sandbox/required", post_required),
        web.delete("/_sandbox/required", delete_required),
        web.post("/_sandbox/batch_answers", post_batch_answers),
        web.post("/_sandbox/save", post_save),
        web.post("/_sandbox/load", post_load),
        web.post("/_sandbox/reset", post_reset),
    ]

"""HubSpot's answer to a batch call, shared by the object and association routes (its own module
so :mod:`sandbox.hubspot.associations`, which the store builds on, need not import the routes
of :mod:`sandbox.hubspot.api_objects`, which import the store)."""

from __future__ import annotations

from typing import Any

from aiohttp import web


def batch_response(
    results: list[Any], errors: list[dict[str, Any]], started: str, completed: str, ok: int = 200
) -> web.Response:
    """HubSpot's batch answer: ``ok`` when every input went through, else 207 with
    ``numErrors`` and ``errors`` beside the results (objects and associations alike)."""
    body: dict[str, Any] = {
        "status": "COMPLETE",
        "results": results,
        "startedAt": started,
        "completedAt": completed,
    }
    if errors:
        body["numErrors"] = len(errors)
        body["errors"] = errors
        return web.json_response(body, status=207)
    return web.json_response(body, status=ok)

"""The wire side of :class:`reverse_etl.hubspot.client.HubSpot`: the SDK's raw answers read into
``(data, status, headers)``, HubSpot's error bodies, and request bodies passed to the SDK
unchanged. Helpers of that one client; nothing else calls them."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any


def unpack(answer: Any) -> tuple[Any, int, Any]:
    """``(data, status, headers)`` of an SDK answer: the ``*_with_http_info`` tuple, or a raw
    urllib3 response (``_preload_content=False``), read and parsed here — inside the retry
    loop, so a connection dropped mid-body is retried like any other."""
    if isinstance(answer, tuple):
        return answer[0], int(answer[1]), answer[2]
    try:
        raw = answer.data
    finally:
        answer.release_conn()
    return (json.loads(raw) if raw else None), int(answer.status), answer.headers


def headers_of(raw: Any) -> dict[str, str]:
    """Case-insensitive view of the headers as a plain dict with lower-case keys."""
    if not raw:
        return {}
    items = raw.items() if hasattr(raw, "items") else raw
    return {str(k).lower(): str(v) for k, v in items}


class JsonBody(dict):  # type: ignore[type-arg]
    """A request body this client built from JSON types only (str, numbers, bools, None,
    lists, dicts). The SDK's ``sanitize_for_serialization`` walks every value of a body to
    turn its models into dicts — about 0.13 ms per association input, most of the client's CPU
    for 200,000 of them (`python -m benchmarks.suite_associations`) — so such a body is passed
    through unchanged; ``json.dumps`` in the SDK's REST layer then writes the same bytes."""


def passing_json_bodies(sanitize: Callable[[Any], Any]) -> Callable[[Any], Any]:
    def passing(obj: Any) -> Any:
        return obj if isinstance(obj, JsonBody) else sanitize(obj)

    return passing


def json_body(body: Any) -> dict[str, Any]:
    if isinstance(body, bytes):
        body = body.decode("utf-8", "replace")
    if not isinstance(body, str) or not body.strip():
        return {}
    try:
        parsed = json.loads(body)
    except ValueError:
        return {"message": body[:300]}
    return parsed if isinstance(parsed, dict) else {}


def message_of(body: Mapping[str, Any]) -> str:
    return str(body.get("message") or "")

"""The wire side of :class:`reverse_etl.hubspot.client.HubSpot`: the SDK's raw answers read into
``(data, status, headers)`` (:class:`ApiResult`), HubSpot's error bodies, and request bodies
passed to the SDK unchanged. Helpers of that one client; its call groups read its answers.

SDK facts relied on (read from hubspot-api-client 12.0.0): each sub-package
(``hubspot.crm.objects``, ``.schemas``, ``.properties``) has its own ``ApiClient`` and
``ApiException`` (check ``.status``, ``.headers``, ``.body``); ``client.crm.objects.batch_api``
builds a new ``ApiClient`` (and connection pool) on *every* attribute access, so
:class:`~reverse_etl.hubspot.transport.HubSpotTransport` keeps one per family; ``call_api(...,
_preload_content=False)`` returns the raw urllib3 response (non-2xx still raise), with
``response_types_map`` it returns ``(model, status, headers)``, reading model class names from
its own package; a 207 does not raise; ``Client.create(**kw)`` sets every keyword on each
sub-package's ``Configuration`` (``host``, ``retries`` from ``retry``,
``connection_pool_maxsize``, sized here to ``max_in_flight`` so workers do not queue for a
connection). Checked here: with ``retry=False`` the pool gets ``Retry(total=False)`` and a
refused connection surfaces as ``urllib3.exceptions.NewConnectionError``; 401/403/404/5xx come
as the sub-package's
``UnauthorizedException``/``ForbiddenException``/``NotFoundException``/``ServiceException``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ApiResult:
    """One successful SDK call: the deserialised model, the HTTP status and the headers."""

    data: Any
    status: int
    headers: Mapping[str, str]


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

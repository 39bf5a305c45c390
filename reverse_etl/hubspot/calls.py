"""The CRM calls of the invoice work (the custom object, its schema and properties, lists and
searches of any object type), each a :meth:`Transport.request` to a path of the configured API
version (:mod:`reverse_etl.hubspot.paths`). :class:`reverse_etl.hubspot.client.HubSpot` owns the
transport (retries, limits, errors) and hands it to this call group and to
:class:`reverse_etl.hubspot.customer_calls.CustomerCalls`.

Shapes relied on (HubSpot/HubSpot-public-api-spec-collection, ``CRM/Objects``, ``Schemas``,
``Properties`` for 2026-03, 2026-09 and v3): the objects list pages with ``limit`` ≤ 100 and
``paging.next.after``; search takes ``filterGroups``/``sorts``/``limit`` ≤ 200/``after``;
schemas and properties answer ``CollectionResponseObjectSchemaNoPaging`` /
``CollectionResponsePropertyNoPaging`` (read into the SDK's models, which
:mod:`reverse_etl.push.schema` uses).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from reverse_etl.hubspot.answers import UpsertAnswer, parse_upsert_answer
from reverse_etl.hubspot.wire import ApiResult

if TYPE_CHECKING:
    from reverse_etl.core.settings import HubSpotSettings
    from reverse_etl.hubspot.paths import HubSpotPaths

LIST_LIMIT = 100  # HubSpot's maximum page size for the objects list


class Transport(Protocol):
    """What a call group needs of the client: one request to a path of the configured version
    (:meth:`reverse_etl.hubspot.client.HubSpot.request`), the paths and the settings."""

    settings: HubSpotSettings
    paths: HubSpotPaths

    def request(
        self,
        method: str,
        path: str,
        *,
        scope: str,
        query: Sequence[tuple[str, Any]] | None = None,
        body: Any = None,
        search: bool = False,
        model: tuple[str, str] | None = None,
        what: str | None = None,
        before_resend: Callable[[Any], Any | None] | None = None,
    ) -> ApiResult: ...


class CrmCalls:
    """The typed calls, each one :meth:`Transport.request`."""

    def __init__(self, transport: Transport) -> None:
        self._transport = transport

    def list_schemas(self) -> list[Any]:
        result = self._transport.request(
            "GET",
            self._transport.paths.schemas(),
            scope="crm.schemas.custom.read",
            model=("schemas", "CollectionResponseObjectSchemaNoPaging"),
        )
        return list(result.data.results or []) if result.data is not None else []

    def list_page(
        self,
        object_type: str,
        properties: Sequence[str],
        *,
        after: str | None,
        archived: bool,
        scope: str = "crm.objects.custom.read",
    ) -> dict[str, Any]:
        """One page of the objects list (``limit`` ≤ 100, cursor ``paging.next.after``), as
        HubSpot's raw JSON (read with ``json.loads`` rather than the SDK's models, as
        :meth:`batch_upsert` is)."""
        query: list[tuple[str, Any]] = [("limit", LIST_LIMIT)]
        if after:
            query.append(("after", after))
        if properties:
            query.append(("properties", ",".join(properties)))
        query.append(("archived", "true" if archived else "false"))
        result = self._transport.request(
            "GET", self._transport.paths.objects(object_type), query=query, scope=scope
        )
        return result.data if isinstance(result.data, dict) else {}

    def search_page(
        self, object_type: str, body: dict[str, Any], scope: str = "crm.objects.custom.read"
    ) -> dict[str, Any]:
        """One page of a CRM search, as HubSpot's raw JSON."""
        result = self._transport.request(
            "POST",
            self._transport.paths.search(object_type),
            body=body,
            scope=scope,
            search=True,
        )
        return result.data if isinstance(result.data, dict) else {}

    def create_schema(self, body: dict[str, Any]) -> Any:
        return self._transport.request(
            "POST",
            self._transport.paths.schemas(),
            body=body,
            scope="crm.schemas.custom.write",
            model=("schemas", "ObjectSchema"),
            what="create the custom object",
        ).data

    def list_properties(self, object_type: str) -> list[Any]:
        result = self._transport.request(
            "GET",
            self._transport.paths.properties(object_type),
            scope="crm.schemas.custom.read",
            model=("properties", "CollectionResponsePropertyNoPaging"),
        )
        return list(result.data.results or []) if result.data is not None else []

    def create_property(self, object_type: str, body: dict[str, Any]) -> Any:
        return self._transport.request(
            "POST",
            self._transport.paths.properties(object_type),
            body=body,
            scope="crm.schemas.custom.write",
            model=("properties", "ModelProperty"),
            what=str(body.get("name")),
        ).data

    def update_property(self, object_type: str, name: str, body: dict[str, Any]) -> Any:
        return self._transport.request(
            "PATCH",
            self._transport.paths.property(object_type, name),
            body=body,
            scope="crm.schemas.custom.write",
            model=("properties", "ModelProperty"),
        ).data

    def batch_upsert(self, object_type: str, inputs: list[dict[str, Any]]) -> UpsertAnswer:
        """``POST …/batch/upsert``: 200 all written, 207 some not.

        Each input carries ``objectWriteTraceId`` (its ``id`` unless the caller set one):
        HubSpot echoes it on the input's result (``SimplePublicUpsertObject.objectWriteTraceId``
        in the 2026-03/2026-09 specs) and does not promise results in input order, so a result
        that does not echo the ``idProperty`` value is matched back through it.

        Read with ``json.loads``: the SDK's model deserialisation costs ~33 ms of CPU per
        100-result answer against ~1 ms (measured here), which on the push's hot path would use
        more CPU than the rate limit leaves time for. Requests, auth and error classes stay the
        SDK's."""
        traced = [{"objectWriteTraceId": str(item.get("id")), **item} for item in inputs]
        result = self._transport.request(
            "POST",
            self._transport.paths.batch(object_type, "upsert"),
            body={"inputs": traced},
            scope="crm.objects.custom.write",
        )
        by_trace = {t["objectWriteTraceId"]: t for t in traced}
        return parse_upsert_answer(
            result.status, result.data, by_trace, self._transport.settings.object_name
        )

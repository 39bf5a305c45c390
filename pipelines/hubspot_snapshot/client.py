"""Read-only HubSpot CRM reads for the snapshot: schema lookup, list, windowed search.

Transport — the SDK, limits, retries, waits and errors — is
:class:`reverse_etl.hubspot.client.HubSpot`, the tool's one HubSpot client, which sends every
call to the paths of ``HUBSPOT_API_VERSION``
(:mod:`reverse_etl.hubspot.paths`): this module keeps only the snapshot's endpoint logic
(paging and search windowing). HubSpot behaviour relied on (CRM objects / search / usage
guidelines; the same in v3, 2026-03 and 2026-09 per HubSpot's spec collection; see
``/work/shared/API_FACTS.md``):

- ``GET /crm-object-schemas/{version}/schemas`` lists custom objects (``name``,
  ``objectTypeId``, ``fullyQualifiedName``; scope ``crm.schemas.custom.read``); the objects
  API accepts the ``objectTypeId``. Reading records needs ``crm.objects.custom.read``.
- ``GET /crm/objects/{version}/{type}?limit<=100&after=&properties=`` pages with
  ``paging.next.after``.
- ``POST /crm/objects/{version}/{type}/search``: ``limit`` <= 200, one sort, at most 10,000
  results per query (paging past that answers 400); results can lag writes. Its own ~5
  requests/s limit is kept by :func:`reverse_etl.hubspot.limiter.shared_search_limiter`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

from reverse_etl.core.settings import HubSpotSettings
from reverse_etl.hubspot.client import HubSpot

log = logging.getLogger(__name__)

SEARCH_LIMIT = 200
SEARCH_MAX_RESULTS = 10_000


class SearchWindowStuck(Exception):
    """More than ``max_results`` records share one ``hs_lastmodifieddate``: windowing by that
    property cannot make progress (the caller falls back to a full list)."""


def parse_hubspot_time(value: object) -> datetime | None:
    """HubSpot datetimes: ISO 8601 (``2024-06-03T09:00:00.123Z``) or epoch milliseconds."""
    if value is None or value == "":
        return None
    text = str(value)
    if text.lstrip("-").isdigit():
        return datetime.fromtimestamp(int(text) / 1000, UTC)
    parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def server_time(headers: Mapping[str, str]) -> datetime | None:
    """HubSpot's clock from an answer's ``Date`` header (``None`` when absent or unreadable)."""
    value = next((v for k, v in headers.items() if k.lower() == "date"), None)
    if not value:
        return None
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def epoch_ms(moment: datetime) -> str:
    return str(int(moment.timestamp() * 1000))


class HubSpotReader:
    """The snapshot's reads over one :class:`~reverse_etl.hubspot.client.HubSpot` (``hub``: injected
    by tests with their own clock, sleep and limiters; by default a client sharing the
    process-wide limiters, so a snapshot and a push in one process share HubSpot's budget)."""

    def __init__(
        self,
        settings: HubSpotSettings,
        *,
        hub: HubSpot | None = None,
        search_limit: int = SEARCH_LIMIT,
        max_results: int = SEARCH_MAX_RESULTS,
    ) -> None:
        self.settings = settings
        self.hub = hub or HubSpot(settings)
        self._search_limit = search_limit
        self._max_results = max_results

    @property
    def calls(self) -> int:
        """HubSpot requests sent by this reader's client, retries included."""
        return self.hub.calls

    def object_type_id(self, name: str) -> str | None:
        """The custom object's ``objectTypeId``, or ``None`` when no schema has that name yet."""
        for schema in self.hub.list_schemas():
            if name in (schema.name, schema.fully_qualified_name):
                return str(schema.object_type_id)
        return None

    def list_records(
        self,
        object_type: str,
        properties: Sequence[str],
        *,
        archived: bool = False,
        scope: str = "crm.objects.custom.read",
    ) -> Iterator[list[dict]]:
        """Every record (``archived``: the archived ones instead), page by page; the list
        endpoint has no 10,000-result ceiling."""
        after: str | None = None
        while True:
            body = self.hub.list_page(
                object_type, properties, after=after, archived=archived, scope=scope
            )
            yield list(body.get("results", []))
            after = next_after(body)
            if not after:
                return

    def newest_page(
        self,
        object_type: str,
        properties: Sequence[str],
        modified: str,
        filter_groups: Sequence[dict[str, Any]],
        after: str | None = None,
        scope: str = "crm.objects.custom.read",
    ) -> tuple[dict[str, Any], datetime | None]:
        """One page of the records matching ``filter_groups`` (none: every live record), most
        recently modified first, as HubSpot's raw answer (``results``, ``total``,
        ``paging.next.after``), with HubSpot's clock when it answered (its ``Date`` header).

        HubSpot's search guide (developers.hubspot.com/docs/api-reference/2026-03/crm/
        search-the-crm, "Sort search results" and "Limitations"): one sort, ``DESCENDING``
        allowed; ``total`` is the number of records matching the query (required in HubSpot's
        ``CollectionResponseWithTotalSimplePublicObject``, HubSpot-public-api-spec-collection,
        CRM/Objects 2026-09), and search never returns archived records, so with no filter
        ``total`` is the live record count. ``Date``: RFC 9110 §6.6.1, sent by any origin server
        with a clock (second resolution)."""
        body: dict[str, Any] = {
            "filterGroups": list(filter_groups),
            "sorts": [{"propertyName": modified, "direction": "DESCENDING"}],
            "properties": list(properties),
            "limit": self._search_limit,
        }
        if after:
            body["after"] = after
        result = self.hub.request(
            "POST", self.hub.paths.search(object_type), body=body, scope=scope, search=True
        )
        data = result.data if isinstance(result.data, dict) else {}
        return data, server_time(result.headers)

    def count(
        self,
        object_type: str,
        modified: str,
        filter_groups: Sequence[dict[str, Any]],
        scope: str = "crm.objects.custom.read",
    ) -> int:
        """How many live records match ``filter_groups``: the ``total`` of a one-result search."""
        body = {"filterGroups": list(filter_groups), "properties": [modified], "limit": 1}
        return int(self.hub.search_page(object_type, body, scope).get("total") or 0)

    @property
    def search_limit(self) -> int:
        return self._search_limit

    @property
    def max_results(self) -> int:
        return self._max_results

    def search_modified_since(
        self,
        object_type: str,
        properties: Sequence[str],
        since: datetime,
        scope: str = "crm.objects.custom.read",
    ) -> Iterator[list[dict]]:
        """Records with ``hs_lastmodifieddate >= since``, oldest change first.

        A query stops at ``max_results``; before reaching it we start a new query from the last
        ``hs_lastmodifieddate`` seen (inclusive, so records sharing that instant are read again
        and de-duplicated by the caller), so the ceiling never truncates the read.
        """
        window = since
        modified = modified_property(object_type)
        while True:
            after: str | None = None
            in_window = 0
            last: datetime | None = None
            while True:
                body = self.hub.search_page(
                    object_type,
                    _search_body(window, properties, self._search_limit, after, modified),
                    scope,
                )
                results = list(body.get("results", []))
                yield results
                in_window += len(results)
                if results:
                    last = modified_at(results[-1], modified) or last
                after = next_after(body)
                if not after:
                    return
                if in_window + self._search_limit > self._max_results:
                    break
            if last is None or last <= window:
                raise SearchWindowStuck(epoch_ms(window))
            log.info("HubSpot search reached %d results; new window from %s", in_window, last)
            window = last


def modified_property(object_type: str) -> str:
    """The last-modified property search filters and sorts on: ``lastmodifieddate`` for
    contacts, ``hs_lastmodifieddate`` for every other object (HubSpot's CRM search guide,
    developers.hubspot.com/docs/api-reference/search/guide, "Default returned properties":
    contacts ``…, lastmodifieddate, …``; companies, deals, custom objects
    ``hs_lastmodifieddate``)."""
    return (
        "lastmodifieddate"
        if object_type in ("contacts", "contact", "0-1")
        else ("hs_lastmodifieddate")
    )


def modified_at(record: dict[str, Any], modified: str = "hs_lastmodifieddate") -> datetime | None:
    props = record.get("properties") or {}
    return parse_hubspot_time(props.get(modified) or record.get("updatedAt"))


def _search_body(
    since: datetime,
    properties: Sequence[str],
    limit: int,
    after: str | None,
    modified: str = "hs_lastmodifieddate",
) -> dict[str, Any]:
    """``<modified> >= since``, oldest change first (ties broken by id)."""
    since_filter = {"propertyName": modified, "operator": "GTE"}
    body: dict[str, Any] = {
        "filterGroups": [{"filters": [{**since_filter, "value": epoch_ms(since)}]}],
        "sorts": [{"propertyName": modified, "direction": "ASCENDING"}],
        "properties": list(properties),
        "limit": limit,
    }
    if after:
        body["after"] = after
    return body


def next_after(body: dict[str, Any]) -> str | None:
    after = ((body.get("paging") or {}).get("next") or {}).get("after")
    return str(after) if after else None

"""``POST …/objects/{objectType}/search`` semantics (every served API version).

HubSpot's search guide (developers.hubspot.com, "CRM search", section Limitations, and the
Sept 2024 changelog "Increasing our API limits"): ``filterGroups`` are ORed, the filters inside a
group ANDed; at most 5 groups and 6 filters per group (18 in all); one sort; ``limit`` up to
200; results are capped at 10,000 per query and paging beyond 10,000 answers 400 (also seen in
HubSpot/hubspot-api-nodejs#132 and activepieces/activepieces#10160). ``total`` still reports
the full count, and the page that ends at result 10,000 still carries ``paging.next`` — so a
client that pages blindly hits the 400 instead of silently stopping; windowing by
``hs_lastmodifieddate`` is the way to read more.

Comparisons follow the property's type: numbers numerically, ``date``/``datetime`` (incl.
``hs_createdate``/``hs_lastmodifieddate``) as instants — filter values may be epoch ms or ISO
8601 — and strings case-insensitively for ``EQ``/``NEQ``/``IN``/``NOT_IN``.
``after`` is an offset, returned as an opaque string.
"""

from __future__ import annotations

import fnmatch
import json
import re
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any

from sandbox.hubspot.errors import HubSpotError, validation_error
from sandbox.hubspot.store import ObjectType, Record, Store
from sandbox.hubspot.values import PropertyDef, to_epoch_ms

MAX_GROUPS = 5
MAX_FILTERS_PER_GROUP = 6
MAX_FILTERS = 18
MAX_LIMIT = 200
MAX_RESULTS = 10_000
OPERATORS = frozenset(
    {
        "EQ", "NEQ", "LT", "LTE", "GT", "GTE", "BETWEEN", "IN", "NOT_IN",
        "HAS_PROPERTY", "NOT_HAS_PROPERTY", "CONTAINS_TOKEN", "NOT_CONTAINS_TOKEN",
    }
)  # fmt: skip
_TOKENS = re.compile(r"[\w*?@.\-]+", re.UNICODE)

Predicate = Callable[[Record], bool]


def _key(prop: PropertyDef, raw: Any) -> Any:
    """A comparable form of a value of ``prop`` (stored or from a filter)."""
    if raw is None:
        return None
    text = str(raw)
    if prop.type == "number":
        try:
            return Decimal(text)
        except InvalidOperation:
            raise validation_error(f"{text} is not a valid number for {prop.name}") from None
    if prop.type in ("date", "datetime"):
        ms = to_epoch_ms(text)
        if ms is None:
            raise validation_error(f"{text} is not a valid date or timestamp for {prop.name}")
        return ms
    if prop.type == "bool":
        return text.lower()
    return text.lower()


def _stored_key(prop: PropertyDef, record: Record) -> Any:
    name = prop.name
    if name in ("hs_lastmodifieddate", "lastmodifieddate"):
        return record.updated
    if name in ("hs_createdate", "createdate"):
        return record.created
    if name == "hs_object_id":
        return Decimal(record.id)
    value = record.props.get(name)
    return None if value is None else _key(prop, value)


def _tokens(text: str) -> list[str]:
    return [t.lower() for t in _TOKENS.findall(text)]


def _compile_filter(object_type: ObjectType, spec: Any) -> Predicate:
    if not isinstance(spec, dict):
        raise validation_error("Each filter must be an object with propertyName and operator.")
    name = spec.get("propertyName")
    operator = str(spec.get("operator", "EQ")).upper()
    if operator not in OPERATORS:
        raise validation_error(f"Unknown filter operator {operator!r}.")
    prop = object_type.properties.get(str(name))
    if prop is None:
        raise validation_error(
            f"There was a problem with the request: property {name!r} does not exist on "
            f"{object_type.name}."
        )
    if operator == "HAS_PROPERTY":
        return lambda r: r.value(prop.name) is not None
    if operator == "NOT_HAS_PROPERTY":
        return lambda r: r.value(prop.name) is None
    if operator in ("IN", "NOT_IN"):
        values = spec.get("values")
        if not isinstance(values, list) or not values:
            raise validation_error(f"{operator} needs a non-empty 'values' list.")
        wanted = {_key(prop, v) for v in values}
        if operator == "IN":
            return lambda r: _stored_key(prop, r) in wanted
        return lambda r: _stored_key(prop, r) not in wanted
    if operator in ("CONTAINS_TOKEN", "NOT_CONTAINS_TOKEN"):
        pattern = str(spec.get("value", "")).lower()

        def contains(record: Record) -> bool:
            value = record.value(prop.name)
            if value is None:
                return False
            tokens = _tokens(value)
            if "*" in pattern or "?" in pattern:
                return fnmatch.fnmatchcase(value.lower(), pattern) or any(
                    fnmatch.fnmatchcase(t, pattern) for t in tokens
                )
            return pattern in tokens or pattern == value.lower()

        if operator == "CONTAINS_TOKEN":
            return contains
        return lambda r: not contains(r)
    if "value" not in spec:
        raise validation_error(f"{operator} on {name} needs a 'value'.")
    low = _key(prop, spec.get("value"))
    if operator == "BETWEEN":
        if "highValue" not in spec:
            raise validation_error(f"BETWEEN on {name} needs 'value' and 'highValue'.")
        high = _key(prop, spec.get("highValue"))

        def between(record: Record) -> bool:
            key = _stored_key(prop, record)
            return key is not None and low <= key <= high

        return between
    if operator == "EQ":
        return lambda r: _stored_key(prop, r) == low
    if operator == "NEQ":
        return lambda r: _stored_key(prop, r) != low
    compare = {
        "LT": lambda a, b: a < b,
        "LTE": lambda a, b: a <= b,
        "GT": lambda a, b: a > b,
        "GTE": lambda a, b: a >= b,
    }[operator]

    def ordered(record: Record) -> bool:
        key = _stored_key(prop, record)
        return key is not None and compare(key, low)

    return ordered


def compile_query(object_type: ObjectType, body: dict[str, Any]) -> Predicate:
    groups = body.get("filterGroups") or []
    if not isinstance(groups, list):
        raise validation_error("filterGroups must be a list.")
    if len(groups) > MAX_GROUPS:
        raise validation_error(
            f"There was a problem with the request: too many filterGroups ({len(groups)}); "
            f"the maximum is {MAX_GROUPS}."
        )
    compiled: list[list[Predicate]] = []
    total = 0
    for group in groups:
        filters = (group or {}).get("filters") or []
        if len(filters) > MAX_FILTERS_PER_GROUP:
            raise validation_error(
                f"There was a problem with the request: too many filters in a group "
                f"({len(filters)}); the maximum is {MAX_FILTERS_PER_GROUP}."
            )
        total += len(filters)
        compiled.append([_compile_filter(object_type, f) for f in filters])
    if total > MAX_FILTERS:
        raise validation_error(
            f"There was a problem with the request: too many filters ({total}); "
            f"the maximum is {MAX_FILTERS} in all."
        )
    query = str(body.get("query") or "").strip().lower()
    searchable = [
        n
        for n in [object_type.primary_display_property, *object_type.searchable_properties]
        if n in object_type.properties
    ] or ["hs_object_id"]

    def matches(record: Record) -> bool:
        if record.archived:
            return False
        if compiled and not any(all(p(record) for p in group) for group in compiled):
            return False
        if query:
            return any(query in (record.value(n) or "").lower() for n in searchable)
        return True

    return matches


def sort_key(object_type: ObjectType, body: dict[str, Any]) -> tuple[Callable[[Record], Any], bool]:
    sorts = body.get("sorts") or []
    if not sorts:
        return (lambda r: int(r.id)), False
    if len(sorts) > 1:
        raise validation_error("There was a problem with the request: only one sort is allowed.")
    first = sorts[0]
    if isinstance(first, str):
        descending = first.startswith("-")
        name = first.lstrip("-")
    else:
        name = str(first.get("propertyName"))
        descending = str(first.get("direction", "ASCENDING")).upper() == "DESCENDING"
    prop = object_type.properties.get(name)
    if prop is None:
        raise validation_error(f"Cannot sort by {name!r}: the property does not exist.")

    def key(record: Record) -> Any:
        value = _stored_key(prop, record)
        # records without a value sort last ascending, as HubSpot does; ties by id
        return (value is None, value if value is not None else 0, int(record.id))

    return key, descending


def _matching(object_type: ObjectType, body: dict[str, Any], store: Store) -> list[Record]:
    """Sorted matches; cached until the next write so paging does not rescan every record.

    With ``store.search_lag_ms`` set, each record is seen as it was before writes younger than
    the lag (new records not at all), like HubSpot's asynchronously updated search index.
    """
    if store.search_lag_ms:
        now = store.now_ms()
        matches = compile_query(object_type, body)
        key, descending = sort_key(object_type, body)
        views = (store.search_view(r, now) for r in object_type.records.values())
        lagging = [v for v in views if v is not None and matches(v)]
        lagging.sort(key=key, reverse=descending)
        return lagging
    fingerprint = json.dumps(
        [body.get("filterGroups"), body.get("sorts"), body.get("query")], sort_keys=True
    )
    cached = object_type.search_cache.get(fingerprint)
    if cached is not None and cached[0] == object_type.version:
        return cached[1]
    matches = compile_query(object_type, body)
    key, descending = sort_key(object_type, body)
    found = [r for r in object_type.records.values() if matches(r)]
    found.sort(key=key, reverse=descending)
    if len(object_type.search_cache) >= 16:
        object_type.search_cache.clear()
    object_type.search_cache[fingerprint] = (object_type.version, found)
    return found


def search(
    object_type: ObjectType, body: dict[str, Any], store: Store
) -> tuple[list[Record], int, int | None]:
    """(page of records, total matches, next offset or None)."""
    limit = body.get("limit", 10)
    try:
        limit = int(limit)
    except (TypeError, ValueError):
        raise validation_error(f"limit must be a number, got {limit!r}") from None
    if not 0 < limit <= MAX_LIMIT:
        raise validation_error(
            f"There was a problem with the request: limit {limit} is out of range; "
            f"use 1 to {MAX_LIMIT}."
        )
    after_raw = body.get("after") or "0"
    try:
        after = int(str(after_raw))
    except ValueError:
        raise validation_error(f"Invalid 'after' paging token: {after_raw!r}") from None
    if after >= MAX_RESULTS:
        raise HubSpotError(
            400,
            "VALIDATION_ERROR",
            f"There was a problem with the request. Search results are limited to "
            f"{MAX_RESULTS} per query; 'after' {after} is past that limit. Narrow the query "
            "(for example, by hs_lastmodifieddate) to read further.",
        )
    found = _matching(object_type, body, store)
    end = min(after + limit, MAX_RESULTS)
    page = found[after:end]
    next_after = end if end < len(found) else None
    return page, len(found), next_after

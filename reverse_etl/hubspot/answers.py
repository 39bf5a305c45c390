"""What HubSpot's answers mean, as plain values and one-line messages a user can act on.

- The batch-upsert answer that :meth:`reverse_etl.hubspot.client.HubSpot.batch_upsert` returns
  and the push reads (``POST …/batch/upsert``: ``results[]`` of ``SimplePublicUpsertObject``,
  and on a 207 ``errors[]`` of ``StandardError`` — same shapes in the v3, 2026-03 and 2026-09
  specs of ``HubSpot/HubSpot-public-api-spec-collection``).
- 401/403: which credential (a Service Key, or a legacy private app's ``pat-…`` token) and which
  scope. HubSpot's 403 body has ``category: "MISSING_SCOPES"`` and lists the scopes in
  ``errors[].context.requiredGranularScopes`` (or ``requiredScopes``; quoted in
  HubSpot/hubspot-api-nodejs#268); the scope is named by its id as HubSpot's scope picker
  shows it (e.g. ``crm.objects.custom.write``). Service Keys: Development → Keys → Service keys
  (developers.hubspot.com/docs/apps/developer-platform/build-apps/authentication/
  account-service-keys); private apps: Settings → Integrations → Private apps.
- Required properties: from API version 2026-09 HubSpot applies a portal's required-property
  rules to API writes and answers ``400 VALIDATION_ERROR`` naming the property (changelog
  "crm-api-write-validation-enforcement"); :func:`required_property_fix` turns that into the
  fix (make the property optional in HubSpot, or map a value to it).

:func:`parse_upsert_answer` never raises on a malformed body: an entry it cannot read is left
out and described in :attr:`UpsertAnswer.problems`, so the inputs it would have answered end as
rejected records naming the problem (retried next run) instead of a traceback.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class UpsertResult:
    """One written record of a batch-upsert answer (HubSpot's ``SimplePublicUpsertObject``)."""

    id: str
    new: bool
    properties: dict[str, str | None]
    created_at: datetime | None
    updated_at: datetime | None

    @classmethod
    def from_api(cls, item: Mapping[str, Any]) -> UpsertResult:
        props = item.get("properties")
        return cls(
            id=str(item.get("id")),
            new=item.get("new") is True,
            properties={
                str(k): None if v is None else str(v)
                for k, v in (props.items() if isinstance(props, Mapping) else ())
            },
            created_at=_timestamp(item.get("createdAt")),
            updated_at=_timestamp(item.get("updatedAt")),
        )


@dataclass(frozen=True)
class BatchError:
    """One ``errors[]`` entry of a 207 answer (HubSpot's ``StandardError``)."""

    category: str
    message: str
    context: dict[str, list[str]]

    @classmethod
    def from_api(cls, item: Mapping[str, Any], object_name: str | None = None) -> BatchError:
        context = item.get("context")
        if not isinstance(context, Mapping):
            context = {}
        fix = required_property_fix(item, object_name) if object_name else None
        return cls(
            category=str(item.get("category") or "ERROR"),
            message=fix or str(item.get("message") or ""),
            context={
                str(k): [str(x) for x in (v if isinstance(v, list) else [v])]
                for k, v in context.items()
            },
        )


@dataclass(frozen=True)
class UpsertAnswer:
    status: int
    results: list[UpsertResult]
    errors: list[BatchError]
    problems: tuple[str, ...] = ()


def parse_upsert_answer(
    status: int,
    body: Any,
    inputs_by_trace: Mapping[str, Mapping[str, Any]] | None = None,
    object_name: str | None = None,
) -> UpsertAnswer:
    """The answer's readable results and errors, and what could not be read. A result that
    does not echo its key gets it back through ``inputs_by_trace`` (:func:`restore_key`)."""
    problems: list[str] = []
    if not isinstance(body, Mapping):
        problems.append(f"the {status} body is not a JSON object")
        body = {}
    results = [
        UpsertResult.from_api(restore_key(item, inputs_by_trace or {}))
        for item in _entries(body, "results", problems)
        if _has_id(item, problems)
    ]
    errors = [BatchError.from_api(item, object_name) for item in _entries(body, "errors", problems)]
    return UpsertAnswer(status, results, errors, tuple(problems))


def _entries(body: Mapping[str, Any], key: str, problems: list[str]) -> list[Mapping[str, Any]]:
    value = body.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        problems.append(f"{key} is {type(value).__name__}, not a list")
        return []
    entries = [item for item in value if isinstance(item, Mapping)]
    if len(entries) < len(value):
        problems.append(f"{len(value) - len(entries)} {key} entries are not objects")
    return entries


def _has_id(item: Mapping[str, Any], problems: list[str]) -> bool:
    if item.get("id") in (None, ""):
        problems.append("a result has no id")
        return False
    return True


def _timestamp(value: Any) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None


def restore_key(item: Mapping[str, Any], inputs_by_trace: Mapping[str, Mapping[str, Any]]) -> dict:
    """An upsert result with its input's ``idProperty`` value among its properties: echoed by
    HubSpot normally; otherwise put back from the input its ``objectWriteTraceId`` names."""
    result = dict(item)
    source = inputs_by_trace.get(str(item.get("objectWriteTraceId")))
    if source is None:
        return result
    id_property = str(source.get("idProperty") or "")
    properties = dict(result.get("properties") or {})
    if id_property and properties.get(id_property) in (None, ""):
        properties[id_property] = str(source.get("id"))
        result["properties"] = properties
    return result


# -- error messages ------------------------------------------------------------------------

_SCOPE = re.compile(r"\bcrm\.[a-z_]+\.[a-z_.]+\b")
_REQUIRED = re.compile(r"required", re.IGNORECASE)


def credential_kind(token: str) -> str:
    """What ``HUBSPOT_ACCESS_TOKEN`` holds: legacy private-app tokens start ``pat-``."""
    if token.startswith("pat-"):
        return "the private app token in HUBSPOT_ACCESS_TOKEN"
    return "the Service Key in HUBSPOT_ACCESS_TOKEN"


def where_to_fix(token: str) -> str:
    if token.startswith("pat-"):
        return "Settings → Integrations → Private apps → your app → Scopes"
    return "Development → Keys → Service keys → your key → Scopes"


def unauthorized_message(token: str) -> str:
    return (
        f"HubSpot rejected {credential_kind(token)} (401 Unauthorized): it is wrong, revoked or "
        "rotated. Copy the current key from HubSpot (Development → Keys → Service keys, or a "
        "legacy private app under Settings → Integrations → Private apps) into "
        "HUBSPOT_ACCESS_TOKEN."
    )


def missing_scopes(body: Mapping[str, Any]) -> list[str]:
    """The scopes a ``MISSING_SCOPES`` body names, in its order, without repeats."""
    scopes: list[str] = []
    for error in body.get("errors") or []:
        context = error.get("context") if isinstance(error, dict) else None
        if isinstance(context, dict):
            for key in ("requiredGranularScopes", "requiredScopes", "missingScopes"):
                for value in context.get(key) or []:
                    if str(value) not in scopes:
                        scopes.append(str(value))
    return scopes


def forbidden_message(what: str, body: Mapping[str, Any], scope: str, token: str) -> str:
    """Name the credential and the missing scope (from the body, else the one the call needs)."""
    scopes = missing_scopes(body) or sorted(set(_SCOPE.findall(json.dumps(body)))) or [scope]
    category = str(body.get("category") or "forbidden")
    return (
        f"HubSpot refused {what} (403 {category}): {credential_kind(token)} lacks the scope "
        f"{' / '.join(scopes)}. Add it in HubSpot ({where_to_fix(token)}), then rerun."
    )


def required_properties(body: Mapping[str, Any]) -> list[str]:
    """Property names a validation error says are required (``errors[]`` entries with a
    ``REQUIRED`` code or message and ``context.propertyName``, or the ``name`` of a
    ``Property values were not valid`` entry whose error is a required one)."""
    if str(body.get("category") or "") != "VALIDATION_ERROR":
        return []
    names: list[str] = []
    for error in body.get("errors") or []:
        if not isinstance(error, dict):
            continue
        said = f"{error.get('code', '')} {error.get('message', '')}"
        context = error.get("context") or {}
        if _REQUIRED.search(said) and isinstance(context, dict):
            for name in context.get("propertyName") or []:
                if str(name) not in names:
                    names.append(str(name))
    message = str(body.get("message") or "")
    if not names and message.startswith("Property values were not valid: "):
        try:
            listed = json.loads(message.split(": ", 1)[1])
        except ValueError:
            listed = []
        for entry in listed if isinstance(listed, list) else []:
            if isinstance(entry, dict) and _REQUIRED.search(str(entry.get("error", ""))):
                names.append(str(entry.get("name")))
    return names


def required_property_fix(body: Mapping[str, Any], object_name: str | None) -> str | None:
    """``HubSpot requires property X on <object> …: make it optional … or map a value``, or
    ``None`` when the error is not about required properties."""
    names = required_properties(body)
    if not names:
        return None
    listed = ", ".join(names)
    plural = "properties" if len(names) > 1 else "property"
    return (
        f"HubSpot requires {plural} {listed} on {object_name or 'this object'} and this "
        f"record has no value for it: make {listed} optional in HubSpot (Settings → Objects → "
        f"{object_name or 'the object'} → the property's rules / required fields) or map a "
        "value to it (fill it in Xero or in the dbt model hubspot_invoices_desired)."
    )

"""The batch-upsert answer, as plain values: what :meth:`reverse_etl.hubspot.HubSpot.batch_upsert`
returns and the push reads (HubSpot CRM API v3, ``POST /crm/v3/objects/{objectType}/batch/upsert``:
``results[]`` of ``SimplePublicUpsertObject``, and on a 207 ``errors[]`` of ``StandardError``).

:func:`parse_upsert_answer` never raises on a malformed body: an entry it cannot read is left
out and described in :attr:`UpsertAnswer.problems`, so the inputs it would have answered end as
rejected records naming the problem (retried next run) instead of a traceback."""

from __future__ import annotations

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
    def from_api(cls, item: Mapping[str, Any]) -> BatchError:
        context = item.get("context")
        if not isinstance(context, Mapping):
            context = {}
        return cls(
            category=str(item.get("category") or "ERROR"),
            message=str(item.get("message") or ""),
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


def parse_upsert_answer(status: int, body: Any) -> UpsertAnswer:
    """The answer's readable results and errors, and what could not be read."""
    problems: list[str] = []
    if not isinstance(body, Mapping):
        problems.append(f"the {status} body is not a JSON object")
        body = {}
    results = [
        UpsertResult.from_api(item)
        for item in _entries(body, "results", problems)
        if _has_id(item, problems)
    ]
    errors = [BatchError.from_api(item) for item in _entries(body, "errors", problems)]
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

"""The batch-upsert answer, as plain values: what :meth:`reverse_etl.hubspot.HubSpot.batch_upsert`
returns and the push reads (HubSpot CRM API v3, ``POST /crm/v3/objects/{objectType}/batch/upsert``:
``results[]`` of ``SimplePublicUpsertObject``, and on a 207 ``errors[]`` of ``StandardError``)."""

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
        return cls(
            id=str(item.get("id")),
            new=bool(item.get("new")),
            properties=dict(item.get("properties") or {}),
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
        context = item.get("context") or {}
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


def _timestamp(value: Any) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None

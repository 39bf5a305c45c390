"""Quarantine: a record that cannot be parsed is set aside, named and retried, never blocking.

Any resource of any source uses the same table, ``<dataset>.quarantine`` (for Xero
``raw_xero.quarantine``), one row per record currently in quarantine:

    resource, tenant_id, record_key (PK together), record_id, record_name, field, error, fix,
    source_updated (the record's modification stamp as the API sent it), payload (JSON text),
    quarantined_at

How a resource uses it (see :func:`pipelines.xero.source.invoices_resource`)::

    gate = Quarantine("invoices", tenant_id, active_keys, now, id_field="InvoiceID",
                      name_field="InvoiceNumber", updated_field="UpdatedDateUTC")
    for payload in page:
        row = gate.parse(payload, lambda p: parse_invoice(p, tenant_id))   # None when set aside
        ...
    if gate.rows: yield dlt.mark.with_hints(gate.drain(), quarantine_hints())

The rows travel in the same dlt load package as the good records and the resource's cursor,
so either all of them are committed or none: the cursor never moves past a record that was
neither loaded nor quarantined. A quarantined record stays in the table until the source sends
it again and it parses: that row carries ``released = true``, which dlt's ``hard_delete``
column hint turns into a delete of the quarantine row in the same merge (dlt docs, "Merge
loading" → "Delete records": a column with the ``hard_delete`` hint deletes the matching
record). Incremental reads see a record again exactly when it changed at the source
(``If-Modified-Since`` for Xero), which is when a retry can succeed; re-reading an unchanged,
still-bad record (an overlapping window, ``--since``, ``--full-refresh``) just quarantines it
again under the same key.

What a record must satisfy beyond its types is the push path's contract
(:mod:`pipelines.xero.contract`), so a record the dbt tests would refuse is set aside here,
alone, instead of failing the build for everyone.

What the user sees: the extract summary names the records quarantined in this run; the sync
reports every record still in quarantine in its output, in ``sync_log.quarantine`` and (once
per version) in the alert, and exits 3, ``EXIT_REJECTED``
(:mod:`reverse_etl.push.quarantine_report`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping, Set
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

import dlt

from reverse_etl.core.errors import RecordParseError

T = TypeVar("T")

QUARANTINE_TABLE = "quarantine"
QUARANTINE_KEY = ["resource", "tenant_id", "record_key"]

_TEXT = {"data_type": "text"}
QUARANTINE_COLUMNS: dict[str, dict[str, Any]] = {
    "resource": {"data_type": "text", "nullable": False},
    "tenant_id": {"data_type": "text", "nullable": False},
    "record_key": {"data_type": "text", "nullable": False},
    "record_id": _TEXT,
    "record_name": _TEXT,
    "field": _TEXT,
    "error": _TEXT,
    "fix": _TEXT,
    "source_updated": _TEXT,
    "payload": _TEXT,
    "quarantined_at": {"data_type": "timestamp", "timezone": True},
    "released": {"data_type": "bool", "hard_delete": True},
}


def quarantine_hints() -> Any:
    """dlt hints that route rows to the quarantine table (merge on the key, hard deletes)."""
    return dlt.mark.make_hints(
        table_name=QUARANTINE_TABLE,
        write_disposition={"disposition": "merge", "strategy": "delete-insert"},
        primary_key=QUARANTINE_KEY,
        columns={name: {"name": name, **hints} for name, hints in QUARANTINE_COLUMNS.items()},
    )


def record_key(record_id: object, payload: object, name: object = None) -> str:
    """The record's id; without one, its name (e.g. the invoice number, so the corrected
    record releases it); without either, a stable hash of the payload."""
    if isinstance(record_id, str) and record_id:
        return record_id.lower()
    if isinstance(name, str) and name:
        return "name:" + name
    text = json.dumps(payload, default=str, sort_keys=True)
    return "payload:" + hashlib.sha256(text.encode()).hexdigest()[:32]


@dataclass
class Quarantine:
    """Parses one resource's records for one tenant, setting aside those that fail.

    ``active`` holds the keys already in quarantine (read before the run), so a record that now
    parses is released. ``rows`` collects what to write; ``named`` what to report.
    """

    resource: str
    tenant_id: str
    active: Set[str]
    now: Callable[[], datetime]
    id_field: str
    name_field: str | None = None
    updated_field: str | None = None
    rows: list[dict[str, Any]] = field(default_factory=list)
    named: list[str] = field(default_factory=list)
    quarantined: int = 0
    remembered: list[str] | None = None  # the keys in quarantine, kept in a dlt state

    @classmethod
    def in_state(
        cls,
        state: dict[str, Any],
        resource: str,
        tenant_id: str,
        now: Callable[[], datetime],
        **fields: Any,
    ) -> Quarantine:
        """A gate whose keys in quarantine live in the resource's dlt ``state``
        (``{"quarantined": {tenant: [key, ...]}}``), updated as records are set aside or
        released: dlt commits the state in the same load package as the quarantine rows, so
        the two agree without reading the warehouse (the finance resources)."""
        keys = state.setdefault("quarantined", {}).setdefault(tenant_id, [])
        return cls(resource, tenant_id, set(keys), now, remembered=keys, **fields)

    def parse(self, payload: Any, parser: Callable[[Any], T]) -> T | None:
        """``parser(payload)``, or ``None`` after quarantining the record it could not parse."""
        try:
            row = parser(payload)
        except RecordParseError as exc:
            self.set_aside(payload, exc)
            return None
        self.release(_get(payload, self.id_field), _get(payload, self.name_field))
        return row

    def set_aside(self, payload: Any, error: RecordParseError) -> None:
        record_id = _get(payload, self.id_field)
        name = _get(payload, self.name_field) if self.name_field else None
        self.rows.append(
            {
                "resource": self.resource,
                "tenant_id": self.tenant_id,
                "record_key": record_key(record_id, payload, name),
                "record_id": record_id if isinstance(record_id, str) else None,
                "record_name": name if isinstance(name, str) else None,
                "field": getattr(error, "field", None),
                "error": getattr(error, "detail", None) or str(error),
                "fix": getattr(error, "fix", None),
                "source_updated": _text(_get(payload, self.updated_field)),
                "payload": json.dumps(payload, default=str, sort_keys=True),
                "quarantined_at": self.now(),
                "released": False,
            }
        )
        self.quarantined += 1
        self.named.append(str(error))
        key = self.rows[-1]["record_key"]
        if self.remembered is not None and key not in self.remembered:
            self.remembered.append(key)

    def release(self, record_id: object, name: object = None) -> None:
        """The record parsed: drop its quarantine rows (by id, and by name for a copy that
        came without its id), if it had any."""
        if not self.active:
            return
        keys = {record_key(record_id, None)} if isinstance(record_id, str) and record_id else set()
        if isinstance(name, str) and name:
            keys.add(record_key(None, None, name))
        for key in sorted(keys & self.active):
            if self.remembered is not None and key in self.remembered:
                self.remembered.remove(key)
            self.rows.append(
                {
                    "resource": self.resource,
                    "tenant_id": self.tenant_id,
                    "record_key": key,
                    "released": True,
                }
            )

    def drain(self) -> list[dict[str, Any]]:
        rows, self.rows = self.rows, []
        return rows


def _get(payload: Any, name: str | None) -> Any:
    return payload.get(name) if name and isinstance(payload, Mapping) else None


def _text(value: Any) -> str | None:
    return None if value is None else str(value)
